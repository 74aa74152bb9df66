/**
 * The measured process: plain `node --expose-gc bench/bridge-child.mjs <build dir> <mode> <arg>`,
 * on the product compiled by tsc (run.ts builds it), so no TypeScript loader sits in its memory.
 *
 *   bridge <config.yaml>   the real bridge; answers {type:'memory', gc} and {type:'stop'} over IPC
 *   core <messages> [at]   Relay + SQLite outbox + two sink connectors; RSS as the messages pass,
 *                          sampled at `at` (comma-separated counts; default a tenth, half, all)
 *   empty                  nothing loaded: the node baseline
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { getHeapSpaceStatistics } from 'node:v8';

const [build, mode, arg, arg2] = process.argv.slice(2);
const load = (p) => import(pathToFileURL(join(build, p)).href);
const send = (m) => process.send(m);

function memory(gc) {
  if (gc) global.gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, ...(mode === 'core' || process.env.BENCH_MEM_DETAIL ? detail(m) : {}) };
}

/**
 * In core mode (or with BENCH_MEM_DETAIL=1): where the RSS is. Anonymous memory is the V8 heap and
 * malloc (which holds SQLite's page cache); file-backed is code and mapped files (SQLite's -shm
 * wal-index, or the database itself if mmap_size were set).
 */
function detail(m) {
  const kb = (re, text) => Number(re.exec(text)?.[1] ?? NaN) * 1024;
  const roll = readFileSync('/proc/self/smaps_rollup', 'utf8');
  const d = {
    external: m.external, arrayBuffers: m.arrayBuffers, heapTotal: m.heapTotal,
    anon: kb(/^Anonymous:\s+(\d+)/m, roll), rssFile: kb(/^Rss:\s+(\d+)/m, roll) - kb(/^Anonymous:\s+(\d+)/m, roll),
  };
  // V8 sizes its young generation to the allocation rate: committed, not used, after a burst.
  for (const sp of getHeapSpaceStatistics()) if (/^(new|old)_space$/.test(sp.space_name)) d[sp.space_name] = sp.space_size;
  if (dbFile) for (const suffix of ['', '-wal', '-shm']) d[`db${suffix || '-main'}`] = existsSync(dbFile + suffix) ? statSync(dbFile + suffix).size : 0;
  return d;
}
let dbFile;

async function bridge(file) {
  const [{ startBridge }, { loadConfig }, { createLogger }] = await Promise.all([load('bridge.js'), load('config.js'), load('log.js')]);
  const config = loadConfig(file);
  const log = createLogger({ level: process.env.QQBRIDGE_LOG_LEVEL ?? 'error' });
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const running = await startBridge(config, log);
  const startMs = performance.now() - t0;
  while (!running.connectors.every((c) => c.isConnected())) await new Promise((r) => setTimeout(r, 5));
  const connectedMs = performance.now() - t0;
  // CPU the bridge spent getting there (user + system): steadier than wall time on a busy machine.
  const cpu = process.cpuUsage(cpu0);
  send({ type: 'ready', startMs, connectedMs, cpuMs: (cpu.user + cpu.system) / 1000 });
  process.on('message', (m) => {
    if (m.type === 'memory') send({ type: 'memory', ...memory(m.gc === true) });
    if (m.type === 'stop') void running.stop().finally(() => process.exit(0));
  });
}

/** A connector that delivers and forgets, so any growth is the core's own. */
class Sink {
  delivered = 0;
  constructor(network, capabilities) {
    this.network = network;
    this.capabilities = capabilities;
  }
  async start(ctx) { this.ctx = ctx; }
  async stop() {}
  isConnected() { return true; }
  async send() { return [String(++this.delivered)]; }
}

async function core(total, at) {
  const [{ Relay }, { StaticRoutes }, { openStore }, { silentLogger }] = await Promise.all([
    load('core/relay.js'), load('core/routes.js'), load('store/store.js'), load('log.js'),
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'bench-core-'));
  const store = await openStore({ stateDir: dir }, silentLogger);
  dbFile = store.location;
  const caps = { formatting: false, images: 'link', replies: false, edits: false, kinds: ['message', 'notice'], rateLimit: { perSecond: 0, burst: 1 } };
  const src = new Sink('src', { ...caps, formatting: true });
  const dst = new Sink('dst', caps);
  // Four origin rooms, each handing its messages over one at a time, as core-throughput.ts does.
  const ROOMS = 4;
  const routes = new StaticRoutes(Array.from({ length: ROOMS }, (_, r) => [{ network: 'src', room: `g${r}` }, { network: 'dst', room: `#c${r}` }]));
  const relay = new Relay({ store, routes, log: silentLogger, pruneIntervalMs: 0 });
  relay.register(src);
  relay.register(dst);
  await relay.start();
  const samples = [{ after: 0, gc: true, ...memory(true) }];
  const t0 = performance.now();
  let done = 0;
  // Sample points: `at` (comma-separated counts) when given, else a tenth, half and all.
  const marks = at ? at.split(',').map(Number) : [total / 10, total / 2, total];
  for (const mark of marks) {
    await Promise.all(Array.from({ length: ROOMS }, async (_, r) => {
      for (let i = done + 1 + r; i <= mark; i += ROOMS) {
        await relay.receive('src', {
          id: `src:g${r}:${i}`,
          origin: { network: 'src', room: `g${r}`, sender: { id: 'u1', displayName: 'alice' } },
          kind: 'message',
          parts: [{ type: 'text', text: `message ${i} `, style: { bold: i % 2 === 0 } }, { type: 'emoji', text: '🙂', name: '微笑', native: { network: 'qq', id: '14' } }],
          time: Date.now(),
        });
      }
    }));
    done = mark;
    while (dst.delivered < done) await new Promise((r) => setTimeout(r, 5));
    samples.push({ after: done, gc: false, ...memory(false) }, { after: done, gc: true, ...memory(true) });
  }
  const seconds = (performance.now() - t0) / 1000;
  await relay.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  send({ type: 'core', seconds, samples });
  process.exit(0);
}

const run = mode === 'bridge' ? bridge(arg)
  : mode === 'core' ? core(Number(arg ?? 100_000), arg2)
  : mode === 'empty' ? Promise.resolve(send({ type: 'memory', ...memory(true) })).then(() => process.exit(0))
  : Promise.reject(new Error(`unknown mode ${mode}`));
run.catch((e) => {
  send({ type: 'error', message: e.stack ?? e.message });
  process.exit(1);
});
