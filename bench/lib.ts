/**
 * Shared pieces of the benchmarks: the simulator's control API, percentiles, an ngircd without a
 * channel limit, the bridge config they all use, and the bridge run in a child process so its
 * memory is measured apart from the harness.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startNgircd } from '../src/demo/ngircd.js';
import type { World } from '../src/simulator/index.js';
import { Pacer } from '../src/connectors/qq/account/scheduler.js';

export const ACCOUNT = { qq: 2769546520, password: '123456' };
export const MEMBERS = [2440652742, 2899268194];
export const REPO = fileURLToPath(new URL('..', import.meta.url));

export async function control<T = unknown>(controlUrl: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${controlUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`simulator control ${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

export interface Spread {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function spread(values: number[]): Spread {
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
  return { n: s.length, p50: at(50), p90: at(90), p99: at(99), max: s[s.length - 1] ?? NaN };
}

export const median = (values: number[]): number => spread(values).p50;
export const fmtMs = (ms: number, digits = 1): string => `${ms.toFixed(digits)} ms`;
export const fmtSpread = (s: Spread, digits = 1): string =>
  `${s.p50.toFixed(digits)} / ${s.p90.toFixed(digits)} / ${s.p99.toFixed(digits)} / ${s.max.toFixed(digits)} ms`;
export const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A world whose account is in `n` groups (numbers 100001…), each with two other members. */
export function worldWithGroups(n: number): World {
  return {
    accounts: [{ qq: ACCOUNT.qq, password: ACCOUNT.password, nick: 'qqbot' }],
    users: [
      { qq: MEMBERS[0]!, nick: '呼吸 (糗百)' },
      { qq: MEMBERS[1]!, nick: 'robot' },
    ],
    friends: {},
    groups: Array.from({ length: n }, (_, i) => ({
      number: 100001 + i,
      name: `bench group ${i}`,
      owner: ACCOUNT.qq,
      members: [{ qq: ACCOUNT.qq }, { qq: MEMBERS[0]! }, { qq: MEMBERS[1]! }],
    })),
    discussions: [],
  };
}

export const groupNumber = (i: number) => 100001 + i;
export const channelName = (i: number) => `#bench${i}`;

export interface Ircd {
  host: string;
  port: number;
  stop(): Promise<void>;
}

/** The demo's real ngircd (flood penalties off, no limit on joins). */
export async function startIrcd(): Promise<Ircd> {
  return startNgircd();
}

export interface BridgeConfigOptions {
  dir: string;
  simUrl: string;
  ircd: { host: string; port: number };
  nick: string;
  /** Number of links group i ↔ #bench<i>. */
  links: number;
  /** Omitted: the product default. */
  sendIntervalMs?: number;
  rateLimit?: { perSecond: number; burst: number };
}

/** The bridge config as a user would write it; only the tuned keys differ from the defaults. */
export function bridgeConfig(o: BridgeConfigOptions): string {
  const lines = [
    `stateDir: ${JSON.stringify(o.dir)}`,
    'log: { level: warn }',
    'qq:',
    `  uin: ${ACCOUNT.qq}`,
    `  password: ${JSON.stringify(ACCOUNT.password)}`,
    `  endpoint: ${JSON.stringify(o.simUrl)}`,
    `  stateDir: ${JSON.stringify(join(o.dir, 'qq'))}`,
    ...(o.sendIntervalMs !== undefined ? [`  sendIntervalMs: ${o.sendIntervalMs}`] : []),
    // Rows count QQ messages one per line: a backlog joined into one QQ message would hide them.
    '  pacing: { coalesceAfter: 0 }',
    'irc:',
    `  host: ${o.ircd.host}`,
    `  port: ${o.ircd.port}`,
    `  nick: ${o.nick}`,
    ...(o.rateLimit ? [`  rateLimit: { perSecond: ${o.rateLimit.perSecond}, burst: ${o.rateLimit.burst} }`] : []),
    'media:',
    '  port: 0',
    'mappings:',
  ];
  for (let i = 0; i < o.links; i++) lines.push(`  - { qq: { group: ${groupNumber(i)} }, irc: "${channelName(i)}" }`);
  return lines.join('\n') + '\n';
}

export interface Memory {
  rss: number;
  heapUsed: number;
}

export interface ChildBridge {
  /** startBridge() resolved, and every connector connected (IRC: every channel joined). */
  startMs: number;
  connectedMs: number;
  /** CPU time (user + system) the bridge process spent from startBridge() to connected. */
  cpuMs: number;
  memory(gc?: boolean): Promise<Memory>;
  stop(): Promise<void>;
}

