/**
 * End-to-end harness: a real ngircd, the WebQQ simulator (default world: the captured seeds) and
 * the bridge linking QQ group 346167134 to an IRC channel, plus a human in that channel. The
 * bridge runs in this process (`startHarness`) or as a child process (`BridgeProcess`) for the
 * crash tests. Every wait is bounded; `close()` stops whatever was started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { startBridge, type BridgeHooks, type RunningBridge } from '../../src/bridge.js';
import { parseConfig, type Config } from '../../src/config.js';
import { SQLITE_FILE } from '../../src/store/store.js';
import { parseIrcFormatting } from '../../src/connectors/irc/format.js';
import { createLogger, silentLogger, type Logger } from '../../src/log.js';
import { startSimulator, type RunningSimulator, type SentRecord, type Violation } from '../../src/simulator/index.js';
import { TcpGate } from './gate.js';
import { freePort, startNgircd, TestIrcClient, type IrcLine, type Ngircd } from '../support/ngircd.js';

export const GROUP = 346167134;
export const ACCOUNT = { qq: 2769546520, password: '123456' };
/** Group members of the default world, by their QQ nick. */
export const MEMBERS = { huxi: 2440652742, robot: 2899268194, ops: 2041084648 } as const;
export const BOT_NICK = 'qqbridge';
export const HUMAN_NICK = 'alice';
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type { IrcLine, SentRecord, Violation };

/** Text of a PRIVMSG as a person reads it: formatting codes and zero-width spaces removed. */
export function plain(text: string): string {
  return parseIrcFormatting(text)
    .map((r) => r.text)
    .join('')
    .replace(/\u200b/g, '');
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The control API of a running simulator. */
export class SimControl {
  constructor(readonly url: string) {}

  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`simulator ${method} ${path} answered ${res.status}: ${text}`);
    return JSON.parse(text) as T;
  }

  /** A member of the bridged group says something in QQ. */
  inject(body: Record<string, unknown>): Promise<{ msg_id: number }> {
    return this.call('POST', '/inject', { group: GROUP, from: MEMBERS.robot, ...body });
  }

  say(text: string, from: number = MEMBERS.robot): Promise<{ msg_id: number }> {
    return this.inject({ text, from });
  }

  sent(): Promise<SentRecord[]> {
    return this.call('GET', '/sent');
  }

  violations(): Promise<Violation[]> {
    return this.call('GET', '/violations');
  }

  fault(body: Record<string, unknown>): Promise<unknown> {
    return this.call('POST', '/fault', body);
  }

  /** Resolves with the sends to the group once `pred` holds for them. */
  waitForSent(what: string, pred: (sent: SentRecord[]) => boolean, timeoutMs = 10_000): Promise<SentRecord[]> {
    return waitUntil(what, async () => {
      const sent = (await this.sent()).filter((s) => s.group === GROUP);
      return pred(sent) ? sent : undefined;
    }, timeoutMs);
  }

  async state(): Promise<{ sessions: Array<{ qq: number; online: boolean; ptwebqq: string; clientid: string; polls: number; logins: number; relinks: number }> }> {
    return this.call('GET', '/state');
  }
}

/** Config lines that add a (fake) Telegram chat to the harness's link, with its rate limit lifted. */
export function telegramYaml(apiRoot: string, token: string, chat: number): NonNullable<ConfigOptions['extraYaml']> {
  return {
    top: ['telegram:', `  token: ${JSON.stringify(token)}`, `  apiRoot: ${JSON.stringify(apiRoot)}`, '  rateLimit: { perSecond: 100, burst: 100 }'],
    link: [`    telegram: ${chat}`],
  };
}

export interface ConfigOptions {
  stateDir: string;
  /** The WebQQ simulator the default `qq:` keys point at (not needed with `qqLines`). */
  simUrl?: string;
  /** The `qq:` section's own keys for another backend (OneBot, Milky), instead of the WebQQ ones. */
  qqLines?: string[];
  ircHost: string;
  ircPort: number;
  channel: string;
  mediaPort: number;
  maxLines?: number;
  logLevel?: string;
  /** More config: `top` lines go before `mappings:` (whole sections), `link` lines into the link. */
  extraYaml?: { top?: string[]; link?: string[]; qq?: string[] };
}

