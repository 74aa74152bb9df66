/**
 * Pipelined delivery (issue 12): a connector that takes several sends to a room at once gets
 * them in queue order, has up to its `pipeline` in flight, and a failure in the middle of a
 * window neither loses nor repeats anything: the sends behind it fail with it (the connector's
 * promise), the failed one is retried first, and the room shows every message once, in order.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Capabilities, Connector, ConnectorContext, Delivery } from '../../src/core/connector.js';
import { DeliveryError } from '../../src/core/errors.js';
import { plainText } from '../../src/core/message.js';
import { Relay } from '../../src/core/relay.js';
import { StaticRoutes } from '../../src/core/routes.js';
import { silentLogger } from '../../src/log.js';
import { openStore, type Store } from '../../src/store/store.js';
import { LoopbackConnector } from '../support/loopback.js';
import { waitFor } from '../support/wait.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-pipeline-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/**
 * A network whose sends to a room take effect in the order they started (as on one IRC
 * connection) and answer after a varying delay; one chosen message fails once, and so does every
 * send started while it was failing (the contract of `pipeline`).
 */
class WindowConnector implements Connector {
  readonly network = 'win';
  readonly capabilities: Capabilities = { formatting: false, images: 'link', replies: false, edits: false, kinds: ['message', 'notice'], rateLimit: { perSecond: 0, burst: 1 }, pipeline: 8 };
  readonly shown: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  refused = 0;
  private broken = false;
  private failed = false;
  private n = 0;
  constructor(private readonly failOn: string | undefined) {}
  async start(_ctx: ConnectorContext): Promise<void> {}
  async stop(): Promise<void> {}
  isConnected(): boolean {
    return true;
  }
  async send(d: Delivery): Promise<string[]> {
    const text = plainText(d.message.parts);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const fail = this.broken || (text === this.failOn && !this.failed);
      if (fail) {
        this.failed = true;
        this.broken = true;
      } else this.shown.push(text);
      await new Promise((r) => setTimeout(r, (this.n++ * 7) % 5));
      if (fail) this.refused++;
      if (fail) throw new DeliveryError('retryable', `refused ${text}`);
      return [`id-${text}`];
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) this.broken = false;
    }
  }
}

async function run(failOn: string | undefined, sub: string): Promise<{ store: Store; relay: Relay; win: WindowConnector; src: LoopbackConnector }> {
  const store = await openStore({ stateDir: path.join(dir, sub) }, silentLogger);
  const src = new LoopbackConnector('src');
  const win = new WindowConnector(failOn);
  const relay = new Relay({
    store,
    routes: new StaticRoutes([[{ network: 'src', room: 'a' }, { network: 'win', room: 'b' }]]),
    log: silentLogger,
    outbox: { baseBackoffMs: 5, maxBackoffMs: 10 },
    pruneIntervalMs: 0,
  });
  relay.register(src);
  relay.register(win);
  await relay.start();
  return { store, relay, win, src };
}

const N = 200;
const expected = Array.from({ length: N }, (_, i) => `m${i}`);

describe('pipelined delivery', () => {
  it('keeps queue order with several sends in flight, and records every one once', async () => {
    const { store, relay, win, src } = await run(undefined, 'ok');
    await Promise.all(expected.map((t, i) => src.inject('a', { id: `k${i}`, text: t })));
    await waitFor(() => win.shown.length === N, 'all shown');
    expect(win.shown).toEqual(expected);
    expect(win.maxInFlight).toBeGreaterThan(1);
    expect(win.maxInFlight).toBeLessThanOrEqual(8);
    await waitFor(async () => (await store.pendingDepths()).length === 0, 'queue drained');
    await relay.stop();
    await store.close();
  });

  it('a failure mid-window: the sends behind it fail with it, the failed one is retried first, nothing lost or repeated', async () => {
    const { store, relay, win, src } = await run('m57', 'fail');
    await Promise.all(expected.map((t, i) => src.inject('a', { id: `k${i}`, text: t })));
    await waitFor(() => win.shown.length === N, 'all shown', 10_000);
    expect(win.shown).toEqual(expected);
    // It did fail inside a window: sends started behind it were refused too.
    expect(win.refused).toBeGreaterThan(1);
    await waitFor(async () => (await store.pendingDepths()).length === 0, 'queue drained');
    await relay.stop();
    await store.close();
  });
});
