/**
 * Messages per second through Relay → degrade → durable outbox (SQLite) → an unlimited loopback
 * connector, with per-message latency (receive called → connector.send returned) and RSS.
 *
 *   npx tsx bench/core-throughput.ts            # 100k messages, 4 origin rooms
 *   N=20000 ROOMS=1 npx tsx bench/core-throughput.ts
 *   STORE=postgres N=20000 npx tsx bench/core-throughput.ts   # a real PostgreSQL (initdb in a temp dir)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Delivery } from '../src/core/connector.js';
import { Relay } from '../src/core/relay.js';
import { StaticRoutes } from '../src/core/routes.js';
import { silentLogger } from '../src/log.js';
import { openStore, type EnqueueItem, type OutboxItem, type Store } from '../src/store/store.js';
import { LoopbackConnector } from '../test/support/loopback.js';

const N = Number(process.env.N ?? 100_000);
const ROOMS = Number(process.env.ROOMS ?? 4);
const PG = process.env.STORE === 'postgres';
let pgServer: import('../test/support/postgres.js').TestPostgres | undefined;

/**
 * Records when each message left the outbox. Unlike the test loopback it keeps no copy of what
 * it was sent, so RSS shows the bridge's memory rather than the fake network's.
 */
class TimedLoopback extends LoopbackConnector {
  readonly doneAt = new Map<string, number>();
  private n = 0;
  override async send(d: Delivery): Promise<string[]> {
    this.doneAt.set(d.message.id, performance.now());
    return [`r${++this.n}`];
  }
}

const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

type Mode = 'awaited' | 'burst';

/**
 * A store that keeps nothing durable: the relay's own cost without SQLite, to show the store's
 * share. Only what the relay and outbox call is implemented.
 */
class NoopStore {
  readonly dialect = 'sqlite' as const;
  readonly location = 'memory (no-op)';
  private seq = 0;
  private readonly pending = new Map<string, OutboxItem[]>();
  private readonly seen = new Set<string>();
  async enqueue(items: readonly EnqueueItem[], opts: { dedupe?: { network: string; key: string } } = {}) {
    const k = opts.dedupe ? `${opts.dedupe.network}\0${opts.dedupe.key}` : undefined;
    const firstSeen = k === undefined || !this.seen.has(k);
    if (k) this.seen.add(k);
    for (const it of items) {
      const t = `${it.network}\0${it.room}`;
      const list = this.pending.get(t) ?? [];
      list.push({ ...it, seq: ++this.seq, state: 'pending', attempts: 0, nextAttemptAt: 0, lastError: undefined, createdAt: Date.now(), sentIds: [] });
      this.pending.set(t, list);
    }
    return { inserted: items.length, firstSeen };
  }
  async nextPending(t: { network: string; room: string }, limit: number) {
    return (this.pending.get(`${t.network}\0${t.room}`) ?? []).slice(0, limit);
  }
  async markDelivered(seq: number, d: { network: string; room: string }) {
    const list = this.pending.get(`${d.network}\0${d.room}`) ?? [];
    const i = list.findIndex((x) => x.seq === seq);
    if (i >= 0) list.splice(i, 1);
  }
  async pendingTargets() {
    return [];
  }
  async pendingDepths() {
    return [];
  }
  async lookupRemote() {
    return undefined;
  }
  async remoteIds() {
    return [];
  }
  async getOrigin() {
    return undefined;
  }
  async kvSet() {}
  async close() {}
}

const IMAGE_TEXT = (i: number) => [
  { type: 'text' as const, text: `message ${i} `, style: { bold: i % 2 === 0 } },
  { type: 'image' as const, url: `https://media.example/${i}.png` },
];

/**
 * Relay → outbox → loopback. `awaited`: each origin room hands messages over one at a time,
 * waiting for each to be durable (a source that needs the ack before the next: the worst case
 * for group commit). `burst`: each room hands over windows of 100 without waiting in between, as
 * a poll answer, a getUpdates batch or a burst of IRC lines arrives.
 */
async function runRelay(store: Store, mode: Mode, n: number) {
  const src = new LoopbackConnector('src');
  // The target degrades (no formatting, images as links, no replies) and has no rate limit.
  const dst = new TimedLoopback('dst', {
    capabilities: { formatting: false, images: 'link', replies: false, edits: false, kinds: ['message', 'notice'], rateLimit: { perSecond: 0, burst: 1 } },
  });
  const groups = Array.from({ length: ROOMS }, (_, i) => [
    { network: 'src', room: `room${i}` },
    { network: 'dst', room: `#room${i}` },
  ]);
  const relay = new Relay({ store, routes: new StaticRoutes(groups), log: silentLogger, pruneIntervalMs: 0 });
  relay.register(src);
  relay.register(dst);
  await relay.start();
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const startedAt = new Map<string, number>();
  const t0 = performance.now();
  const perRoom = Math.ceil(n / ROOMS);
  await Promise.all(
    groups.map(async ([origin], r) => {
      let window: Array<Promise<unknown>> = [];
      for (let i = 0; i < perRoom && r * perRoom + i < n; i++) {
        const msg = src.message(origin!.room, { id: `${r}-${i}`, parts: IMAGE_TEXT(i) });
        startedAt.set(msg.id, performance.now());
        const p = relay.receive('src', msg);
        if (mode === 'awaited') await p;
        else {
          window.push(p);
          if (window.length === 100) {
            await Promise.all(window);
            window = [];
          }
        }
      }
      await Promise.all(window);
    }),
  );
  const tQueued = performance.now();
  while (dst.doneAt.size < n) await new Promise((r) => setTimeout(r, 5));
  const tDone = performance.now();
  const rssAfter = process.memoryUsage().rss;
  const lat = [...startedAt].map(([id, t]) => dst.doneAt.get(id)! - t).sort((a, b) => a - b);
  await relay.stop();
  return { queued: (n / (tQueued - t0)) * 1000, delivered: (n / (tDone - t0)) * 1000, lat, rssBefore, rssAfter };
}