/** The bridge config the tests run with: fast pacing, fast reconnects, a media server on loopback. */
export function configYaml(o: ConfigOptions): string {
  return [
    `stateDir: ${JSON.stringify(o.stateDir)}`,
    'log:',
    `  level: ${o.logLevel ?? 'warn'}`,
    'qq:',
    ...(o.qqLines ?? [
      `  uin: ${ACCOUNT.qq}`,
      `  password: ${JSON.stringify(ACCOUNT.password)}`,
      `  endpoint: ${JSON.stringify(o.simUrl)}`,
      `  stateDir: ${JSON.stringify(join(o.stateDir, 'qq'))}`,
      '  sendIntervalMs: 50',
    ]),
    // These tests count QQ messages, one per line; joining a backlog (coalesceAfter) has its own
    // tests (test/connectors/qq/onebot/coalesce.test.ts), and a test that sets pacing decides.
    ...([...(o.qqLines ?? []), ...(o.extraYaml?.qq ?? [])].some((l) => /^\s*pacing:/.test(l)) ? [] : ['  pacing: { coalesceAfter: 0 }']),
    ...(o.extraYaml?.qq ?? []),
    'irc:',
    `  host: ${o.ircHost}`,
    `  port: ${o.ircPort}`,
    `  nick: ${BOT_NICK}`,
    `  maxLines: ${o.maxLines ?? 5}`,
    '  rateLimit: { perSecond: 100, burst: 100 }',
    '  reconnect: { minMs: 100, maxMs: 400 }',
    'media:',
    `  port: ${o.mediaPort}`,
    `  publicUrl: http://127.0.0.1:${o.mediaPort}`,
    ...(o.extraYaml?.top ?? []),
    'mappings:',
    `  - qq: { group: ${GROUP} }`,
    `    irc: ${JSON.stringify(o.channel)}`,
    ...(o.extraYaml?.link ?? []),
    '',
  ].join('\n');
}

/** The human's view: waits for the bridge's PRIVMSGs in the channel. */
export class ChannelView {
  constructor(readonly human: TestIrcClient, readonly channel: string) {}

  /** PRIVMSGs the bridge posted in the channel, in order. */
  fromBridge(): IrcLine[] {
    return this.human.messages(this.channel).filter((l) => l.nick === BOT_NICK);
  }

  /** Plain texts the bridge posted, in order. */
  texts(): string[] {
    return this.fromBridge().map((l) => plain(l.params[1] ?? ''));
  }

  /** Resolves with the first bridge line (received so far or later) whose plain text satisfies `pred`. */
  waitForText(pred: (text: string) => boolean, timeoutMs = 10_000): Promise<IrcLine> {
    return this.human.waitFor(
      (l) => l.command === 'PRIVMSG' && l.nick === BOT_NICK && l.params[0]?.toLowerCase() === this.channel.toLowerCase() && pred(plain(l.params[1] ?? '')),
      timeoutMs,
    );
  }

  /** Resolves once the bridge's texts satisfy `pred`. */
  waitForTexts(what: string, pred: (texts: string[]) => boolean, timeoutMs = 10_000): Promise<string[]> {
    return waitUntil(what, () => {
      const t = this.texts();
      return pred(t) ? t : undefined;
    }, timeoutMs, 25);
  }
}

/** Waits until the bridge's nick is in the channel, as the human's client sees it. */
export async function waitForBotInChannel(human: TestIrcClient, channel: string, timeoutMs = 15_000): Promise<void> {
  await waitUntil('the bridge to join the channel', async () => {
    const mark = human.lines.length;
    human.send(`NAMES ${channel}`);
    const names = await human.waitFor((l) => l.command === '353' || l.command === '366', 2_000, mark);
    if (names.command !== '353') return undefined;
    const nicks = (names.params[names.params.length - 1] ?? '').split(' ').map((n) => n.replace(/^[@+%&~]/, ''));
    return nicks.includes(BOT_NICK) ? true : undefined;
  }, timeoutMs, 100);
}

export interface Harness {
  dir: string;
  channel: string;
  ircd: Ngircd;
  sim: RunningSimulator;
  qq: SimControl;
  bridge: RunningBridge;
  human: TestIrcClient;
  irc: ChannelView;
  mediaPort: number;
  /** Between the bridge and ngircd when `gate` was asked for. */
  gate: TcpGate | undefined;
  /** The config the bridge runs with. */
  config: Config;
  /** Stops the bridge (cleanly) and starts a new one on the same config and state; updates `bridge`. */
  restartBridge(): Promise<RunningBridge>;
  /** Connects the human again (after an IRC server restart) and rejoins the channel. */
  reconnectHuman(): Promise<TestIrcClient>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  maxLines?: number;
  channel?: string;
  /** Put a TcpGate between the bridge and ngircd. */
  gate?: boolean;
  /** Where the bridge keeps its state (default: a fresh temp dir, removed at close). */
  stateDir?: string;
  /** The bridge's logger (default: silent, or QQBRIDGE_E2E_LOG). */
  log?: Logger;
  /** See ConfigOptions.extraYaml. */
  extraYaml?: ConfigOptions['extraYaml'];
  /** Operations hooks for the bridge (status notices, account events). */
  hooks?: BridgeHooks;
  /** Called after each bridge start (e.g. to point a fake homeserver at the appservice port). */
  onBridgeStarted?: (bridge: RunningBridge) => Promise<void> | void;
}

