/**
 * Added latency IRC → Telegram and Telegram → IRC (issue 12), each beside its ceiling in the same
 * run. The room of burst.ts (QQ, IRC and Telegram linked, limits raised, the bridge in its own
 * process against the real ngircd and the fake Bot API). One message at a time, the next a small
 * gap after the last arrived.
 *
 * - IRC → Telegram: the human's line written to the socket → the fake Bot API records sendMessage.
 * - Telegram → IRC: the update queued at the fake (the bridge's held getUpdates answered) → the
 *   human's IRC client reads the PRIVMSG.
 * Ceilings, same run: one loopback HTTP round trip (POST sendMessage to the same fake from a bare
 * node child over keep-alive, timed in the child) and one IRC line client → ngircd → client. The
 * bridge's path holds one of each, so their sum is what a bridge that did nothing else would show.
 * A third: one SQLite commit with `synchronous = FULL` (its fsync) in a bare node child on the
 * same disk, since a message is durable before it is sent and that commit is on the path too.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { TestIrcClient } from '../test/support/ngircd.js';
import { linkedRoom } from './burst.js';
import { REPO, sleep, spread, type Ircd, type Spread } from './lib.js';

export interface LatencyResult {
  ircToTg: Spread;
  tgToIrc: Spread;
  /** One POST sendMessage to the fake and its answer, from a bare node process. */
  httpRoundTrip: Spread;
  /** One IRC line from one client through ngircd to another. */
  ircHop: Spread;
  /** One SQLite commit (WAL, synchronous = FULL, one small row) in a bare node process, same disk as the bridge's store. */
  commit: Spread;
  gapMs: number;
}

/** Calls `cb` with the time each item is stored in `arr` (the fakes and the IRC client record by pushing). */
function onPush<T>(arr: T[], cb: (item: T, t: number) => void): void {
  const push = arr.push;
  arr.push = function (this: T[], ...items: T[]): number {
    const t = performance.now();
    for (const it of items) cb(it, t);
    return push.apply(this, items);
  };
}

/** Arrival times of tokens like `[l17]`, with a waiter for the next one. */
class Arrivals {
  private readonly at = new Map<string, number>();
  private waiter: { token: string; resolve: (t: number) => void } | undefined;

  record(text: string | undefined, t: number): void {
    for (const m of (text ?? '').matchAll(/\[([a-z]\d+)\]/g)) {
      const token = m[1]!;
      if (this.at.has(token)) continue;
      this.at.set(token, t);
      const w = this.waiter;
      if (w?.token === token) w.resolve(t);
    }
  }

  wait(token: string, timeoutMs = 30_000): Promise<number> {
    const t = this.at.get(token);
    if (t !== undefined) return Promise.resolve(t);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`[${token}] did not arrive within ${timeoutMs} ms`)), timeoutMs);
      this.waiter = {
        token,
        resolve: (v) => {
          clearTimeout(timer);
          this.waiter = undefined;
          resolve(v);
        },
      };
    });
  }
}

