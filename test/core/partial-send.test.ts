/**
 * A split message that failed part-way: the pieces already in the room are kept with the outbox
 * item, durably (issue 9 part 4), so the retry — after a restart too — sends only what is missing.
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
import { openStore } from '../../src/store/store.js';
import { LoopbackConnector } from '../support/loopback.js';
import { waitFor } from '../support/wait.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-partial-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The room's side: every piece that reached it, in order. */
const room: Array<{ id: string; text: string }> = [];

/** A network that shows at most 10 characters a message: longer ones go as several pieces. */
class PiecesConnector implements Connector {
  readonly network = 'pieces';
  readonly capabilities: Capabilities = { formatting: false, images: 'link', replies: false, edits: false, kinds: ['message', 'notice'], rateLimit: { perSecond: 0, burst: 1 } };
  constructor(private readonly failAtPiece: number | undefined) {}
  async start(_ctx: ConnectorContext): Promise<void> {}
  async stop(): Promise<void> {}
  isConnected(): boolean {
    return true;
  }
  async send(d: Delivery): Promise<string[]> {
    const text = plainText(d.message.parts);
    const pieces = text.match(/.{1,10}/g) ?? [];
    const ids = [...(d.alreadySent ?? [])];
    for (let i = ids.length; i < pieces.length; i++) {
      if (i === this.failAtPiece) throw new DeliveryError('retryable', `piece ${i + 1} refused`, { remoteIds: ids });
      const id = `p${room.length + 1}`;
      room.push({ id, text: pieces[i]! });
      ids.push(id);
    }
    return ids;
  }
}

async function run(failAtPiece: number | undefined) {
  const store = await openStore({ stateDir: dir }, silentLogger);
  const src = new LoopbackConnector('src');
  const relay = new Relay({
    store,
    routes: new StaticRoutes([[{ network: 'src', room: 'a' }, { network: 'pieces', room: 'b' }]]),
    log: silentLogger,
    // The retry would come long after the "crash".
    outbox: { baseBackoffMs: 3_600_000, maxBackoffMs: 3_600_000 },
    pruneIntervalMs: 0,
  });
  relay.register(src);
  relay.register(new PiecesConnector(failAtPiece));
  await relay.start();
  return { store, src, relay };
}

describe('a split message that failed part-way', () => {
  it('resumes after a restart with only the missing pieces, and the id map holds every piece', async () => {
    const a = await run(2);
    await a.src.inject('a', { id: 'm1', text: 'aaaaaaaaaabbbbbbbbbbcccccccccc' });
    await waitFor(async () => ((await a.store.nextPending({ network: 'pieces', room: 'b' }, 1))[0]?.attempts ?? 0) === 1, 'the failed attempt recorded');
    expect(room.map((p) => p.text)).toEqual(['aaaaaaaaaa', 'bbbbbbbbbb']);
    await a.relay.stop();
    await a.store.close();

    // The restart: the item is due at once (its backoff is over), the network takes everything now.
    const store = await openStore({ stateDir: dir }, silentLogger);
    const [item] = await store.nextPending({ network: 'pieces', room: 'b' }, 1);
    expect(item!.sentIds).toEqual(['p1', 'p2']);
    await store.markAttemptFailed(item!.seq, { error: 'due now', nextAttemptAt: 0, sentIds: item!.sentIds });
    await store.close();

    const b = await run(undefined);
    await waitFor(() => room.length === 3, 'the missing piece');
    await new Promise((r) => setTimeout(r, 100));
    expect(room.map((p) => p.text)).toEqual(['aaaaaaaaaa', 'bbbbbbbbbb', 'cccccccccc']);
    await waitFor(async () => (await b.store.remoteIds('src:a:m1', { network: 'pieces', room: 'b' })).length === 3, 'the id map');
    expect(await b.store.remoteIds('src:a:m1', { network: 'pieces', room: 'b' })).toEqual(['p1', 'p2', 'p3']);
    await b.relay.stop();
    await b.store.close();
  });
});
