/**
 * The two burst rows of issue 12: IRC → Telegram and Telegram → IRC, 1,000 messages each, limits
 * raised (IRC and Telegram rate limits as high as the config takes; ngircd runs without flood
 * penalties). The bridge runs in its own process (bench/.build) with QQ, IRC and Telegram linked in
 * one room; a human IRC client on the real ngircd and the fake Bot API are the two ends. Each
 * line carries a token, so lost, duplicated and out-of-order lines are counted exactly.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator } from '../src/simulator/index.js';
import { FakeTelegram } from '../test/fakes/telegram.js';
import { TestIrcClient } from '../test/support/ngircd.js';
import { bridgeConfig, channelName, sleep, startChildBridge, worldWithGroups, type ChildBridge, type Ircd } from './lib.js';

const TG_TOKEN = '424242:BenchTOKEN_value-abc';
const TG_USER = { id: 777001, first_name: 'Tess' };
const CHAT = -1001000000;
const CHANNEL = channelName(0);
const RAISED = { perSecond: 100_000, burst: 100_000 };
/** The Telegram connector's default `capabilities.pipeline`. */
const TG_PIPELINE = 16;

export interface BurstResult {
  n: number;
  perSec: number;
  /** The same n through the target's last hop alone, without the bridge, in the same run (msgs/s). */
  ceiling: number;
  ceilingWhat: string;
  /** A second ceiling, when the target's last hop has another way to keep order (Telegram: pipelined). */
  ceiling2?: number;
  ceiling2What?: string;
  lost: number;
  duplicated: number;
  /** Tokens that arrived before one with a smaller number. */
  outOfOrder: number;
}

function score(tokens: number[], n: number, t0: number, tEnd: number): BurstResult {
  const seen = new Set<number>();
  let duplicated = 0;
  let outOfOrder = 0;
  let max = -1;
  for (const k of tokens) {
    if (seen.has(k)) duplicated++;
    seen.add(k);
    if (k < max) outOfOrder++;
    max = Math.max(max, k);
  }
  return { n, perSec: (n / (tEnd - t0)) * 1000, ceiling: NaN, ceilingWhat: '', lost: n - seen.size, duplicated, outOfOrder };
}

/**
 * The Telegram side's ceiling for ordered delivery: sendMessage to the fake one at a time (the
 * next after the last answer), from another process over a keep-alive connection, as the bridge
 * must to keep a chat's order.
 */
async function tgSerialCeiling(apiRoot: string, n: number): Promise<number> {
  const script = `
    const http = require('node:http');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const url = new URL(process.argv[1]);
    const post = (i) => new Promise((resolve, reject) => {
      const body = JSON.stringify({ chat_id: ${CHAT}, text: 'ceiling ' + i, parse_mode: 'HTML' });
      const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => { res.resume(); res.on('end', resolve); });
      req.on('error', reject); req.end(body);
    });
    (async () => { for (let i = 0; i < 50; i++) await post(i); const t0 = performance.now();
      for (let i = 0; i < ${n}; i++) await post(i);
      process.stdout.write(String(${n} / ((performance.now() - t0) / 1000))); agent.destroy(); })();`;
  const child = spawn(process.execPath, ['-e', script, `${apiRoot}/bot${TG_TOKEN}/sendMessage`], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => child.on('exit', r));
  return Number(out);
}

/**
 * The Telegram side's ceiling with HTTP/1.1 pipelining, as the bridge sends: the same n
 * sendMessage written back to back on one connection, at most `depth` unanswered, from a bare
 * node process with its own minimal client (the fake answers chunked: a response ends with the
 * last-chunk line, which no JSON body contains).
 */
