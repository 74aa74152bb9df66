/**
 * Milky rows: added latency both ways through the Milky simulator (in process, real HTTP and
 * WebSocket on loopback, SQLite store). QQ → network: from the control API's inject until the
 * other connector's send is called; network → QQ: from the relay taking a message until an
 * independent Milky event stream sees the account's message in the group.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Capabilities, Connector, ConnectorContext, Delivery } from '../src/core/connector.js';
import { Relay } from '../src/core/relay.js';
import { StaticRoutes } from '../src/core/routes.js';
import { silentLogger } from '../src/log.js';
import { openStore } from '../src/store/store.js';
import { QqConnector } from '../src/connectors/qq/connector.js';
import { qqConfigSchema } from '../src/connectors/qq/config.js';
import { MilkyEventStream } from '../src/connectors/qq/milky/events.js';
import { startMilkySimulator } from '../src/connectors/qq/milky/simulator/index.js';
import { resolvePacing } from '../src/connectors/qq/account/config.js';
import { pacingStats, sleep, spread, type PacingStats, type Spread } from './lib.js';

const GROUP = 346167134;

/** The other side: records when each delivery arrives. */
class Sink implements Connector {
  readonly network = 'irc';
  readonly capabilities: Capabilities = { formatting: false, images: 'link', replies: false, edits: false, kinds: ['message'], rateLimit: { perSecond: 0, burst: 1 } };
  ctx: ConnectorContext | undefined;
  readonly arrived = new Map<string, number>();
  async start(ctx: ConnectorContext) {
    this.ctx = ctx;
  }
  async stop() {}
  isConnected() {
    return true;
  }
  async send(d: Delivery): Promise<string[]> {
    const t = d.message.parts[0];
    if (t?.type === 'text') this.arrived.set(t.text, performance.now());
    return [String(this.arrived.size)];
  }
}

export interface MilkyBenchResult {
  toNet: Spread;
  fromNet: Spread;
  /** RSS and heap after GC with the bridge idle (bridge and simulator in one process). */
  idleRss: number;
  idleHeap: number;
}

/** The account's pacing as the Milky simulator saw it (each send's accept time), beside the configured bound. */
export interface MilkyPacingResult extends PacingStats {
  n: number;
  pacing: { intervalMs: number; jitter: number; burst: number };
}

export async function benchMilky(n = 50): Promise<MilkyBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'qqbridge-bench-milky-'));
  const sim = await startMilkySimulator({ accessToken: 'bench' });
  const store = await openStore({ stateDir: dir }, silentLogger);
  const relay = new Relay({ store, log: silentLogger, pruneIntervalMs: 0, routes: new StaticRoutes([[{ network: 'qq', room: `group:${GROUP}` }, { network: 'irc', room: '#b' }]]) });
  // Latency is the bridge's, not the account's deliberate pacing (measured on its own below).
  const qq = new QqConnector(qqConfigSchema.parse({ protocol: 'milky', milky: { url: sim.url, accessToken: 'bench' }, pacing: { intervalMs: 0 } }));
  const sink = new Sink();
  relay.register(qq);
  relay.register(sink);
  const seen = new Map<string, number>();
  const watcher = new MilkyEventStream({
    url: sim.url, accessToken: 'bench', transport: 'websocket',
    onEvent: (e) => {
      if (e.event_type === 'message_receive' && e.data.sender_id === 2769546520 && e.data.segments[0]?.type === 'text') seen.set(e.data.segments[0].data.text.replace(/^.*?(out-\d+)$/s, '$1'), performance.now());
    },
  });
  try {
    await relay.start();
    await watcher.start();
    while (!qq.isConnected() || watcher.currentState() !== "online") await sleep(10);
    const toNet: number[] = [];
    for (let i = 0; i < n; i++) {
      const text = `in-${i}`;
      const t0 = performance.now();
      await fetch(`${sim.controlUrl}/inject`, { method: 'POST', body: JSON.stringify({ group: GROUP, text }) });
      while (!sink.arrived.has(text)) await sleep(0.5);
      toNet.push(sink.arrived.get(text)! - t0);
    }
    const fromNet: number[] = [];
    for (let i = 0; i < n; i++) {
      const text = `out-${i}`;
      // Paced under the QQ side's token bucket (5/s): the figure is the bridge's latency, not the limit's.
      await sleep(210);
      const t0 = performance.now();
      await sink.ctx!.receive({ id: `irc:#b:human-${i}`, origin: { network: 'irc', room: '#b', sender: { id: 'u', displayName: 'u' } }, kind: 'message', parts: [{ type: 'text', text }], time: Date.now() });
      while (!seen.has(text)) await sleep(0.5);
      fromNet.push(seen.get(text)! - t0);
    }
    await sleep(1000);
    (globalThis as { gc?: () => void }).gc?.();
    const mem = process.memoryUsage();
    return { toNet: spread(toNet), fromNet: spread(fromNet), idleRss: mem.rss, idleHeap: mem.heapUsed };
  } finally {
    await watcher.stop();
    await relay.stop();
    await store.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A burst of `n` lines toward QQ with the default qq.pacing (1000 ms ±30 %, burst 3): when the
 * simulator accepted each send, the mean gap after the burst, the smallest gap, and the most sends
 * in any 10 s window beside the bound the pacing promises (docs/qq-account.md).
 */
export async function benchMilkyPacing(n = 20): Promise<MilkyPacingResult> {
  const dir = mkdtempSync(join(tmpdir(), 'qqbridge-bench-milky-pacing-'));
  const sim = await startMilkySimulator({ accessToken: 'bench' });
  const store = await openStore({ stateDir: dir }, silentLogger);
  const relay = new Relay({ store, log: silentLogger, pruneIntervalMs: 0, routes: new StaticRoutes([[{ network: 'qq', room: `group:${GROUP}` }, { network: 'irc', room: '#b' }]]) });
  // The pacing alone: a backlog joined into fewer QQ messages (coalescing) is not what this row measures.
  const config = qqConfigSchema.parse({ protocol: 'milky', milky: { url: sim.url, accessToken: 'bench' }, pacing: { coalesceAfter: 0 } });
  const qq = new QqConnector(config);
  const sink = new Sink();
  relay.register(qq);
  relay.register(sink);
  try {
    await relay.start();
    while (!qq.isConnected()) await sleep(10);
    for (let i = 0; i < n; i++) {
      await sink.ctx!.receive({ id: `irc:#b:pace-${i}`, origin: { network: 'irc', room: '#b', sender: { id: 'u', displayName: 'u' } }, kind: 'message', parts: [{ type: 'text', text: `pace ${i}` }], time: Date.now() });
    }
    const sent = async () => (await (await fetch(`${sim.controlUrl}/sent`)).json()) as Array<{ text: string; at: number }>;
    const deadline = Date.now() + n * 2000 + 10_000;
    while ((await sent()).length < n) {
      if (Date.now() > deadline) throw new Error('the paced sends never all reached the simulator');
      await sleep(100);
    }
    const p = resolvePacing(config as Parameters<typeof resolvePacing>[0]);
    const pacing = { intervalMs: p.intervalMs, jitter: p.jitter, burst: p.burst };
    return { n, pacing, ...pacingStats((await sent()).map((x) => x.at), pacing) };
  } finally {
    await relay.stop();
    await store.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('bench/milky.ts')) {
  benchMilky(Number(process.env.N ?? 100)).then(async (r) => console.log(JSON.stringify({ ...r, pacing: await benchMilkyPacing() })));
}