/** ngircd + simulator + bridge (in this process) + a human in the channel, all ready. */
export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const dir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'qqbridge-e2e-'));
    if (!opts.stateDir) cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const channel = opts.channel ?? '#qq-e2e';
    const ircd = await startNgircd();
    cleanups.push(() => ircd.stop());
    const sim = await startSimulator({ pollHoldMs: 300, log: silentLogger });
    cleanups.push(() => sim.close());
    const human = await TestIrcClient.connect(ircd.host, ircd.port, HUMAN_NICK);
    cleanups.push(() => human.close());
    await human.join(channel);
    let gate: TcpGate | undefined;
    if (opts.gate) {
      const g = new TcpGate(ircd.host, ircd.port);
      await g.start();
      cleanups.push(() => g.stop());
      gate = g;
    }
    const mediaPort = await freePort();
    const config = parseConfig(
      configYaml({ stateDir: dir, simUrl: sim.url, ircHost: ircd.host, ircPort: gate?.port ?? ircd.port, channel, mediaPort, ...(opts.maxLines ? { maxLines: opts.maxLines } : {}), ...(opts.extraYaml ? { extraYaml: opts.extraYaml } : {}) }),
      'e2e.yaml',
    );
    // QQBRIDGE_E2E_LOG=debug shows the in-process bridge's log when a test needs explaining.
    const log = opts.log ?? (process.env.QQBRIDGE_E2E_LOG ? createLogger({ level: process.env.QQBRIDGE_E2E_LOG }) : silentLogger);
    const bridge = await startBridge(config, log, opts.hooks);
    let running = bridge;
    cleanups.push(() => running.stop());
    await opts.onBridgeStarted?.(bridge);
    await waitForBotInChannel(human, channel);
    const qq = new SimControl(sim.controlUrl);
    await waitUntil('the bridge to be online in QQ', () => (bridge.connectors.every((c) => c.isConnected()) ? true : undefined), 15_000);
    const harness: Harness = {
      dir, channel, ircd, sim, qq, bridge, human, irc: new ChannelView(human, channel), mediaPort, gate, config, close,
      async restartBridge() {
        await running.stop();
        running = await startBridge(config, log, opts.hooks);
        harness.bridge = running;
        await opts.onBridgeStarted?.(running);
        return running;
      },
      async reconnectHuman() {
        const again = await TestIrcClient.connect(ircd.host, ircd.port, HUMAN_NICK);
        cleanups.push(() => again.close());
        await again.join(channel);
        harness.human = again;
        harness.irc = new ChannelView(again, channel);
        return again;
      },
    };
    return harness;
  } catch (e) {
    await close();
    throw e;
  }
}

/**
 * The bridge as a separate process (`qqbridge run` through tsx, no build needed), so a test can
 * SIGKILL it the way a crash or the OOM killer would.
 */
export class BridgeProcess {
  private proc: ChildProcess | undefined;
  output = '';

  constructor(readonly configFile: string) {}

  start(): void {
    this.output = '';
    const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'run', '--config', this.configFile], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.proc = proc;
  }

  get running(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Kills the process with `signal` and waits for it to be gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill(signal);
    const t = setTimeout(() => p.kill('SIGKILL'), 5_000);
    await gone;
    clearTimeout(t);
  }
}

/** Counts outbox items per state in the bridge's SQLite store (read-only, like an operator would). */
export function outboxCounts(stateDir: string, network: string): { pending: number; delivered: number } {
  const file = join(stateDir, SQLITE_FILE);
  // A bridge still starting has no database yet, or not its tables yet: nothing is queued.
  if (!existsSync(file)) return { pending: 0, delivered: 0 };
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    let rows: Array<{ state: string; n: number }>;
    try {
      rows = db.prepare('SELECT state, count(*) AS n FROM outbox WHERE network = ? GROUP BY state').all(network) as typeof rows;
    } catch (e) {
      if (/no such table/.test((e as Error).message)) return { pending: 0, delivered: 0 };
      throw e;
    }
    const by = Object.fromEntries(rows.map((r) => [r.state, r.n]));
    return { pending: by.pending ?? 0, delivered: by.delivered ?? 0 };
  } finally {
    db.close();
  }
}

/** A fresh temp dir with a config file for a child-process bridge. */
export function writeConfigFile(o: Omit<ConfigOptions, 'stateDir'> & { dir: string }): string {
  const stateDir = join(o.dir, 'state');
  mkdirSync(stateDir, { recursive: true });
  const file = join(o.dir, 'bridge.yaml');
  writeFileSync(file, configYaml({ ...o, stateDir }));
  return file;
}

export function tempDir(prefix = 'qqbridge-e2e-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
