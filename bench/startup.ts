/**
 * `npx tsx bench/startup.ts [runs] [commit]`: only the "500 groups" rows of `npm run bench`,
 * several times, with the load average beside each run (start-up is sensitive to what else the
 * machine does). With a commit, its build and this tree's run in turns, under the same load.
 * BENCH_CPU_PROF=<dir> profiles the child bridge; BENCH_GROUPS=<n> changes the group count.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { buildProduct, fmtMs, mb, median, REPO, removeBuild, startIrcd } from './lib.js';
import { benchManyGroups } from './memory.js';

const runs = Number(process.argv[2] ?? 3);
const commit = process.argv[3];
const groups = Number(process.env.BENCH_GROUPS ?? 500);

/** The commit's src compiled into bench/.build-<commit> (inside the repo, so node_modules resolves). */
function buildCommit(rev: string): string {
  const src = join(REPO, `bench/.src-${rev}`);
  const out = join(REPO, `bench/.build-${rev}`);
  rmSync(src, { recursive: true, force: true });
  mkdirSync(src, { recursive: true });
  spawnSync('sh', ['-c', `git -C "${REPO}" archive "${rev}" src tsconfig.json | tar -x -C "${src}"`], { stdio: 'inherit' });
  spawnSync(join(REPO, 'node_modules/.bin/tsc'), ['-p', join(src, 'tsconfig.json'), '--outDir', out, '--sourceMap', 'false'], { stdio: 'ignore' });
  rmSync(src, { recursive: true, force: true });
  return out;
}

buildProduct();
const other = commit ? buildCommit(commit) : undefined;
const ircd = await startIrcd();
const seen = new Map<string, { wall: number[]; cpu: number[] }>();
try {
  for (let i = 0; i < runs; i++) {
    for (const build of other ? [other, undefined] : [undefined]) {
      if (build) process.env.BENCH_BUILD_DIR = build;
      else delete process.env.BENCH_BUILD_DIR;
      const name = build ? commit! : 'this tree';
      const load = loadavg()[0]!.toFixed(2);
      const r = await benchManyGroups(ircd, groups);
      console.log(`${name}: start-up, ${r.groups} mapped groups: ${fmtMs(r.connectedMs, 0)} (CPU ${fmtMs(r.cpuMs, 0)}; startBridge() ${fmtMs(r.startMs, 0)}; RSS ${mb(r.memory.rss)}, heap ${mb(r.memory.heapUsed)}; load ${load}); restart ${fmtMs(r.restart.connectedMs, 0)} (CPU ${fmtMs(r.restart.cpuMs, 0)})`);
      const v = seen.get(name) ?? { wall: [], cpu: [] };
      v.wall.push(r.connectedMs);
      v.cpu.push(r.cpuMs);
      seen.set(name, v);
    }
  }
  for (const [name, v] of seen) {
    console.log(`${name}: median ${fmtMs(median(v.wall), 0)} (min ${fmtMs(Math.min(...v.wall), 0)}), CPU median ${fmtMs(median(v.cpu), 0)}, ${v.wall.length} runs`);
  }
} finally {
  await ircd.stop();
  removeBuild();
  if (other) rmSync(other, { recursive: true, force: true });
}
