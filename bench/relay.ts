/**
 * The whole bridge, end to end on loopback: a QQ member speaks through the simulator's control
 * API and a human's raw IRC client on a real ngircd sees the line, and the other way round, with
 * the bridge in its own process. Lines carry a token (`[q17]`) so each one is matched exactly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startSimulator, type RunningSimulator, type SentRecord } from '../src/simulator/index.js';
import { TestIrcClient, type IrcLine } from '../test/support/ngircd.js';
import {
  bridgeConfig, channelName, control, groupNumber, MEMBERS, pacingStats, sleep, spread, startChildBridge, worldWithGroups,
  type ChildBridge, type Ircd, type Memory, type Spread,
} from './lib.js';

const CHANNEL = channelName(0);

interface Setup {
  sim: RunningSimulator;
  bridge: ChildBridge;
  human: TestIrcClient;
  close(): Promise<void>;
}

async function setup(ircd: Ircd, nick: string, tuning: { sendIntervalMs?: number; rateLimit?: { perSecond: number; burst: number } }, pollHoldMs: number, links = 1): Promise<Setup> {
  const sim = await startSimulator({ world: worldWithGroups(links), pollHoldMs });
  const dir = mkdtempSync(join(tmpdir(), 'bench-bridge-'));
  const human = await TestIrcClient.connect(ircd.host, ircd.port, `human${nick}`);
  for (let i = 0; i < links; i++) await human.join(channelName(i));
  let bridge: ChildBridge;
  try {
    bridge = await startChildBridge(bridgeConfig({ dir, simUrl: sim.url, ircd, nick, links, ...tuning }));
  } catch (e) {
    await human.close();
    await sim.close();
    throw e;
  }
  return {
    sim,
    bridge,
    human,
    async close() {
      await bridge.stop();
      await human.close();
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const says = (token: string) => (l: IrcLine) => l.command === 'PRIVMSG' && l.params[0]?.toLowerCase() === CHANNEL && (l.params[1] ?? '').includes(token);

/** Resolves with performance.now() at the moment the human's client reads the line. */
function seen(human: TestIrcClient, token: string, timeoutMs = 30_000): Promise<number> {
  let at = 0;
  const match = says(token);
  return human.waitFor((l) => (match(l) ? ((at ||= performance.now()), true) : false), timeoutMs).then(() => at);
}

function injectQq(sim: RunningSimulator, text: string): Promise<unknown> {
  return control(sim.controlUrl, 'POST', '/inject', { group: groupNumber(0), from: MEMBERS[0], text });
}

async function sentTo(sim: RunningSimulator): Promise<SentRecord[]> {
  return control<SentRecord[]>(sim.controlUrl, 'GET', '/sent');
}

async function waitSent(sim: RunningSimulator, token: string, timeoutMs = 30_000): Promise<SentRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = (await sentTo(sim)).find((s) => s.text.includes(token));
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`the simulator never received a send containing ${token}`);
    await sleep(2);
  }
}

async function polls(sim: RunningSimulator): Promise<number> {
  const st = await control<{ sessions: Array<{ polls: number }> }>(sim.controlUrl, 'GET', '/state');
  return st.sessions.reduce((s, x) => s + x.polls, 0);
}

export interface TunedResult {
  pollHoldMs: number;
  qqToIrc: Spread;
  qqToIrcGapMs: number;
  pollsPerMessage: number;
  ircToQq: Spread;
  ircToQqPeriodMs: number;
  throughputN: number;
  throughputPerSec: number;
  rateLimit: { perSecond: number; burst: number };
}

/** Added latency both ways and raw throughput, with the bridge's own limits out of the way. */
export async function benchTuned(ircd: Ircd, n = 200, nBack = 100, throughputN = 2000): Promise<TunedResult> {
  const pollHoldMs = 30_000;
  const rateLimit = { perSecond: 100_000, burst: 100_000 };
  const s = await setup(ircd, 'bridgeb', { sendIntervalMs: 0, rateLimit }, pollHoldMs);
  try {
    // Warm-up: the first lines pay for the JIT and the first store writes.
    for (let i = 0; i < 10; i++) {
      const arrived = seen(s.human, `[w${i}]`);
      await injectQq(s.sim, `warm-up [w${i}]`);
      await arrived;
    }

    // QQ → IRC: one message at a time, the next one `gap` ms after the previous was seen.
    const gap = 20;
    const lat: number[] = [];
    const polls0 = await polls(s.sim);
    for (let i = 0; i < n; i++) {
      const arrived = seen(s.human, `[q${i}]`);
      const t0 = performance.now();
      await injectQq(s.sim, `latency probe [q${i}] 你好`);
      lat.push((await arrived) - t0);
      await sleep(gap);
    }
    const pollsPerMessage = ((await polls(s.sim)) - polls0) / n;

    // IRC → QQ: one line every `period` ms, below the QQ outbox's fixed 5/s per-room bucket.
    const period = 210;
    const back: number[] = [];
    for (let i = 0; i < nBack; i++) {
      const next = Date.now() + period;
      const t0 = Date.now();
      s.human.say(CHANNEL, `latency probe [i${i}] hello`);
      back.push((await waitSent(s.sim, `[i${i}]`)).at - t0);
      await sleep(next - Date.now());
    }

    // Throughput QQ → IRC: inject as fast as the control API takes them (20 in flight).
    let got = 0;
    const all = s.human.waitFor((l) => says('[t')(l) && ++got >= throughputN, 120_000, s.human.lines.length);
    const t0 = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: 20 }, async () => {
      while (next < throughputN) await injectQq(s.sim, `throughput [t${next++}]`);
    }));
    await all;
    const throughputPerSec = (throughputN / (performance.now() - t0)) * 1000;

    return { pollHoldMs, qqToIrc: spread(lat), qqToIrcGapMs: gap, pollsPerMessage, ircToQq: spread(back), ircToQqPeriodMs: period, throughputN, throughputPerSec, rateLimit };
  } finally {
    await s.close();
  }
}

