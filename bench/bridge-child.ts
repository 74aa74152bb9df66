/**
 * The measured process, started by the benchmarks with `node --expose-gc --import tsx`:
 *
 *   bridge-child.ts bridge <config.yaml>   the real bridge; answers {type:'memory'} and {type:'stop'} over IPC
 *   bridge-child.ts core <messages>        Relay + SQLite outbox + two sink connectors, RSS as messages pass
 *
 * It holds nothing but what it measures, so its RSS is the bridge's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startBridge } from '../src/bridge.js';
import { loadConfig } from '../src/config.js';
import type { Delivery } from '../src/core/connector.js';
import { Relay } from '../src/core/relay.js';
import { StaticRoutes } from '../src/core/routes.js';
import { createLogger, silentLogger } from '../src/log.js';
import { openStore } from '../src/store/store.js';
import { LoopbackConnector } from '../test/support/loopback.js';

const send = (m: object) => process.send!(m);

function memory(gc: boolean) {
  if (gc) global.gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed };
}

async function bridge(file: string): Promise<void> {
  const config = loadConfig(file);
  const log = createLogger({ level: process.env.QQBRIDGE_LOG_LEVEL ?? 'error' });
  const t0 = performance.now();
  const running = await startBridge(config, log);
  const startMs = performance.now() - t0;
  while (!running.connectors.every((c) => c.isConnected())) await new Promise((r) => setTimeout(r, 5));
  send({ type: 'ready', startMs, connectedMs: performance.now() - t0 });
  process.on('message', (m: { type: string; gc?: boolean }) => {
    if (m.type === 'memory') send({ type: 'memory', ...memory(m.gc === true) });
    if (m.type === 'stop') void running.stop().finally(() => process.exit(0));
  });
}

/** Delivers and forgets: a target that keeps nothing, so any growth is the core's own. */
class Sink extends LoopbackConnector {
  delivered = 0;
  override async send(_d: Delivery): Promise<string[]> {
    return [String(++this.delivered)];
  }
}

async function core(total: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-core-'));
  const store = await openStore({ stateDir: dir }, silentLogger);
  const src = new Sink('src');
  const dst = new Sink('dst', { capabilities: { formatting: false, images: 'link', rateLimit: { perSecond: 0, burst: 1 } } });
  const relay = new Relay({ store, routes: new StaticRoutes([[{ network: 'src', room: 'g' }, { network: 'dst', room: '#c' }]]), log: silentLogger, pruneIntervalMs: 0 });
  relay.register(src);
  relay.register(dst);
  await relay.start();
  const samples: Array<{ after: number; rss: number; heapUsed: number }> = [{ after: 0, ...memory(true) }];
  const marks = new Set([total / 10, total / 2, total]);
  for (let i = 1; i <= total; i++) {
    const msg = src.message('g', { id: i, parts: [{ type: 'text', text: `message ${i} `, style: { bold: i % 2 === 0 } }, { type: 'face', id: 14 }] });
    await relay.receive('src', msg);
    if (marks.has(i)) {
      while (dst.delivered < i) await new Promise((r) => setTimeout(r, 5));
      samples.push({ after: i, ...memory(false) });
      samples.push({ after: i, ...memory(true) });
    }
  }
  await relay.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  send({ type: 'core', gcAvailable: typeof global.gc === 'function', samples });
  process.exit(0);
}

const [mode, arg] = process.argv.slice(2);
const run = mode === 'bridge' ? bridge(arg!) : mode === 'core' ? core(Number(arg ?? 100_000)) : Promise.reject(new Error(`unknown mode ${mode}`));
run.catch((e: Error) => {
  send({ type: 'error', message: e.stack ?? e.message });
  process.exit(1);
});
