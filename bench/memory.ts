/**
 * Memory and start-up of the bridge process: node's own baseline, the bridge with 500 mapped
 * groups (500 QQ groups ↔ 500 IRC channels), and the core after 100k messages.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator } from '../src/simulator/index.js';
import { bridgeConfig, nextMessage, sleep, spawnChild, startChildBridge, worldWithGroups, type Ircd, type Memory } from './lib.js';

/** RSS of `node --expose-gc` with nothing loaded, for scale. */
export async function benchBaseline(): Promise<Memory> {
  return nextMessage<Memory>(spawnChild(['empty']), 30_000);
}

export interface ManyGroupsResult {
  groups: number;
  startMs: number;
  connectedMs: number;
  cpuMs: number;
  memory: Memory;
  /** The same bridge started again on its state (the WebQQ session relinked): to connected, and its CPU. */
  restart: { connectedMs: number; cpuMs: number };
}

export async function benchManyGroups(ircd: Ircd, groups = 500): Promise<ManyGroupsResult> {
  const sim = await startSimulator({ world: worldWithGroups(groups), pollHoldMs: 30_000 });
  const dir = mkdtempSync(join(tmpdir(), 'bench-many-'));
  try {
    const config = bridgeConfig({ dir, simUrl: sim.url, ircd, nick: 'bridgec', links: groups });
    const bridge = await startChildBridge(config);
    let first: Omit<ManyGroupsResult, 'restart'>;
    try {
      await sleep(1000);
      first = { groups, startMs: bridge.startMs, connectedMs: bridge.connectedMs, cpuMs: bridge.cpuMs, memory: await bridge.memory(true) };
    } finally {
      await bridge.stop();
    }
    const again = await startChildBridge(config);
    await again.stop();
    return { ...first, restart: { connectedMs: again.connectedMs, cpuMs: again.cpuMs } };
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface CoreSample extends Memory {
  after: number;
  gc: boolean;
  /** Where the RSS is (bytes): V8's committed heap, of which its young generation (new_space), … */
  heapTotal: number;
  new_space: number;
  old_space: number;
  /** … anonymous memory (V8 heap + malloc, which holds SQLite's page cache) vs. file-backed. */
  anon: number;
  rssFile: number;
  external: number;
  arrayBuffers: number;
  /** Sizes on disk of the database and its WAL files. */
  'db-main': number;
  'db-wal': number;
  'db-shm': number;
}

/**
 * The core after `messages` messages. V8 grows its young generation to 2 × 16 MB semi-spaces under
 * this message rate and keeps it after GC (new_space in the samples); `node --max-semi-space-size=1`
 * removes that part. Samples at `at` when given (e.g. [10_000, 50_000, 100_000, 200_000]).
 */
export async function benchCoreMemory(messages = 100_000, at?: readonly number[]): Promise<{ seconds: number; samples: CoreSample[] }> {
  const args = ['core', String(messages), ...(at ? [at.join(',')] : [])];
  return nextMessage(spawnChild(args), Math.max(170_000, messages * 2));
}