export interface IrcToQqRaisedResult {
  links: number;
  n: number;
  perSec: number;
}

/**
 * Throughput IRC → QQ with the limits raised (qq.sendIntervalMs 0). The QQ outbox's per-room
 * bucket (5/s burst 10) is fixed in code, so the lines rotate over `links` linked channels/groups.
 */
export async function benchIrcToQqRaised(ircd: Ircd, links = 100, n = 1000): Promise<IrcToQqRaisedResult> {
  const s = await setup(ircd, 'bridgec', { sendIntervalMs: 0 }, 30_000, links);
  try {
    for (let i = 0; i < links; i++) s.human.say(channelName(i), `warm-up [v${i}]`);
    for (let i = 0; i < links; i++) await waitSent(s.sim, `[v${i}]`);
    const t0 = Date.now();
    for (let k = 0; k < n; k++) s.human.say(channelName(k % links), `throughput [u${k}]`);
    const deadline = Date.now() + 120_000;
    for (;;) {
      const at = (await sentTo(s.sim)).filter((x) => /\[u\d+\]/.test(x.text)).map((x) => x.at);
      if (at.length >= n) return { links, n, perSec: (n / (Math.max(...at) - t0)) * 1000 };
      if (Date.now() > deadline) throw new Error(`only ${at.length} of ${n} IRC lines reached QQ within 120 s`);
      await sleep(50);
    }
  } finally {
    await s.close();
  }
}

export interface DefaultResult {
  idle: Memory;
  startMs: number;
  connectedMs: number;
  qqToIrcN: number;
  qqToIrcBurstMs: number;
  qqToIrcSteadyPerSec: number;
  ircToQqN: number;
  ircToQqPerMin: number;
  /** The account's pacing as the simulator saw it, beside the configured bound. */
  pacing: { meanGapMs: number; minGapMs: number; maxIn10s: number; boundIn10s: number };
}

/** The bridge with its default limits, as a user sees it: idle memory, then bursts both ways. */
export async function benchDefaults(ircd: Ircd, qqN = 15, ircN = 10): Promise<DefaultResult> {
  const s = await setup(ircd, 'bridgea', {}, 30_000);
  try {
    await sleep(1000);
    const idle = await s.bridge.memory(true);

    // Both directions at once (they share no limit): QQ → IRC, a burst of qqN messages that the
    // IRC bucket lets through `burst` at once, then perSecond; IRC → QQ, ircN lines that the
    // WebQQ sender spaces by qq.sendIntervalMs (1500).
    const arrivals: Promise<number>[] = [];
    for (let i = 0; i < qqN; i++) arrivals.push(seen(s.human, `[d${i}]`, 60_000));
    const t0 = performance.now();
    for (let i = 0; i < qqN; i++) await injectQq(s.sim, `burst [d${i}]`);
    for (let i = 0; i < ircN; i++) s.human.say(CHANNEL, `burst [e${i}]`);
    const at = (await Promise.all(arrivals)).sort((a, b) => a - b);
    const burst = 5; // irc.rateLimit.burst default
    const qqToIrcSteadyPerSec = ((qqN - burst) / (at[qqN - 1]! - at[burst - 1]!)) * 1000;

    await waitSent(s.sim, `[e${ircN - 1}]`, 60_000);
    const times = (await sentTo(s.sim)).filter((x) => /\[e\d+\]/.test(x.text)).map((x) => x.at).sort((a, b) => a - b);
    const ircToQqPerMin = ((times.length - 1) / (times[times.length - 1]! - times[0]!)) * 60_000;
    // Defaults: WebQQ's 1500 ms mean (qq.sendIntervalMs), ±30 %, burst 3.
    const defaults = { intervalMs: 1500, jitter: 0.3, burst: 3 };
    const pacing = pacingStats(times, defaults);

    return {
      idle, startMs: s.bridge.startMs, connectedMs: s.bridge.connectedMs,
      qqToIrcN: qqN, qqToIrcBurstMs: at[burst - 1]! - t0, qqToIrcSteadyPerSec, ircToQqN: ircN, ircToQqPerMin, pacing,
    };
  } finally {
    await s.close();
  }
}
