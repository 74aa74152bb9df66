/**
 * Messages per second through Relay → degrade → durable outbox (SQLite) → an unlimited loopback
 * connector, with per-message latency (receive called → connector.send returned) and RSS.
 *
 *   npx tsx bench/core-throughput.ts            # 100k messages, 4 origin rooms
 *   N=20000 ROOMS=1 npx tsx bench/core-throughput.ts
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Delivery } from '../src/core/connector.js';
import { Relay } from '../src/core/relay.js';
import { StaticRoutes } from '../src/core/routes.js';
import { silentLogger } from '../src/log.js';
import { openStore } from '../src/store/store.js';
import { LoopbackConnector } from '../test/support/loopback.js';

const N = Number(process.env.N ?? 100_000);
const ROOMS = Number(process.env.ROOMS ?? 4);

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

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-bench-'));
  const store = await openStore({ stateDir: dir }, silentLogger);
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

  // Each origin room hands messages over one at a time (as a connector does); rooms run in parallel.
  const perRoom = Math.ceil(N / ROOMS);
  await Promise.all(
    groups.map(async ([origin], r) => {
      for (let i = 0; i < perRoom && r * perRoom + i < N; i++) {
        const msg = src.message(origin!.room, {
          id: `${r}-${i}`,
          parts: [
            { type: 'text', text: `message ${i} `, style: { bold: i % 2 === 0 } },
            { type: 'image', url: `https://media.example/${i}.png` },
          ],
        });
        startedAt.set(msg.id, performance.now());
        await relay.receive('src', msg);
      }
    }),
  );
  const tQueued = performance.now();
  while (dst.doneAt.size < N) await new Promise((r) => setTimeout(r, 20));
  const tDone = performance.now();
  const rssAfter = process.memoryUsage().rss;

  const lat = [...startedAt].map(([id, t]) => dst.doneAt.get(id)! - t).sort((a, b) => a - b);
  const sizeOnDisk = fs
    .readdirSync(dir)
    .reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);

  const rows: Array<[string, string]> = [
    ['messages', String(N)],
    ['origin rooms', String(ROOMS)],
    ['store', `sqlite (WAL, synchronous=FULL) ${os.tmpdir()}`],
    ['queued/s (receive resolved)', ((N / (tQueued - t0)) * 1000).toFixed(0)],
    ['delivered/s (end to end)', ((N / (tDone - t0)) * 1000).toFixed(0)],
    ['latency p50', `${pct(lat, 50).toFixed(2)} ms`],
    ['latency p99', `${pct(lat, 99).toFixed(2)} ms`],
    ['latency max', `${lat[lat.length - 1]!.toFixed(2)} ms`],
    ['RSS before', mb(rssBefore)],
    ['RSS after', mb(rssAfter)],
    ['database size', mb(sizeOnDisk)],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  console.log(`| ${'metric'.padEnd(w)} | value |`);
  console.log(`|${'-'.repeat(w + 2)}|-------|`);
  for (const [k, v] of rows) console.log(`| ${k.padEnd(w)} | ${v} |`);

  await relay.stop();
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