type ChildMessage = { type: 'ready'; startMs: number; connectedMs: number; cpuMs: number } | ({ type: 'memory' } & Memory) | { type: 'error'; message: string };

/**
 * The product compiled by its own tsconfig into bench/.build (inside the repo, so the compiled
 * files find node_modules); the child runs it on plain node, with no TypeScript loader in its RSS.
 */
export const BUILD_DIR = join(REPO, 'bench/.build');

export function buildProduct(): void {
  rmSync(BUILD_DIR, { recursive: true, force: true });
  // Type errors elsewhere in the tree do not stop tsc from emitting; a missing bridge.js does.
  spawnSync(join(REPO, 'node_modules/.bin/tsc'), ['-p', join(REPO, 'tsconfig.json'), '--outDir', BUILD_DIR, '--sourceMap', 'false'], { stdio: 'ignore' });
  if (!existsSync(join(BUILD_DIR, 'bridge.js'))) throw new Error('tsc did not emit bench/.build/bridge.js');
}

export function removeBuild(): void {
  rmSync(BUILD_DIR, { recursive: true, force: true });
}

/** The node flags the `qqbridge` command runs with (its shebang line), so the child measures what users run. */
export function productNodeFlags(): string[] {
  const first = readFileSync(join(REPO, 'src/cli/main.ts'), 'utf8').split('\n')[0] ?? '';
  return (/^#!\/usr\/bin\/env (?:-S )?node(.*)$/.exec(first)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
}

/**
 * `node --expose-gc <product flags> bench/bridge-child.mjs bench/.build <mode> …` with an IPC channel.
 * BENCH_CPU_PROF=<dir> profiles the child (`node --cpu-prof`), for finding where a row's time goes;
 * BENCH_BUILD_DIR runs another build (bench/startup.ts compares a commit's build with this tree's).
 */
export function spawnChild(args: string[]): ChildProcess {
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  return spawn(process.execPath, ['--expose-gc', ...productNodeFlags(), ...prof, join(REPO, 'bench/bridge-child.mjs'), process.env.BENCH_BUILD_DIR ?? BUILD_DIR, ...args], {
    cwd: REPO,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

export function nextMessage<T>(child: ChildProcess, timeoutMs = 120_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => done(new Error(`bench child exited (code ${code}) before answering`));
    const t = setTimeout(() => done(new Error(`bench child did not answer within ${timeoutMs} ms`)), timeoutMs);
    const onMsg = (m: unknown) => {
      const msg = m as ChildMessage;
      if (msg.type === 'error') done(new Error(`bench child: ${msg.message}`));
      else done(undefined, m as T);
    };
    const done = (err?: Error, value?: T) => {
      clearTimeout(t);
      child.off('message', onMsg);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(value as T);
    };
    child.on('message', onMsg);
    child.once('exit', onExit);
  });
}

export async function startChildBridge(configText: string): Promise<ChildBridge> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-config-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, configText);
  const child = spawnChild(['bridge', file]);
  let ready: { startMs: number; connectedMs: number; cpuMs: number };
  try {
    ready = await nextMessage(child);
  } catch (e) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    ...ready,
    async memory(gc = false) {
      child.send({ type: 'memory', gc });
      return nextMessage<Memory>(child, 10_000);
    },
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      if (child.connected) child.send({ type: 'stop' });
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      if (child.exitCode === null && child.signalCode === null) await exited;
      clearTimeout(t);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What the account's pacing looked like at a simulator (each send's accept time), beside its bound. */
export interface PacingStats {
  /** Mean gap between sends once the burst is spent. */
  meanGapMs: number;
  minGapMs: number;
  /** Most sends in any 10 s window, and what the pacing promises at most. */
  maxIn10s: number;
  boundIn10s: number;
}

export function pacingStats(acceptedAt: readonly number[], pacing: { intervalMs: number; jitter: number; burst: number }): PacingStats {
  const times = [...acceptedAt].sort((a, b) => a - b);
  const gaps = times.slice(1).map((t, i) => t - times[i]!);
  const after = gaps.slice(pacing.burst - 1);
  let maxIn10s = 0;
  for (const t of times) maxIn10s = Math.max(maxIn10s, times.filter((x) => x >= t && x < t + 10_000).length);
  return {
    meanGapMs: after.length ? after.reduce((a, b) => a + b, 0) / after.length : 0,
    minGapMs: gaps.length ? Math.min(...gaps) : 0,
    maxIn10s,
    boundIn10s: Pacer.maxSendsIn(10_000, pacing),
  };
}
