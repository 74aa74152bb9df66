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
  memory: Memory;
}

export async function benchManyGroups(ircd: Ircd, groups = 500): Promise<ManyGroupsResult> {
  const sim = await startSimulator({ world: worldWithGroups(groups), pollHoldMs: 30_000 });
  const dir = mkdtempSync(join(tmpdir(), 'bench-many-'));
  try {
    const bridge = await startChildBridge(bridgeConfig({ dir, simUrl: sim.url, ircd, nick: 'bridgec', links: groups }));
    try {
      await sleep(1000);
      return { groups, startMs: bridge.startMs, connectedMs: bridge.connectedMs, memory: await bridge.memory(true) };
    } finally {
      await bridge.stop();
    }
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface CoreSample extends Memory {
  after: number;
  gc: boolean;
}

export async function benchCoreMemory(messages = 100_000): Promise<{ seconds: number; samples: CoreSample[] }> {
  return nextMessage(spawnChild(['core', String(messages)]), 170_000);
}