/** `n` sendMessage round trips to the fake, one at a time `gapMs` apart, timed in a bare node child. */
async function httpRoundTrips(url: string, chat: number, n: number, gapMs: number): Promise<number[]> {
  const script = `
    const http = require('node:http');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const url = new URL(process.argv[1]);
    const post = (i) => new Promise((resolve, reject) => {
      const body = JSON.stringify({ chat_id: ${chat}, text: 'round trip ' + i });
      const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => { res.resume(); res.on('end', resolve); });
      req.on('error', reject); req.end(body);
    });
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    (async () => {
      for (let i = 0; i < 20; i++) await post(i);
      const out = [];
      for (let i = 0; i < ${n}; i++) { await sleep(${gapMs}); const t0 = performance.now(); await post(i); out.push(performance.now() - t0); }
      process.stdout.write(JSON.stringify(out)); agent.destroy();
    })();`;
  const child = spawn(process.execPath, ['-e', script, url], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise((r) => child.on('exit', r));
  if (code !== 0) throw new Error(`HTTP round-trip child exited ${String(code)}`);
  return JSON.parse(out) as number[];
}

/** `n` one-row commits (WAL, synchronous = FULL) `gapMs` apart in a bare node child, in a temp dir as the bridge's store. */
async function commitTimes(n: number, gapMs: number): Promise<number[]> {
  const script = `
    const Database = require('better-sqlite3');
    const fs = require('node:fs'); const os = require('node:os'); const path = require('node:path');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-commit-'));
    const db = new Database(path.join(dir, 'c.sqlite'));
    db.pragma('journal_mode = WAL'); db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    const ins = db.prepare('INSERT INTO t (v) VALUES (?)');
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    (async () => {
      for (let i = 0; i < 20; i++) ins.run('warm-up');
      const out = [];
      for (let i = 0; i < ${n}; i++) { await sleep(${gapMs}); const t0 = performance.now(); ins.run('a line of chat ' + i); out.push(performance.now() - t0); }
      db.close(); fs.rmSync(dir, { recursive: true, force: true });
      process.stdout.write(JSON.stringify(out));
    })();`;
  const child = spawn(process.execPath, ['-e', script], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise((r) => child.on('exit', r));
  if (code !== 0) throw new Error(`commit child exited ${String(code)}`);
  return JSON.parse(out) as number[];
}

/** `n` lines from another client to the human through ngircd, one at a time `gapMs` apart. */
async function ircHops(ircd: Ircd, human: TestIrcClient, arrivals: Arrivals, n: number, gapMs: number): Promise<number[]> {
  const chan = '#latencyceiling';
  await human.join(chan);
  const src = await TestIrcClient.connect(ircd.host, ircd.port, 'latsrc');
  try {
    await src.join(chan);
    const out: number[] = [];
    for (let i = -10; i < n; i++) {
      const token = `h${i + 10}`;
      const arrived = arrivals.wait(token);
      const t0 = performance.now();
      src.say(chan, `ceiling [${token}]`);
      const t = (await arrived) - t0;
      if (i >= 0) out.push(t);
      await sleep(gapMs);
    }
    return out;
  } finally {
    await src.close();
  }
}

export async function benchIrcTelegramLatency(ircd: Ircd, n = 200, gapMs = 10): Promise<LatencyResult> {
  const room = await linkedRoom(ircd, 'lat');
  try {
    const { tg, human, channel, chat, tgUser, token } = room;
    const atTg = new Arrivals();
    const atIrc = new Arrivals();
    onPush(tg.sent, (m, t) => atTg.record(m.text, t));
    onPush(human.lines, (l, t) => atIrc.record(l.params[1], t));

    const ircToTg: number[] = [];
    const tgToIrc: number[] = [];
    // Warm-up both ways (JIT, the store's first pages, keep-alive connections), then the probes.
    for (let i = -10; i < n; i++) {
      const k = i + 10;
      const arrived = atTg.wait(`t${k}`);
      const t0 = performance.now();
      human.say(channel, `latency probe [t${k}]`);
      const t = (await arrived) - t0;
      if (i >= 0) ircToTg.push(t);
      await sleep(gapMs);
    }
    for (let i = -10; i < n; i++) {
      const k = i + 10;
      const arrived = atIrc.wait(`i${k}`);
      const t0 = performance.now();
      tg.message(chat, tgUser, { text: `latency probe [i${k}]` });
      const t = (await arrived) - t0;
      if (i >= 0) tgToIrc.push(t);
      await sleep(gapMs);
    }
    const http = await httpRoundTrips(`${tg.apiRoot}/bot${token}/sendMessage`, chat, n, gapMs);
    const irc = await ircHops(ircd, human, atIrc, n, gapMs);
    const commit = await commitTimes(n, gapMs);
    return { ircToTg: spread(ircToTg), tgToIrc: spread(tgToIrc), httpRoundTrip: spread(http), ircHop: spread(irc), commit: spread(commit), gapMs };
  } finally {
    await room.close();
  }
}

/** `npx tsx bench/irc-telegram.ts [n] [gapMs]`: these rows alone (builds the product into bench/.build first). */
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const { buildProduct, removeBuild, startIrcd, fmtSpread } = await import('./lib.js');
  const { loadavg } = await import('node:os');
  buildProduct();
  const ircd = await startIrcd();
  try {
    const before = loadavg()[0]!.toFixed(2);
    const r = await benchIrcTelegramLatency(ircd, Number(process.argv[2] ?? 200), Number(process.argv[3] ?? 10));
    console.log(`load ${before} → ${loadavg()[0]!.toFixed(2)}; p50 / p90 / p99 / max`);
    console.log(`IRC → Telegram    ${fmtSpread(r.ircToTg, 2)}`);
    console.log(`Telegram → IRC    ${fmtSpread(r.tgToIrc, 2)}`);
    console.log(`HTTP round trip   ${fmtSpread(r.httpRoundTrip, 2)}`);
    console.log(`IRC hop           ${fmtSpread(r.ircHop, 2)}`);
    console.log(`SQLite commit     ${fmtSpread(r.commit, 2)}`);
  } finally {
    await ircd.stop();
    removeBuild();
  }
}
