/**
 * QQ ↔ Matrix and QQ ↔ Telegram, end to end on loopback: the WebQQ simulator on one side, the
 * test suite's fake homeserver (test/fakes/homeserver.ts) or fake Bot API (test/fakes/telegram.ts)
 * on the other, both real HTTP servers in this process; the bridge runs in its own process from
 * bench/.build, exactly as for IRC (bench/relay.ts).
 *
 * QQ → X: from just before the simulator's `POST /inject` to the moment the fake records the
 * bridge's send (the harness notes the time as the fake stores it: Telegram's `sendMessage`, the
 * homeserver's `PUT …/send/m.room.message`). X → QQ: from just before the fake hands the message
 * over (Telegram: the update is queued and the bridge's held `getUpdates` answered; Matrix: the
 * event is stored and pushed to the appservice as a transaction) to the simulator's record of the
 * WebQQ send (`GET /sent`, `at`). Lines carry a token (`[q17]`) so each one is matched exactly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildRegistration, writeRegistration } from '../src/connectors/matrix/registration.js';
import { freePort } from '../src/demo/ngircd.js';
import { startSimulator, type RunningSimulator, type SentRecord } from '../src/simulator/index.js';
import { FakeHomeserver } from '../test/fakes/homeserver.js';
import { FakeTelegram } from '../test/fakes/telegram.js';
import { ACCOUNT, control, groupNumber, MEMBERS, sleep, spread, startChildBridge, worldWithGroups, type ChildBridge, type Spread } from './lib.js';

export type Network = 'matrix' | 'telegram';

const TG_TOKEN = '424242:BenchTOKEN_value-abc';
const TG_USER = { id: 777001, first_name: 'Tess' };
const DOMAIN = 'bench.hs';
const ALICE = `@alice:${DOMAIN}`;
/** The limit raised as far as the config lets it. */
const RAISED = { perSecond: 100_000, burst: 100_000 };

const tgChat = (i: number) => -1001000000 - i;

/** Times at which tokens like `[q17]` reached a fake, with waiters for the ones still to come. */
class Arrivals {
  private readonly at = new Map<string, number>();
  private readonly waiters = new Map<string, (t: number) => void>();

  record(text: string, t = performance.now()): void {
    for (const m of text.matchAll(/\[([a-z]+\d+)\]/g)) {
      const token = m[1]!;
      if (this.at.has(token)) continue;
      this.at.set(token, t);
      this.waiters.get(token)?.(t);
      this.waiters.delete(token);
    }
  }

