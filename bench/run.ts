/**
 * `npm run bench`: every benchmark, one after the other on loopback, then one markdown table.
 * See bench/README.md for what each figure means. Benchmarks report; they never fail on a number.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { benchBursts } from './burst.js';
import { benchIdle } from './idle.js';
import { benchIrcTelegramLatency } from './irc-telegram.js';
import { benchLogin } from './login.js';
import { buildProduct, fmtMs, fmtSpread, mb, median, REPO, removeBuild, startIrcd, type Ircd } from './lib.js';
import { benchBaseline, benchCoreMemory, benchManyGroups } from './memory.js';
import { benchParser } from './parser.js';
import { benchNetworkDefaults, benchNetworkTuned, type Network } from './networks.js';
import { benchMilky, benchMilkyPacing } from './milky.js';
import { benchDefaults, benchIrcToQqRaised, benchTuned } from './relay.js';
import { benchMatrixClients } from './matrix-clients.js';
import { benchMatrixSynapse, haveSynapse, SYNAPSE_SH } from './matrix-synapse.js';

type Row = [measurement: string, result: string, conditions: string];
const rows: Row[] = [];
const row = (m: string, r: string, c = '') => rows.push([m, r, c]);
const num = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Runs one benchmark; a failure becomes a row saying so, and the others still run. */
async function section(name: string, fn: () => Promise<void> | void): Promise<void> {
  const t0 = Date.now();
  process.stderr.write(`bench: ${name} …`);
  try {
    await fn();
    process.stderr.write(` ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  } catch (e) {
    process.stderr.write(' failed\n');
    row(name, `**failed**: ${(e as Error).message.split('\n')[0]}`);
  }
}

function cpuModel(): string {
  try {
    return /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  } catch {
    return cpus()[0]?.model ?? 'unknown';
  }
}

/** The other core benchmark (bench/core-throughput.ts), when present: its own table's rows. */
function coreThroughput(n: number): void {
  const file = join(REPO, 'bench/core-throughput.ts');
  if (!existsSync(file)) return;
  const r = spawnSync(join(REPO, 'node_modules/.bin/tsx'), [file], { cwd: REPO, env: { ...process.env, N: String(n) }, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`core-throughput.ts exited ${r.status ?? r.signal}: ${(r.stderr || r.stdout).trim().split('\n')[0]}`);
  const v = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const m = /^\|\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|$/.exec(line);
    if (m) v.set(m[1]!, m[2]!);
  }
  if (!v.has('delivered/s (end to end)')) throw new Error(`core-throughput.ts printed no table: ${r.stdout.slice(0, 200)}`);
  row('core throughput (bench/core-throughput.ts)', `${v.get('delivered/s (end to end)')} msgs/s`,
    `${v.get('messages')} msgs from ${v.get('origin rooms')} rooms, Relay → ${v.get('store')} outbox → loopback connector, in-process; ` +
      `latency p50 / p99 / max ${v.get('latency p50')} / ${v.get('latency p99')} / ${v.get('latency max')}`);
  if (v.has('ceiling: same statements, 100 msgs a commit')) {
    row('core ceiling: the same statements, 100 messages a commit', `${v.get('ceiling: same statements, 100 msgs a commit')} msgs/s`, 'SQLite, no relay; same run');
    row('core burst (windows of 100 per room, as a poll answer or an IRC burst)', `${v.get('delivered/s burst')} msgs/s`, `latency p50 / p99 ${v.get('burst latency p50 / p99')}`);
    row('core burst over a no-op store', `${v.get('delivered/s burst, no-op store')} msgs/s`, 'the relay alone; the difference is the store');
  }
}

/** Recovery after PostgreSQL outages (bench/store-outage.ts): the median row. */
function storeOutage(): void {
  const file = join(REPO, 'bench/store-outage.ts');
  if (!existsSync(file)) return;
  const r = spawnSync(join(REPO, 'node_modules/.bin/tsx'), [file], { cwd: REPO, encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) throw new Error(`store-outage.ts exited ${r.status ?? r.signal}: ${(r.stderr || r.stdout).trim().split('\n')[0]}`);
  const m = /^\| median \| (\d+) \| (\d+) ms \| (\d+) ms \|$/m.exec(r.stdout);
  if (!m) throw new Error(`store-outage.ts printed no median: ${r.stdout.slice(0, 200)}`);
  row('store outage recovery (PostgreSQL stopped 3 s, median of 5)', `available again ${m[2]} ms, held delivered ${m[3]} ms after PostgreSQL is up`, `${m[1]} messages held per outage, one every 50 ms`);
}

async function main(): Promise<void> {
  const started = Date.now();
  row('date', new Date().toISOString().replace(/\.\d+Z$/, 'Z'));
  row('node', process.version);
  row('CPU', cpuModel(), `${cpus().length} cores; load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')} (other work on the machine skews the latencies)`);

  await section('WebQQ login', async () => {
    const r = await benchLogin(5);
    row('WebQQ password login', fmtMs(median(r.passwordMs)), `median of ${r.passwordMs.length}; client login() against the simulator over HTTP`);
    row('WebQQ QR login', fmtMs(median(r.qrMs)), `median of ${r.qrMs.length}; phone confirms at once, qrPollMs ${r.qrPollMs} (default 2000 adds up to 2 s)`);
  });

  await section('poll parser', () => {
    const r = benchParser(3000);
    row('poll parser (parsePollBody)', `${num(r.eventsPerSec)} events/s, ${num(r.mbPerSec, 1)} MB/s`, `${r.eventsPerBatch} group messages per body (font, text, faces, cface in 1/3), ~${num(r.batchBytes / 1024, 1)} KiB`);
  });

  buildProduct();
  let ircd: Ircd | undefined;
  try {
    ircd = await startIrcd();
    const irc = ircd;

    await section('bursts IRC ↔ Telegram (burst.ts)', async () => {
      const r = await benchBursts(irc, 1000);
      for (const [name, b] of [['IRC → Telegram', r.ircToTg], ['Telegram → IRC', r.tgToIrc]] as const) {
        const second = b.ceiling2 !== undefined ? `; pipelined ceiling ${num(b.ceiling2)} msgs/s (${num(b.perSec / b.ceiling2, 2)}×)` : '';
        row(`throughput ${name}, burst of ${b.n}, limits raised`, `${num(b.perSec)} msgs/s; ceiling ${num(b.ceiling)} msgs/s (${num(b.perSec / b.ceiling, 2)}×)${second}`,
          `lost ${b.lost}, duplicated ${b.duplicated}, out of order ${b.outOfOrder}; all ${b.n} sent at once; irc/telegram.rateLimit 100000/s; ceiling: ${b.ceilingWhat}${b.ceiling2What ? `; pipelined ceiling: ${b.ceiling2What}` : ''}, same run`);
      }
    });

    await section('added latency IRC ↔ Telegram (irc-telegram.ts)', async () => {
      const r = await benchIrcTelegramLatency(irc, 200, 10);
      const ceil = `ceiling, same run: one loopback HTTP round trip ${fmtSpread(r.httpRoundTrip, 2)} (POST sendMessage to the same fake from a bare node child, keep-alive) + one IRC line client → ngircd → client ${fmtSpread(r.ircHop, 2)} + one SQLite commit (synchronous = FULL) ${fmtSpread(r.commit, 2)}`;
      row('added latency IRC → Telegram, p50 / p90 / p99 / max', fmtSpread(r.ircToTg, 2),
        `target ≤ 2 / ≤ 6 ms (p50 / p99); ${r.ircToTg.n} lines one at a time, next ${r.gapMs} ms after the last arrived; human's line written → the fake Bot API records sendMessage; QQ, IRC, Telegram linked, limits raised; ${ceil}`);
      row('added latency Telegram → IRC, p50 / p90 / p99 / max', fmtSpread(r.tgToIrc, 2),
        `${r.tgToIrc.n} msgs one at a time, next ${r.gapMs} ms after the last arrived; update queued at the fake (held getUpdates answered) → the human's IRC client reads it; same ceilings`);
      row('ceiling: loopback HTTP round trip, p50 / p90 / p99 / max', fmtSpread(r.httpRoundTrip, 2), `${r.httpRoundTrip.n} POST sendMessage to the fake, one at a time, ${r.gapMs} ms apart, timed in a bare node child`);
      row('ceiling: IRC line client → ngircd → client, p50 / p90 / p99 / max', fmtSpread(r.ircHop, 2), `${r.ircHop.n} lines, one at a time, ${r.gapMs} ms apart`);
      row('ceiling: one SQLite commit, synchronous = FULL, p50 / p90 / p99 / max', fmtSpread(r.commit, 2), `${r.commit.n} one-row commits (WAL) ${r.gapMs} ms apart in a bare node child, temp dir on the same disk as the bridge's store; a message is durable before it is sent, so one of these is on its path`);
    });

    await section('bridge, tuned limits', async () => {
      const r = await benchTuned(irc, 200, 100, 2000);
      row('added latency QQ → IRC, p50 / p90 / p99 / max', fmtSpread(r.qqToIrc),
        `${r.qqToIrc.n} msgs one at a time, next ${r.qqToIrcGapMs} ms after the last was seen; inject → human's IRC client on ngircd`);
      row('held poll answered on inject', r.qqToIrc.max < r.pollHoldMs / 10 ? 'yes' : '**no**',
        `simulator pollHoldMs ${r.pollHoldMs}; ${r.pollsPerMessage.toFixed(2)} poll2 requests per message`);
      row('added latency IRC → QQ, p50 / p90 / p99 / max', fmtSpread(r.ircToQq, 0),
        `${r.ircToQq.n} msgs, one every ${r.ircToQqPeriodMs} ms (QQ outbox bucket 5/s); qq.sendIntervalMs 0; simulator send \`at\` − IRC send time (1 ms resolution)`);
      row('throughput QQ → IRC, limits raised', `${num(r.throughputPerSec)} msgs/s`,
        `${r.throughputN} msgs injected 20 at a time; irc.rateLimit ${r.rateLimit.perSecond}/s burst ${r.rateLimit.burst}; ngircd penalties off`);
    });

    await section('bridge, default limits', async () => {
      const r = await benchDefaults(irc);
      row('RSS, bridge idle, 1 mapped group', mb(r.idle.rss), `heap used ${mb(r.idle.heapUsed)} after GC; start-up ${fmtMs(r.connectedMs, 0)} (login, contacts, IRC joined)`);
      row('throughput QQ → IRC, default limits', `${num(r.qqToIrcSteadyPerSec, 2)} msgs/s`,
        `burst of ${r.qqToIrcN}: first 5 in ${fmtMs(r.qqToIrcBurstMs, 0)}, then the rest (irc.rateLimit 1/s burst 5)`);
      row('throughput IRC → QQ, default limits', `${num(r.ircToQqPerMin, 1)} msgs/min`, `burst of ${r.ircToQqN} lines; qq.sendIntervalMs 1500`);
      row('QQ account pacing at the simulator, default', `mean gap ${fmtMs(r.pacing.meanGapMs, 0)} after the burst, min ${fmtMs(r.pacing.minGapMs, 0)}; at most ${r.pacing.maxIn10s} sends in 10 s (bound ${r.pacing.boundIn10s})`,
        `the ${r.ircToQqN} IRC lines above; configured mean 1500 ms ±30 %, burst 3 (qq.pacing defaults with WebQQ's 1500); simulator send \`at\``);
    });

    await section('IRC → QQ, limits raised', async () => {
      const r = await benchIrcToQqRaised(irc, 100, 1000);
      row('throughput IRC → QQ, limits raised', `${num(r.perSec)} msgs/s`,
        `${r.n} lines written at once, rotating over ${r.links} linked channels/groups (QQ outbox bucket 5/s burst 10 per group, fixed in code: 10 lines a group stay within its burst); qq.sendIntervalMs 0; until the simulator recorded the last send`);
    });

    await section('idle RSS per network set (idle.ts)', async () => {
      const r = await benchIdle(irc);
      const target: Record<string, number> = { 'QQ + IRC': 75, 'QQ + IRC + Telegram + Matrix': 105 };
      for (const s of r.sets) {
        row(`RSS idle, ${s.set}, 1 mapped group`, `${mb(s.memory.rss)}; bare node ${mb(r.bare.rss)} (${num(s.memory.rss / r.bare.rss, 2)}×)`,
          `target ≤ ${target[s.set] ?? '?'} MB; heap used ${mb(s.memory.heapUsed)} after GC; start-up ${fmtMs(s.connectedMs, 0)}; Telegram and Matrix against the fakes; node flags of the qqbridge command`);
      }
    });

    await section('500 groups', async () => {
      const r = await benchManyGroups(irc, 500);
      row(`RSS, bridge idle, ${r.groups} mapped groups`, mb(r.memory.rss), `heap used ${mb(r.memory.heapUsed)} after GC; ${r.groups} groups ↔ ${r.groups} IRC channels`);
      row(`start-up, ${r.groups} mapped groups`, fmtMs(r.connectedMs, 0),
      `startBridge() → every connector connected (QQ logged in knowing every group and its number, member lists loading after; all ${r.groups} IRC channels joined); a fresh state directory; CPU ${fmtMs(r.cpuMs, 0)}; startBridge() itself resolved at ${fmtMs(r.startMs, 0)}`);
      row(`start-up, ${r.groups} mapped groups, restart`, fmtMs(r.restart.connectedMs, 0),
      `the same, started again on the state the first run left (the WebQQ session relinked, its group numbers remembered); CPU ${fmtMs(r.restart.cpuMs, 0)}`);
    });
  } finally {
    await ircd?.stop();
  }

  const NAME: Record<Network, string> = { matrix: 'Matrix', telegram: 'Telegram' };
  const HOW: Record<Network, { fake: string; toX: string; fromX: string }> = {
    matrix: {
      fake: 'fake homeserver (test/fakes/homeserver.ts)',
      toX: 'inject → the fake homeserver stores the ghost\'s m.room.message',
      fromX: 'the fake stores the event and pushes it as a transaction → simulator send `at`',
    },
    telegram: {
      fake: 'fake Bot API (test/fakes/telegram.ts)',
      toX: 'inject → the fake Bot API records sendMessage',
      fromX: 'update queued, the held getUpdates answered → simulator send `at`',
    },
  };
  for (const net of ['matrix', 'telegram'] as const) {
    const X = NAME[net];
    await section(`QQ ↔ ${X}, limits raised`, async () => {
      const r = await benchNetworkTuned(net, 100, 100, 1000);
      const rot = `rotating over ${r.links} linked groups/rooms`;
      const lim = net === 'telegram' ? 'telegram.rateLimit 100000/s burst 100000' : 'Matrix bucket 10/s burst 20 per room (fixed in code)';
      row(`added latency QQ → ${X}, p50 / p90 / p99 / max`, fmtSpread(r.toX),
        `${r.toX.n} msgs one at a time, next ${r.toXGapMs} ms after the last arrived, ${rot}; ${HOW[net].toX}; ${lim}`);
      row(`added latency ${X} → QQ, p50 / p90 / p99 / max`, fmtSpread(r.fromX, 0),
        `${r.fromX.n} msgs one at a time, next ${r.fromXGapMs} ms after the last was sent, ${rot}; ${HOW[net].fromX} (1 ms resolution); qq.sendIntervalMs 0`);
      row(`throughput QQ → ${X}, limits raised`, `${num(r.toXPerSec)} msgs/s`,
        `${r.toXThroughputN} msgs injected 20 at a time, ${rot}; ${lim}; ${HOW[net].fake} on loopback`);
      row(`throughput ${X} → QQ, limits raised`, `${num(r.fromXPerSec)} msgs/s`,
        `${r.fromXThroughputN} msgs handed to the fake at once${net === 'matrix' ? ' (one event per transaction, pushed one after the other)' : ''}, ${rot} (QQ outbox bucket 5/s burst 10 per group, fixed in code: 10 msgs a group stay within its burst); qq.sendIntervalMs 0`);
    });
  }

  await section('QQ over OneBot', async () => {
    const { benchOneBot, benchOneBotPacing } = await import('./onebot.js');
    const r = await benchOneBot(100, 1000);
    const how = 'QQ adapter + OneBot backend ↔ OneBot simulator over a loopback WebSocket, SQLite store, in-process sink network';
    row('added latency QQ (OneBot) → network, p50 / p90 / p99 / max', fmtSpread(r.qqToSink), `${r.qqToSink.n} msgs one at a time; simulator event → sink send; ${how}`);
    row('added latency network → QQ (OneBot), p50 / p90 / p99 / max', fmtSpread(r.sinkToQq, 0), `${r.sinkToQq.n} msgs one at a time (QQ bucket 5/s; qq.pacing.intervalMs 0, the pacing row is below); receive → simulator send_group_msg \`at\` (1 ms resolution)`);
    row('throughput QQ (OneBot) → network, limits raised', `${num(r.throughputPerSec)} msgs/s`, `${r.throughputN} msgs injected at once; sink unlimited`);
    row('RSS idle, QQ over OneBot', mb(r.idleRss), `bridge and simulator in one process; heap used ${mb(r.idleHeap)}`);
    const p = await benchOneBotPacing();
    row('QQ account pacing at the OneBot simulator, default', `mean gap ${fmtMs(p.meanGapMs, 0)} after the burst, min ${fmtMs(p.minGapMs, 0)}; at most ${p.maxIn10s} sends in 10 s (bound ${p.boundIn10s})`,
      `a burst of ${p.n} lines toward QQ; configured mean ${p.pacing.intervalMs} ms ±${p.pacing.jitter * 100} %, burst ${p.pacing.burst} (qq.pacing defaults); simulator send \`at\``);
  });

  // Limit-bound, not CPU-bound: both networks at once, each with its own simulator and bridge.
  await section('QQ (Milky) ↔ network', async () => {
    const r = await benchMilky();
    row('added latency QQ (Milky) → network, p50 / p90 / p99 / max', fmtSpread(r.toNet), `${r.toNet.n} msgs; simulator inject → WebSocket event → relay (SQLite) → other connector's send, in process`);
    row('added latency network → QQ (Milky), p50 / p90 / p99 / max', fmtSpread(r.fromNet), `${r.fromNet.n} msgs paced under the 5/s bucket (qq.pacing.intervalMs 0, the pacing row is below); relay → send_group_message over HTTP → the account's message seen on a second WebSocket`);
    row('RSS idle, QQ over Milky', mb(r.idleRss), `bridge and simulator in one process, after the latency runs and GC; heap used ${mb(r.idleHeap)}`);
    const p = await benchMilkyPacing();
    row('QQ account pacing at the Milky simulator, default', `mean gap ${fmtMs(p.meanGapMs, 0)} after the burst, min ${fmtMs(p.minGapMs, 0)}; at most ${p.maxIn10s} sends in 10 s (bound ${p.boundIn10s})`,
      `a burst of ${p.n} lines toward QQ; configured mean ${p.pacing.intervalMs} ms ±${p.pacing.jitter * 100} %, burst ${p.pacing.burst} (qq.pacing defaults); simulator send \`at\``);
  });
  await section('QQ ↔ Matrix / Telegram, default limits', async () => {
    const rs = await Promise.allSettled((['matrix', 'telegram'] as const).map((n) => benchNetworkDefaults(n)));
    for (const [i, net] of (['matrix', 'telegram'] as const).entries()) {
      const X = NAME[net];
      const s = rs[i]!;
      if (s.status === 'rejected') {
        row(`throughput QQ ↔ ${X}, default limits`, `**failed**: ${(s.reason as Error).message.split('\n')[0]}`);
        continue;
      }
      const r = s.value;
      const lim = net === 'telegram' ? 'telegram.rateLimit default 0.33/s burst 5 per chat (Telegram allows ~20/min in a group)' : 'Matrix bucket 10/s burst 20 per room';
      row(`throughput QQ → ${X}, default limits`, `${num(r.toXSteadyPerMin, 1)} msgs/min`,
        `burst of ${r.toXN} after a warm-up: first ${r.toXBurst} in ${fmtMs(r.toXBurstMs, 0)}, steady rate from arrival ${r.toXSteadyFrom + 1} to ${r.toXN} (${lim}); run alongside the other default-limit rows`);
      row(`throughput ${X} → QQ, default limits`, `${num(r.fromXPerMin, 1)} msgs/min`, `burst of ${r.fromXN} at once, at the same time as the row above; qq.sendIntervalMs 1500 (default)`);
    }
  });

  // Against a real Synapse when ../shared/tools/synapse is there (as in the test suite).
  if (haveSynapse) {
    await section('QQ ↔ Matrix, real Synapse', async () => {
      const r = await benchMatrixSynapse(50);
      row('added latency QQ → Matrix (Synapse 1.67), p50 / p90 / p99 / max', fmtSpread(r.toMatrix, 0),
        `${r.toMatrix.n} msgs one at a time: inject on a loopback QQ → a Matrix user's /sync sees it; bridge in-process, SQLite; Synapse's own part is the "Synapse alone" row`);
      row('added latency Matrix (Synapse 1.67) → QQ, p50 / p90 / p99 / max', fmtSpread(r.fromMatrix, 0),
        `${r.fromMatrix.n} msgs one at a time: a Matrix user's send → the loopback QQ has it (legacy push path)`);
      row('Synapse alone, Matrix user → Matrix user, p50 / p90 / p99 / max', fmtSpread(r.direct, 0), `${r.direct.n} msgs one at a time: send → the other user's /sync sees it (baseline for the two rows above)`);
    });
    await section('Matrix client: own calls vs the library\'s Intent', async () => {
      for (const r of await benchMatrixClients(50)) {
        row(`Matrix send as a ghost, ${r.mode === 'own' ? 'own client (client.ts)' : 'matrix-appservice-bridge Intent'}, p50 / p90 / p99 / max`, fmtSpread(r.send),
          `${r.send.n} msgs one at a time to Synapse 1.67; child under tsx --expose-gc: RSS after GC ${mb(r.rssMb * 1024 * 1024)}, heap used ${mb(r.heapMb * 1024 * 1024)}`);
      }
    });
  } else {
    row('QQ ↔ Matrix, real Synapse', 'skipped', `no ${SYNAPSE_SH}`);
  }

  await section('core memory, 100k messages', async () => {
    const base = await benchBaseline();
    const r = await benchCoreMemory(100_000);
    const gc = r.samples.filter((s) => s.gc);
    const half = gc[gc.length - 2]!;
    const last = gc[gc.length - 1]!;
    const series = gc.map((s) => `${num(s.after / 1000)}k: ${mb(s.rss)}`).join(', ');
    row('RSS, core before → after 100k msgs (after GC)', `${mb(gc[0]!.rss)} → ${mb(last.rss)}`,
      `4 origin rooms, SQLite store, sink connectors, child \`node --expose-gc\`; heap used ${mb(gc[0]!.heapUsed)} → ${mb(last.heapUsed)}; RSS after GC at ${series}; ${num(100_000 / r.seconds)} msgs/s`);
    row('RSS growth, core 50k → 100k msgs (after GC)', mb(last.rss - half.rss), `JS heap ${mb(last.heapUsed - half.heapUsed)}; for scale, an empty node process: ${mb(base.rss)}`);
  });

  await section('core throughput (core-throughput.ts)', () => coreThroughput(20_000));
  await section('store outage recovery (store-outage.ts)', () => storeOutage());
  removeBuild();

  row('whole run', `${((Date.now() - started) / 1000).toFixed(0)} s`);
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length), ['measurement', 'result', 'conditions'][i]!.length));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
  console.log(line(['measurement', 'result', 'conditions']));
  console.log(`|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    removeBuild();
    process.exit(1);
  },
);