/**
 * The ceiling: the statements the relay runs per message (the echo lookup of its id, enqueue with
 * its dedupe claim and origin row; the pending read; the delivered-mark with its id-map row), 100
 * messages a commit, with no relay around them.
 */
async function runCeiling(store: Store, n: number): Promise<number> {
  const t0 = performance.now();
  for (let b = 0; b < n; b += 100) {
    const size = Math.min(100, n - b);
    // The relay asks whether each arriving message is its own output (IdMap.isOwnOutput).
    await Promise.all(Array.from({ length: size }, (_, k) => store.lookupRemote({ network: 'src', room: 'room0' }, `c${b + k}`)));
    await Promise.all(
      Array.from({ length: size }, (_, k) => {
        const i = b + k;
        const id = `src:room0:c${i}`;
        return store.enqueue([{ network: 'dst', room: '#c', key: `${id}>dst:#c`, payload: { v: 2, message: { id, parts: IMAGE_TEXT(i) } } }], {
          dedupe: { network: 'src', key: id },
          origin: { sourceId: id, network: 'src', room: 'room0', remoteId: `c${i}`, summary: { nick: 'n', text: `message ${i}` } },
        });
      }),
    );
    const items = await store.nextPending({ network: 'dst', room: '#c' }, size);
    await Promise.all(items.map((it, k) => store.markDelivered(it.seq, { sourceId: `src:room0:c${b + k}`, network: 'dst', room: '#c', remoteIds: [`r${b + k}`] })));
  }
  return (n / (performance.now() - t0)) * 1000;
}

async function withSqlite<T>(fn: (s: Store) => Promise<T>): Promise<{ value: T; size: number }> {
  if (PG) {
    // A fresh database on the same server for each part, as a fresh SQLite file below.
    pgServer ??= await (await import('../test/support/postgres.js')).startPostgres();
    const store = await openStore({ stateDir: '', url: await pgServer.createDatabase() }, silentLogger);
    try {
      return { value: await fn(store), size: NaN };
    } finally {
      await store.close();
    }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-bench-'));
  const store = await openStore({ stateDir: dir }, silentLogger);
  try {
    const value = await fn(store);
    const size = fs.readdirSync(dir).reduce((a, f) => a + fs.statSync(path.join(dir, f)).size, 0);
    return { value, size };
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  // Same run, interleaved: ceiling, then the relay both ways, then the relay over no store.
  const ceiling = (await withSqlite((s) => runCeiling(s, N))).value;
  const awaited = await withSqlite((s) => runRelay(s, 'awaited', N));
  const burst = (await withSqlite((s) => runRelay(s, 'burst', N))).value;
  const noop = await runRelay(new NoopStore() as unknown as Store, 'burst', N);
  const a = awaited.value;
  const pctOf = (x: number) => `${x.toFixed(0)} (${((x / ceiling) * 100).toFixed(0)} % of the ceiling)`;

  const rows: Array<[string, string]> = [
    ['messages', String(N)],
    ['origin rooms', String(ROOMS)],
    ['store', PG ? 'postgresql (local, initdb defaults: fsync on, synchronous_commit on), one round trip per group' : `sqlite (WAL, synchronous=FULL) ${os.tmpdir()}`],
    ['queued/s (receive resolved)', a.queued.toFixed(0)],
    ['delivered/s (end to end)', a.delivered.toFixed(0)],
    ['latency p50', `${pct(a.lat, 50).toFixed(2)} ms`],
    ['latency p99', `${pct(a.lat, 99).toFixed(2)} ms`],
    ['latency max', `${a.lat[a.lat.length - 1]!.toFixed(2)} ms`],
    ['ceiling: same statements, 100 msgs a commit', `${ceiling.toFixed(0)}`],
    ['delivered/s awaited', pctOf(a.delivered)],
    ['delivered/s burst', pctOf(burst.delivered)],
    ['burst latency p50 / p99', `${pct(burst.lat, 50).toFixed(2)} / ${pct(burst.lat, 99).toFixed(2)} ms`],
    ['delivered/s burst, no-op store', `${noop.delivered.toFixed(0)} (store share of the burst time: ${((1 - burst.delivered / noop.delivered) * 100).toFixed(0)} %)`],
    ['RSS before', mb(a.rssBefore)],
    ['RSS after', mb(a.rssAfter)],
    ['database size', mb(awaited.size)],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  console.log(`| ${'metric'.padEnd(w)} | value |`);
  console.log(`|${'-'.repeat(w + 2)}|-------|`);
  for (const [k, v] of rows) console.log(`| ${k.padEnd(w)} | ${v} |`);
}

main()
  .then(() => pgServer?.stop())
  .catch(async (e) => {
    console.error(e);
    await pgServer?.stop().catch(() => undefined);
    process.exit(1);
  });
