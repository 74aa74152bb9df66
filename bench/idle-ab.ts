/**
 * The "RSS idle, QQ + IRC, 1 mapped group" row alone, for comparing builds or node flags: each
 * arm in turn, `rounds` times (interleaved, so a change in the machine's load hits every arm),
 * then each arm's runs, median and minimum. Same config, ngircd and measurement as idle.ts.
 *
 *   npx tsx bench/idle-ab.ts [rounds]                 the worktree, built into bench/.build
 *   IDLE_ARMS="old=bench/.old new=bench/.build|--no-opt" npx tsx bench/idle-ab.ts 6
 *       arms are label=<compiled build dir>[|node flag,node flag,…]; a build dir is made with
 *       `npx tsc -p tsconfig.json --outDir bench/.old --sourceMap false` (inside the repo, so the
 *       compiled files find node_modules). IDLE_DETAIL=1 prints each run's memory breakdown;
 *       IDLE_WAIT_MS idles that long before the measurement instead of idle.ts's 1 s.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { startSimulator } from '../src/simulator/index.js';
import { BUILD_DIR, REPO, bridgeConfig, buildProduct, mb, median, nextMessage, productNodeFlags, sleep, startIrcd, worldWithGroups } from './lib.js';

const rounds = Number(process.argv[2] ?? 3);
const arms = (process.env.IDLE_ARMS ?? `worktree=${BUILD_DIR}`).split(/\s+/).filter(Boolean).map((spec) => {
  const [label, rest] = [spec.slice(0, spec.indexOf('=')), spec.slice(spec.indexOf('=') + 1)];
  const [dir = '', flags = ''] = rest.split('|');
  return { label, dir: isAbsolute(dir) ? dir : join(REPO, dir), flags: flags.split(',').filter(Boolean) };
});
if (!process.env.IDLE_ARMS) buildProduct();

async function idleOnce(arm: (typeof arms)[number], nick: string, ircd: { host: string; port: number }): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-idle-ab-'));
  const sim = await startSimulator({ world: worldWithGroups(1), pollHoldMs: 30_000 });
  try {
    const file = join(dir, 'config.yaml');
    writeFileSync(file, bridgeConfig({ dir, simUrl: sim.url, ircd, nick, links: 1 }));
    const child = spawn(process.execPath, ['--expose-gc', ...productNodeFlags(), ...arm.flags, join(REPO, 'bench/bridge-child.mjs'), arm.dir, 'bridge', file], {
      cwd: REPO,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, ...(process.env.IDLE_DETAIL ? { BENCH_MEM_DETAIL: '1' } : {}) },
    });
    const exited = new Promise((r) => child.once('exit', r));
    try {
      await nextMessage(child);
      await sleep(Number(process.env.IDLE_WAIT_MS ?? 1000));
      child.send({ type: 'memory', gc: true });
      return await nextMessage<Record<string, number>>(child, 10_000);
    } finally {
      if (child.connected) child.send({ type: 'stop' });
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const ircd = await startIrcd();
const rss = new Map<string, number[]>(arms.map((a) => [a.label, []]));
try {
  for (let r = 0; r < rounds; r++) {
    for (const [i, arm] of arms.entries()) {
      const m = await idleOnce(arm, `idleab${r}x${i}`, ircd);
      rss.get(arm.label)!.push(m.rss!);
      if (process.env.IDLE_DETAIL) {
        console.log(`${arm.label} #${r}: ${Object.entries(m).filter(([k]) => k !== 'type').map(([k, v]) => `${k} ${mb(v)}`).join(', ')}`);
      }
    }
  }
  for (const [label, list] of rss) {
    console.log(`${label}: RSS ${list.map((b) => (b / 1048576).toFixed(1)).join(' ')} MB; median ${mb(median(list))}, min ${mb(Math.min(...list))}`);
  }
} finally {
  await ircd.stop();
  if (!process.env.IDLE_ARMS) rmSync(BUILD_DIR, { recursive: true, force: true });
}