  wait(token: string, timeoutMs = 30_000): Promise<number> {
    const t = this.at.get(token);
    if (t !== undefined) return Promise.resolve(t);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(token);
        reject(new Error(`[${token}] never reached the fake within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(token, (v) => {
        clearTimeout(timer);
        resolve(v);
      });
    });
  }

  /** Arrival times of the tokens `prefix0…prefix(n-1)` seen so far. */
  times(prefix: string, n: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = this.at.get(`${prefix}${i}`);
      if (t !== undefined) out.push(t);
    }
    return out;
  }
}

/** Calls `cb` as each item is stored in `arr`: the fakes record a send by pushing it to an array. */
function onStore<T>(arr: T[], cb: (item: T) => void): void {
  const push = arr.push;
  arr.push = function (this: T[], ...items: T[]): number {
    for (const it of items) cb(it);
    return push.apply(this, items);
  };
}

interface World {
  network: Network;
  links: number;
  sim: RunningSimulator;
  bridge: ChildBridge;
  /** QQ → X arrivals at the fake. */
  arrivals: Arrivals;
  /** A human on X says `text` in the room of link `i`. */
  say(i: number, text: string): void;
  close(): Promise<void>;
}

interface Tuning {
  sendIntervalMs?: number;
  telegramRateLimit?: { perSecond: number; burst: number };
}

function qqYaml(dir: string, simUrl: string, t: Tuning): string[] {
  return [
    `stateDir: ${JSON.stringify(dir)}`,
    'log: { level: warn }',
    'qq:',
    `  uin: ${ACCOUNT.qq}`,
    `  password: ${JSON.stringify(ACCOUNT.password)}`,
    `  endpoint: ${JSON.stringify(simUrl)}`,
    `  stateDir: ${JSON.stringify(join(dir, 'qq'))}`,
    ...(t.sendIntervalMs !== undefined ? [`  sendIntervalMs: ${t.sendIntervalMs}`] : []),
    // Rows count QQ messages one per line: a backlog joined into one QQ message would hide them.
    '  pacing: { coalesceAfter: 0 }',
    'media:',
    '  port: 0',
  ];
}

/** Simulator + fake + the bridge (child process) linking QQ groups 0…links-1 to `links` rooms of X. */
async function setup(network: Network, links: number, t: Tuning): Promise<World> {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const close = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve().then(c).catch(() => undefined);
  };
  try {
    const dir = mkdtempSync(join(tmpdir(), `bench-${network}-`));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const sim = await startSimulator({ world: worldWithGroups(links), pollHoldMs: 30_000 });
    cleanups.push(() => sim.close());
    const arrivals = new Arrivals();
    const yaml = qqYaml(dir, sim.url, t);
    let say: (i: number, text: string) => void;
    let afterStart: () => Promise<void> = async () => {};

    if (network === 'telegram') {
      const tg = await new FakeTelegram({ token: TG_TOKEN }).start();
      cleanups.push(() => tg.stop());
      onStore(tg.sent, (m) => arrivals.record(m.text ?? m.caption ?? ''));
      yaml.push('telegram:', `  token: ${JSON.stringify(TG_TOKEN)}`, `  apiRoot: ${JSON.stringify(tg.apiRoot)}`);
      if (t.telegramRateLimit) yaml.push(`  rateLimit: { perSecond: ${t.telegramRateLimit.perSecond}, burst: ${t.telegramRateLimit.burst} }`);
      yaml.push('mappings:');
      for (let i = 0; i < links; i++) yaml.push(`  - { qq: { group: ${groupNumber(i)} }, telegram: ${tgChat(i)} }`);
      say = (i, text) => void tg.message(tgChat(i), TG_USER, { text });
    } else {
      const reg = buildRegistration({ id: 'qqbridge', url: '', domain: DOMAIN, userPrefix: 'qq_', senderLocalpart: 'qqbridge' });
      const regFile = join(dir, 'registration.yaml');
      writeRegistration(regFile, reg);
      const hs = new FakeHomeserver({
        domain: DOMAIN, asToken: reg.as_token, hsToken: reg.hs_token, senderLocalpart: 'qqbridge',
        userNamespace: reg.namespaces.users[0]!.regex, aliasNamespace: reg.namespaces.aliases[0]!.regex,
      });
      await hs.start();
      cleanups.push(() => hs.stop());
      // Rooms made by a human before the bridge runs; the appservice URL is set once it listens.
      const rooms = Array.from({ length: links }, (_, i) => hs.createRoomAs(ALICE, { name: `bench room ${i}` }));
      for (const r of rooms) onStore(hs.rooms.get(r)!.events, (ev) => {
        if (ev.type === 'm.room.message' && ev.sender !== ALICE) arrivals.record(String(ev.content.body ?? ''));
      });
      const port = await freePort();
      yaml.push('matrix:', `  homeserverUrl: ${JSON.stringify(hs.url)}`, `  domain: ${DOMAIN}`, `  registration: ${JSON.stringify(regFile)}`, `  port: ${port}`);
      yaml.push('mappings:');
      for (let i = 0; i < links; i++) yaml.push(`  - { qq: { group: ${groupNumber(i)} }, matrix: ${JSON.stringify(rooms[i])} }`);
      say = (i, text) => void hs.sendAs(ALICE, rooms[i]!, { msgtype: 'm.text', body: text });
      afterStart = async () => {
        // As someone bridging a room would: invite the bridge's bot, which joins on invitation.
        hs.setAppserviceUrl(`http://127.0.0.1:${port}`);
        for (const r of rooms) hs.inviteAs(ALICE, r, hs.botUserId);
        const deadline = Date.now() + 30_000;
        while (!rooms.every((r) => hs.membership(r, hs.botUserId) === 'join')) {
          if (Date.now() > deadline) throw new Error('the bridge bot did not join the Matrix rooms within 30 s');
          await sleep(10);
        }
      };
    }

    const bridge = await startChildBridge(yaml.join('\n') + '\n');
    cleanups.push(() => bridge.stop());
    await afterStart();
    return { network, links, sim, bridge, arrivals, say, close };
  } catch (e) {
    await close();
    throw e;
  }
}

