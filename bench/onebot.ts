/**
 * OneBot figures: the bridge's QQ adapter with the OneBot backend over a real loopback WebSocket to
 * the OneBot simulator, a real relay and SQLite store, and an in-process sink network on the other
 * side (so the figures are the OneBot path's, not another network's). Run alone with
 * `npx tsx bench/onebot.ts`; `npm run bench` includes its rows.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QqConnector } from '../src/connectors/qq/connector.js';
import { qqConfigSchema } from '../src/connectors/qq/config.js';
import { OneBotSimulator } from '../src/connectors/qq/onebot/simulator/simulator.js';
import type { Capabilities, Connector, ConnectorContext, Delivery } from '../src/core/connector.js';
import { sourceId } from '../src/core/message.js';
import { Relay } from '../src/core/relay.js';
import { StaticRoutes } from '../src/core/routes.js';
import { silentLogger } from '../src/log.js';
import { openStore } from '../src/store/store.js';
import { resolvePacing } from '../src/connectors/qq/account/config.js';
import { pacingStats, sleep, spread, type PacingStats, type Spread } from './lib.js';

const GROUP = 346167134;
const MEMBER = 2440652742;

/** The other side of the link: records when each delivery arrived. */
class Sink implements Connector {
  readonly network = 'sink';
  readonly capabilities: Capabilities = { formatting: true, images: 'upload', replies: true, edits: true, kinds: ['message', 'action', 'notice', 'join', 'leave'], rateLimit: { perSecond: 0, burst: 1 } };
  ctx: ConnectorContext | undefined;
  readonly arrived = new Map<string, number>();
  private n = 0;
  async start(ctx: ConnectorContext) {
    this.ctx = ctx;
  }
  async stop() {}
  isConnected() {
    return true;
  }
  async send(d: Delivery): Promise<string[]> {
    const text = d.message.parts.map((p) => (p.type === 'text' ? p.text : '')).join('');
    this.arrived.set(text, performance.now());
    return [`s${++this.n}`];
  }
  async say(text: string): Promise<void> {
    await this.ctx!.receive({ id: sourceId('sink', '#s', `n${++this.n}`), origin: { network: 'sink', room: '#s', sender: { id: 'u', displayName: 'u' } }, kind: 'message', parts: [{ type: 'text', text }], time: Date.now() });
  }
}

export interface OneBotBench {
  qqToSink: Spread;
  sinkToQq: Spread;
  throughputPerSec: number;
  throughputN: number;
  idleRss: number;
  idleHeap: number;
}

export async function benchOneBot(n = 100, throughputN = 1000): Promise<OneBotBench> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-bench-onebot-'));
  const sim = new OneBotSimulator({ heartbeatIntervalMs: 30_000 });
  const url = await sim.listen(0);
  const store = await openStore({ stateDir: dir }, silentLogger);
  // Latency is the bridge's, not the account's deliberate pacing (benchOneBotPacing measures that).
  const qq = new QqConnector(qqConfigSchema.parse({ protocol: 'onebot', onebot: { mode: 'forward', url }, pacing: { intervalMs: 0 } }), {});
  const sink = new Sink();
  const relay = new Relay({ store, routes: new StaticRoutes([[{ network: 'qq', room: `group:${GROUP}` }, { network: 'sink', room: '#s' }]]), log: silentLogger });
  relay.register(qq);
  relay.register(sink);
  try {
    await relay.start();
    for (let i = 0; i < 200 && !qq.isConnected(); i++) await sleep(25);
    if (!qq.isConnected()) throw new Error('the bridge did not connect to the OneBot simulator');

    const waitArrived = async (text: string) => {
      for (let i = 0; i < 4000 && !sink.arrived.has(text); i++) await sleep(1);
      const t = sink.arrived.get(text);
      if (t === undefined) throw new Error(`"${text}" never arrived`);
      return t;
    };
    const toSink: number[] = [];
    for (let i = 0; i < n; i++) {
      const text = `lat ${i}`;
      const t0 = performance.now();
      sim.inject(GROUP, MEMBER, text);
      toSink.push((await waitArrived(text)) - t0);
    }

    const toQq: number[] = [];
    for (let i = 0; i < n; i++) {
      const before = sim.sends().length;
      const t0 = Date.now();
      await sink.say(`back ${i}`);
      for (let k = 0; k < 4000 && sim.sends().length === before; k++) await sleep(1);
      const s = sim.sends()[before];
      if (!s) throw new Error('a send never reached the simulator');
      toQq.push(s.at - t0);
      await sleep(210); // the QQ outbox bucket is 5/s: one at a time stays within it
    }

    const t0 = performance.now();
    for (let i = 0; i < throughputN; i++) sim.inject(GROUP, MEMBER, `tp ${i}`);
    await waitArrived(`tp ${throughputN - 1}`);
    const throughputPerSec = throughputN / ((performance.now() - t0) / 1000);

    await sleep(500);
    (globalThis as { gc?: () => void }).gc?.();
    const mem = process.memoryUsage();
    return { qqToSink: spread(toSink), sinkToQq: spread(toQq), throughputPerSec, throughputN, idleRss: mem.rss, idleHeap: mem.heapUsed };
  } finally {
    await relay.stop();
    await store.close();
    await sim.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The account's pacing as the OneBot simulator saw it (each send's accept time), beside the configured bound. */