async function tgPipelinedCeiling(apiRoot: string, n: number, depth: number): Promise<number> {
  const script = `
    const net = require('node:net');
    const url = new URL(process.argv[1]);
    const sock = net.connect(Number(url.port), url.hostname);
    sock.setNoDelay(true);
    const req = (i) => { const body = JSON.stringify({ chat_id: ${CHAT}, text: 'ceiling ' + i, parse_mode: 'HTML' });
      return 'POST ' + url.pathname + ' HTTP/1.1\\r\\nhost: ' + url.host + '\\r\\nconnection: keep-alive\\r\\ncontent-type: application/json\\r\\ncontent-length: ' + Buffer.byteLength(body) + '\\r\\n\\r\\n' + body; };
    const END = '\\r\\n0\\r\\n\\r\\n';
    let sent = 0, done = 0, goal = 0, tail = '', finish;
    const pump = () => { let out = ''; while (sent < goal && sent - done < ${depth}) out += req(sent++); if (out) sock.write(out); };
    sock.on('data', (d) => { const s = tail + d.toString('latin1'); let at = 0;
      for (;;) { const i = s.indexOf(END, at); if (i < 0) break; done++; at = i + END.length; }
      tail = s.slice(Math.max(at, s.length - END.length + 1)); if (done === goal) finish(); else pump(); });
    const phase = (k) => new Promise((r) => { finish = r; goal += k; pump(); });
    (async () => { await phase(50); const t0 = performance.now(); await phase(${n});
      process.stdout.write(String(${n} / ((performance.now() - t0) / 1000))); sock.destroy(); })();`;
  const child = spawn(process.execPath, ['-e', script, `${apiRoot}/bot${TG_TOKEN}/sendMessage`], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => child.on('exit', r));
  return Number(out);
}

/** The IRC side's ceiling: another client writes n lines at once to a channel the human is in; until the human read the last. */
async function ircCeiling(ircd: Ircd, human: TestIrcClient, n: number): Promise<number> {
  const chan = '#burstceiling';
  await human.join(chan);
  const src = await TestIrcClient.connect(ircd.host, ircd.port, 'ceilsrc');
  try {
    await src.join(chan);
    const seen = () => human.lines.filter((l) => l.command === 'PRIVMSG' && l.params[0]?.toLowerCase() === chan).length;
    const before = seen();
    const t0 = Date.now();
    for (let k = 0; k < n; k++) src.say(chan, `ceiling [d${k}]`);
    while (seen() - before < n) {
      if (Date.now() - t0 > 60_000) throw new Error('IRC ceiling: lines did not arrive within 60 s');
      await sleep(2);
    }
    return (n / (Date.now() - t0)) * 1000;
  } finally {
    await src.close();
  }
}

/** The room the IRC ↔ Telegram rows share: QQ, IRC and Telegram linked, the bridge in its own process. */
export interface LinkedRoom {
  tg: FakeTelegram;
  human: TestIrcClient;
  bridge: ChildBridge;
  channel: string;
  chat: number;
  tgUser: typeof TG_USER;
  token: string;
  /** Stops everything it started, last first. */
  close(): Promise<void>;
}