function injectQq(sim: RunningSimulator, link: number, text: string): Promise<unknown> {
  return control(sim.controlUrl, 'POST', '/inject', { group: groupNumber(link), from: MEMBERS[0], text });
}

const sentTo = (sim: RunningSimulator) => control<SentRecord[]>(sim.controlUrl, 'GET', '/sent');

/** The simulator's record of the first send containing `[token]`. */
async function waitSent(sim: RunningSimulator, token: string, timeoutMs = 30_000): Promise<SentRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = (await sentTo(sim)).find((s) => s.text.includes(`[${token}]`));
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`the simulator never received a send containing [${token}]`);
    await sleep(2);
  }
}

/** Send times (`at`) of tokens `prefix0…prefix(n-1)` once all n reached the simulator. */
async function waitAllSent(sim: RunningSimulator, prefix: string, n: number, timeoutMs: number): Promise<number[]> {
  const re = new RegExp(`\\[${prefix}(\\d+)\\]`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const at = new Map<number, number>();
    for (const s of await sentTo(sim)) {
      const m = re.exec(s.text);
      if (m && Number(m[1]) < n && !at.has(Number(m[1]))) at.set(Number(m[1]), s.at);
    }
    if (at.size >= n) return [...at.values()].sort((a, b) => a - b);
    if (Date.now() > deadline) throw new Error(`only ${at.size} of ${n} [${prefix}…] messages reached QQ within ${timeoutMs} ms`);
    await sleep(50);
  }
}

export interface TunedNetworkResult {
  network: Network;
  links: number;
  toX: Spread;
  toXGapMs: number;
  fromX: Spread;
  fromXGapMs: number;
  toXThroughputN: number;
  toXPerSec: number;
  fromXThroughputN: number;
  fromXPerSec: number;
  fromXSeconds: number;
}

/**
 * Added latency and raw throughput both ways with the limits raised: qq.sendIntervalMs 0,
 * telegram.rateLimit raised. The per-room buckets fixed in code (QQ 5/s burst 10, Matrix 10/s
 * burst 20) stay, so the messages rotate over `links` linked rooms and no one room meets its bucket.
 */