export interface OneBotPacing extends PacingStats {
  n: number;
  pacing: { intervalMs: number; jitter: number; burst: number };
}

/** A burst of `n` lines toward QQ with the default qq.pacing (1000 ms ±30 %, burst 3). */
export async function benchOneBotPacing(n = 20): Promise<OneBotPacing> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-bench-onebot-pacing-'));
  const sim = new OneBotSimulator({ heartbeatIntervalMs: 30_000 });
  const url = await sim.listen(0);
  const store = await openStore({ stateDir: dir }, silentLogger);
  // The pacing alone: a backlog joined into fewer QQ messages (coalescing) is not what this row measures.
  const qq = new QqConnector(qqConfigSchema.parse({ protocol: 'onebot', onebot: { mode: 'forward', url }, pacing: { coalesceAfter: 0 } }), {});
  const sink = new Sink();
  const relay = new Relay({ store, routes: new StaticRoutes([[{ network: 'qq', room: `group:${GROUP}` }, { network: 'sink', room: '#s' }]]), log: silentLogger });
  relay.register(qq);
  relay.register(sink);
  try {
    await relay.start();
    for (let i = 0; i < 200 && !qq.isConnected(); i++) await sleep(25);
    if (!qq.isConnected()) throw new Error('the bridge did not connect to the OneBot simulator');
    for (let i = 0; i < n; i++) await sink.say(`pace ${i}`);
    const deadline = Date.now() + n * 2000 + 10_000;
    while (sim.sends().length < n) {
      if (Date.now() > deadline) throw new Error('the paced sends never all reached the simulator');
      await sleep(100);
    }
    const d = resolvePacing({}); // what the connector above used: the qq.pacing defaults
    const pacing = { intervalMs: d.intervalMs, jitter: d.jitter, burst: d.burst };
    return { n, pacing, ...pacingStats(sim.sends().map((x) => x.at), pacing) };
  } finally {
    await relay.stop();
    await store.close();
    await sim.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  benchOneBot().then((r) => {
    const f = (s: Spread) => `${s.p50.toFixed(1)} / ${s.p90.toFixed(1)} / ${s.p99.toFixed(1)} / ${s.max.toFixed(1)} ms`;
    process.stdout.write(`added latency QQ (OneBot) → sink, p50/p90/p99/max: ${f(r.qqToSink)}\n`);
    process.stdout.write(`added latency sink → QQ (OneBot), p50/p90/p99/max: ${f(r.sinkToQq)}\n`);
    process.stdout.write(`throughput QQ (OneBot) → sink: ${r.throughputPerSec.toFixed(0)} msgs/s (${r.throughputN} msgs)\n`);
    process.stdout.write(`RSS idle (bridge + simulator in one process): ${(r.idleRss / 1048576).toFixed(1)} MB, heap ${(r.idleHeap / 1048576).toFixed(1)} MB\n`);
  }, (e: unknown) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  });
}