/** One QQ group ↔ one IRC channel ↔ one Telegram chat, limits raised; the human IRC client joined. */
export async function linkedRoom(ircd: Ircd, nick: string): Promise<LinkedRoom> {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const close = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve().then(c).catch(() => undefined);
  };
  try {
    const dir = mkdtempSync(join(tmpdir(), 'bench-burst-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const sim = await startSimulator({ world: worldWithGroups(1), pollHoldMs: 30_000 });
    cleanups.push(() => sim.close());
    const tg = await new FakeTelegram({ token: TG_TOKEN }).start();
    cleanups.push(() => tg.stop());
    const human = await TestIrcClient.connect(ircd.host, ircd.port, `human${nick}`);
    cleanups.push(() => human.close());
    await human.join(CHANNEL);
    const yaml = bridgeConfig({ dir, simUrl: sim.url, ircd, nick: `bridge${nick}`, links: 1, sendIntervalMs: 0, rateLimit: RAISED })
      .replace(`irc: "${CHANNEL}" }`, `irc: "${CHANNEL}", telegram: ${CHAT} }`)
      .replace('mappings:', ['telegram:', `  token: ${JSON.stringify(TG_TOKEN)}`, `  apiRoot: ${JSON.stringify(tg.apiRoot)}`, `  rateLimit: { perSecond: ${RAISED.perSecond}, burst: ${RAISED.burst} }`, 'mappings:'].join('\n'));
    const bridge = await startChildBridge(yaml);
    cleanups.push(() => bridge.stop());
    return { tg, human, bridge, channel: CHANNEL, chat: CHAT, tgUser: TG_USER, token: TG_TOKEN, close };
  } catch (e) {
    await close();
    throw e;
  }
}

export async function benchBursts(ircd: Ircd, n = 1000): Promise<{ ircToTg: BurstResult; tgToIrc: BurstResult }> {
  const room = await linkedRoom(ircd, 'burst');
  try {
    const { tg, human } = room;
    // Read incrementally: rescanning everything every few ms would cost the harness (which also
    // runs the fake Bot API) more CPU than the bridge's own work, and slow the fake down.
    const reader = (list: () => readonly unknown[], token: (x: unknown) => number | undefined) => {
      let at = 0;
      const got: number[] = [];
      return () => {
        const l = list();
        for (; at < l.length; at++) {
          const k = token(l[at]);
          if (k !== undefined) got.push(k);
        }
        return got;
      };
    };
    const tokenOf = (re: RegExp, text: string | undefined) => {
      const m = re.exec(text ?? '');
      return m ? Number(m[1]) : undefined;
    };
    const tgReader = () => reader(() => tg.sent, (m) => tokenOf(/\[b(\d+)\]/, (m as { text?: string }).text));
    const ircReader = () =>
      reader(() => human.lines, (x) => {
        const l = x as (typeof human.lines)[number];
        return l.command === 'PRIVMSG' && l.params[0]?.toLowerCase() === CHANNEL ? tokenOf(/\[c(\d+)\]/, l.params[1]) : undefined;
      });

    // Warm-up both ways (joins, JIT, the store's first pages).
    human.say(CHANNEL, 'warm-up [b-1]');
    tg.message(CHAT, TG_USER, { text: 'warm-up [c-1]' });
    const warm = Date.now() + 30_000;
    while (!(tg.sent.some((m) => (m.text ?? '').includes('[b-1]')) && human.lines.some((l) => (l.params[1] ?? '').includes('[c-1]')))) {
      if (Date.now() > warm) throw new Error('warm-up did not cross the bridge within 30 s');
      await sleep(10);
    }

    const run = async (send: (k: number) => void, got: () => number[]): Promise<BurstResult> => {
      const distinct = new Set<number>();
      let counted = 0;
      const t0 = Date.now();
      for (let k = 0; k < n; k++) send(k);
      const deadline = Date.now() + 120_000;
      let last = Date.now();
      while (distinct.size < n && Date.now() < deadline) {
        const g = got();
        if (g.length !== counted) {
          for (; counted < g.length; counted++) distinct.add(g[counted]!);
          last = Date.now();
        }
        if (distinct.size < n) await sleep(2);
      }
      await sleep(500); // late duplicates
      return score(got(), n, t0, last);
    };
    const tgCeiling = await tgSerialCeiling(tg.apiRoot, n);
    const tgPipelined = await tgPipelinedCeiling(tg.apiRoot, n, TG_PIPELINE);
    const ircToTg = await run((k) => human.say(CHANNEL, `burst [b${k}]`), tgReader());
    ircToTg.ceiling = tgCeiling;
    ircToTg.ceilingWhat = 'ordered sendMessage to the fake, one at a time, from a bare node process';
    ircToTg.ceiling2 = tgPipelined;
    ircToTg.ceiling2What = `the same sendMessage pipelined ${TG_PIPELINE} deep on one connection (as the bridge sends), from a bare node process`;
    const ircCeil = await ircCeiling(ircd, human, n);
    const tgToIrc = await run((k) => void tg.message(CHAT, TG_USER, { text: `burst [c${k}]` }), ircReader());
    tgToIrc.ceiling = ircCeil;
    tgToIrc.ceilingWhat = 'n lines written at once by another IRC client, until the human read the last';
    return { ircToTg, tgToIrc };
  } finally {
    await room.close();
  }
}

/** `npx tsx bench/burst.ts`: this row alone (builds the product into bench/.build first). */
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const { buildProduct, removeBuild, startIrcd } = await import('./lib.js');
  buildProduct();
  const ircd = await startIrcd();
  try {
    console.log(JSON.stringify(await benchBursts(ircd), null, 1));
  } finally {
    await ircd.stop();
    removeBuild();
  }
}