export async function benchNetworkTuned(network: Network, links = 100, n = 200, throughputN = 1000): Promise<TunedNetworkResult> {
  const w = await setup(network, links, { sendIntervalMs: 0, telegramRateLimit: RAISED });
  try {
    // Warm-up, one message each way per room: Matrix ghosts register and join here; JIT, store.
    await Promise.all(Array.from({ length: links }, async (_, i) => {
      const arrived = w.arrivals.wait(`w${i}`);
      await injectQq(w.sim, i, `warm-up [w${i}]`);
      await arrived;
    }));
    for (let i = 0; i < links; i++) w.say(i, `warm-up [v${i}]`);
    await waitAllSent(w.sim, 'v', links, 30_000);

    // QQ → X: one at a time, the next `gap` ms after the last arrived, rotating over the rooms.
    const gap = 20;
    const toX: number[] = [];
    for (let i = 0; i < n; i++) {
      const arrived = w.arrivals.wait(`q${i}`);
      const t0 = performance.now();
      await injectQq(w.sim, i % links, `latency probe [q${i}] 你好`);
      toX.push((await arrived) - t0);
      await sleep(gap);
    }

    // X → QQ: one at a time likewise.
    const fromX: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = Date.now();
      w.say(i % links, `latency probe [i${i}] hello`);
      fromX.push((await waitSent(w.sim, `i${i}`)).at - t0);
      await sleep(gap);
    }

    // Throughput QQ → X: injected 20 requests in flight, rotating over the rooms.
    let next = 0;
    const t1 = performance.now();
    await Promise.all(Array.from({ length: 20 }, async () => {
      while (next < throughputN) {
        const k = next++;
        await injectQq(w.sim, k % links, `throughput [t${k}]`);
      }
    }));
    await Promise.all(Array.from({ length: throughputN }, (_, k) => w.arrivals.wait(`t${k}`, 120_000)));
    const toXPerSec = (throughputN / (Math.max(...w.arrivals.times('t', throughputN)) - t1)) * 1000;

    // Throughput X → QQ: every message handed to the fake at once, rotating over the rooms.
    const t2 = Date.now();
    for (let k = 0; k < throughputN; k++) w.say(k % links, `throughput [u${k}]`);
    const at = await waitAllSent(w.sim, 'u', throughputN, 120_000);
    const fromXSeconds = (at[at.length - 1]! - t2) / 1000;

    return {
      network, links, toX: spread(toX), toXGapMs: gap, fromX: spread(fromX), fromXGapMs: gap,
      toXThroughputN: throughputN, toXPerSec, fromXThroughputN: throughputN, fromXPerSec: throughputN / fromXSeconds, fromXSeconds,
    };
  } finally {
    await w.close();
  }
}

export interface DefaultNetworkResult {
  network: Network;
  toXN: number;
  /** Index of the first arrival the steady rate counts from. */
  toXSteadyFrom: number;
  toXBurst: number;
  toXBurstMs: number;
  toXSteadyPerMin: number;
  fromXN: number;
  fromXPerMin: number;
}

/** The product's default limits, as a user sees them: one link, bursts both ways at once. */
export async function benchNetworkDefaults(network: Network): Promise<DefaultNetworkResult> {
  const w = await setup(network, 1, {});
  try {
    // Telegram: rateLimit 0.33/s burst 5 per chat; Matrix: 10/s burst 20 per room (fixed).
    const burst = network === 'telegram' ? 5 : 20;
    const toXN = network === 'telegram' ? burst + 5 : burst + 40;
    const fromXN = 10;
    // One message each way first (a Matrix ghost registers and joins on its first message), then
    // enough quiet for every bucket and the WebQQ send spacing to be full again.
    const warm = w.arrivals.wait('w0');
    await injectQq(w.sim, 0, 'warm-up [w0]');
    await warm;
    w.say(0, 'warm-up [v0]');
    await waitSent(w.sim, 'v0');
    await sleep(3_500);
    const arrivals = Array.from({ length: toXN }, (_, i) => w.arrivals.wait(`d${i}`, 60_000));
    const t0 = performance.now();
    for (let i = 0; i < toXN; i++) await injectQq(w.sim, 0, `burst [d${i}]`);
    for (let i = 0; i < fromXN; i++) w.say(0, `burst [e${i}]`);
    const at = (await Promise.all(arrivals)).sort((a, b) => a - b);
    // The bucket refills while the burst goes out: the steady rate is taken over the second half
    // of what followed the burst.
    const from = burst + Math.floor((toXN - burst) / 2);
    const toXSteadyPerMin = ((toXN - 1 - from) / (at[toXN - 1]! - at[from]!)) * 60_000;
    const times = await waitAllSent(w.sim, 'e', fromXN, 60_000);
    const fromXPerMin = ((times.length - 1) / (times[times.length - 1]! - times[0]!)) * 60_000;
    return { network, toXN, toXSteadyFrom: from, toXBurst: burst, toXBurstMs: at[burst - 1]! - t0, toXSteadyPerMin, fromXN, fromXPerMin };
  } finally {
    await w.close();
  }
}
