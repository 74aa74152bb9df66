/**
 * `qqbridge demo`: the whole bridge on one machine with no accounts. The WebQQ simulator plays a
 * QQ group, a real ngircd serves an IRC channel, the bridge links them, and the terminal shows
 * both sides as messages cross in each direction. Anyone can join the channel with an IRC client.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import IrcFramework from 'irc-framework';
import { startBridge } from '../bridge.js';
import { parseConfig } from '../config.js';
import { parseIrcFormatting } from '../connectors/irc/format.js';
import { freePort, startNgircd } from '../demo/ngircd.js';
import { DEMO_ACCOUNT, DEMO_GROUP, demoScenario } from '../demo/scenario.js';
import { faceText, showInfo, showIrc, showQq, styledText } from '../demo/view.js';
import { createLogger, silentLogger } from '../log.js';
import { startSimulator } from '../simulator/index.js';

export interface DemoOptions {
  ircPort: number;
  channel: string;
  /** Stop after this many seconds; 0 runs until Ctrl-C. */
  durationS: number;
  /** Which QQ backend the demo runs on: the WebQQ simulator (default), the OneBot or the Milky one. */
  qq?: 'webqq' | 'onebot' | 'milky';
}

/** The simulated QQ side: how the bridge reaches it, and the demo's two hooks into it. */
interface DemoQq {
  configLines: string[];
  describe: string;
  inject(step: Record<string, unknown>): Promise<void>;
  /** What the bridge posted into the group since the last call, as readable lines. */
  sentSince(): Promise<string[]>;
  close(): Promise<unknown>;
}

async function webqqSide(dir: string): Promise<DemoQq> {
  const sim = await startSimulator({ pollHoldMs: 5_000, log: silentLogger });
  let seen = 0;
  return {
    describe: `WebQQ simulator on ${sim.url}`,
    configLines: [
      `  uin: ${DEMO_ACCOUNT.qq}`,
      `  password: ${JSON.stringify(DEMO_ACCOUNT.password)}`,
      `  endpoint: ${JSON.stringify(sim.url)}`,
      `  stateDir: ${JSON.stringify(join(dir, 'qq'))}`,
      '  sendIntervalMs: 300',
    ],
    async inject(step) {
      const res = await fetch(`${sim.controlUrl}/inject`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(step) });
      if (!res.ok) throw new Error(`simulator refused the demo message: ${await res.text()}`);
    },
    async sentSince() {
      const sent = (await (await fetch(`${sim.controlUrl}/sent`)).json()) as Array<{ text: string; faces?: number[]; images?: string[] }>;
      const out = sent.slice(seen).map((s) => {
        const extras = [...(s.faces ?? []).map(faceText), ...(s.images ?? []).map(() => '[picture]')].join(' ');
        return `${s.text}${extras ? ` ${extras}` : ''}`;
      });
      seen = sent.length;
      return out;
    },
    close: () => sim.close(),
  };
}

async function onebotSide(): Promise<DemoQq> {
  const { OneBotSimulator } = await import('../connectors/qq/onebot/simulator/simulator.js');
  const token = Math.random().toString(36).slice(2);
  const sim = new OneBotSimulator({ accessToken: token });
  const url = await sim.listen(0);
  let seen = 0;
  return {
    describe: `OneBot v11 simulator on ${url}`,
    configLines: ['  protocol: onebot', '  onebot:', `    url: ${url}`, `    accessToken: ${token}`],
    async inject(step) {
      const segments: Array<{ type: string; data: Record<string, unknown> }> = [{ type: 'text', data: { text: String(step.text ?? '') } }];
      for (const f of (step.faces as number[] | undefined) ?? []) segments.push({ type: 'face', data: { id: String(f) } });
      const image = step.image as { name: string; mime: string; data: string } | undefined;
      if (image) segments.push({ type: 'image', data: { file: image.name, url: sim.addMedia(Buffer.from(image.data, 'base64'), image.mime) } });
      sim.inject(Number(step.group), Number(step.from), segments);
    },
    async sentSince() {
      const sent = sim.sends();
      const out = sent.slice(seen).map((s) => s.segments.map((x) => (x.type === 'text' ? String(x.data.text) : x.type === 'face' ? faceText(Number(x.data.id)) : `[${x.type}]`)).join(''));
      seen = sent.length;
      return out;
    },
    close: () => sim.close(),
  };
}

async function milkySide(): Promise<DemoQq> {
  const { startMilkySimulator } = await import('../connectors/qq/milky/simulator/index.js');
  const token = Math.random().toString(36).slice(2);
  const sim = await startMilkySimulator({ accessToken: token });
  let seen = 0;
  const control = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${sim.controlUrl}${path}`, { method, ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}) });
    if (!res.ok) throw new Error(`Milky simulator refused ${path}: ${await res.text()}`);
    return res.json();
  };
  return {
    describe: `Milky simulator on ${sim.url}`,
    configLines: ['  protocol: milky', '  milky:', `    url: ${sim.url}`, `    accessToken: ${token}`],
    async inject(step) {
      const segments: Array<{ type: string; data: Record<string, unknown> }> = [{ type: 'text', data: { text: String(step.text ?? '') } }];
      for (const f of (step.faces as number[] | undefined) ?? []) segments.push({ type: 'face', data: { face_id: String(f), is_large: false } });
      await control('POST', '/inject', { group: step.group, from: step.from, segments, ...(step.image ? { image: step.image } : {}) });
    },
    async sentSince() {
      const sent = (await control('GET', '/sent')) as Array<{ segments: Array<{ type: string; data: Record<string, unknown> }> }>;
      const out = sent.slice(seen).map((s) => s.segments.map((x) => (x.type === 'text' ? String(x.data.text) : x.type === 'face' ? faceText(Number(x.data.face_id)) : `[${x.type}]`)).join(''));
      seen = sent.length;
      return out;
    },
    close: () => sim.close(),
  };
}

const MEMBER_NICKS: Record<number, string> = { 2440652742: '呼吸 (糗百)', 2899268194: 'robot', 2041084648: 'robot ops' };
const GROUP_NAME = 'qqbot群';

async function portOr(preferred: number): Promise<number> {
  const net = await import('node:net');
  const free = await new Promise<boolean>((resolve) => {
    const s = net.createServer().once('error', () => resolve(false)).listen(preferred, '127.0.0.1', () => s.close(() => resolve(true)));
  });
  return free ? preferred : freePort();
}

export async function runDemo(opts: DemoOptions): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'qqbridge-demo-'));
  const log = createLogger({ level: process.env.QQBRIDGE_LOG_LEVEL ?? 'warn' });
  const cleanups: Array<() => Promise<unknown>> = [];
  let stopping: Promise<void> | undefined;
  /**
   * Stops everything the demo started (ngircd, the simulator, the bridge, its temp folder) on
   * every way out: Ctrl-C, SIGTERM, the reader of a pipe going away (`| head`: EPIPE), a crash.
   */
  const shutdown = (code: number, why?: string): Promise<void> =>
    (stopping ??= (async () => {
      // The connectors' "connection closed" warnings while everything stops are not news.
      log.level = 'silent';
      const force = setTimeout(() => process.exit(code), 10_000);
      force.unref();
      for (const c of cleanups.reverse()) await c().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
      if (why) process.stderr.write(`${why}\n`);
      process.exit(code);
    })());
  process.once('SIGINT', () => void shutdown(0, 'demo stopped'));
  process.once('SIGTERM', () => void shutdown(0, 'demo stopped'));
  process.once('SIGHUP', () => void shutdown(0));
  // `npm run demo | head`: the pipe closes and the next write fails with EPIPE.
  process.stdout.on('error', () => void shutdown(0));
  process.on('uncaughtException', (e) => void shutdown(1, `demo failed: ${e.message}`));
  process.on('unhandledRejection', (e) => void shutdown(1, `demo failed: ${(e as Error)?.message ?? String(e)}`));

  try {
    showInfo('starting a local IRC server (ngircd) …');
    const ircd = await startNgircd({ port: await portOr(opts.ircPort), ownProcessGroup: true });
    cleanups.push(() => ircd.stop());

    const qq = opts.qq === 'onebot' ? await onebotSide() : opts.qq === 'milky' ? await milkySide() : await webqqSide(dir);
    cleanups.push(() => qq.close());
    showInfo(`${qq.describe} (QQ group ${GROUP_NAME}, number ${DEMO_GROUP})`);

    const mediaPort = await freePort();
    const config = parseConfig(
      [
        `stateDir: ${JSON.stringify(dir)}`,
        'qq:',
        ...qq.configLines,
        'irc:',
        `  host: ${ircd.host}`,
        `  port: ${ircd.port}`,
        '  nick: qqbridge',
        'media:',
        `  port: ${mediaPort}`,
        `  publicUrl: http://127.0.0.1:${mediaPort}`,
        'mappings:',
        `  - qq: { group: ${DEMO_GROUP} }`,
        `    irc: ${JSON.stringify(opts.channel)}`,
      ].join('\n'),
      'demo.yaml',
    );
    showInfo('logging in to QQ (simulated) and connecting to IRC …');
    const bridge = await startBridge(config, log);
    cleanups.push(() => bridge.stop());

    const viewer = await connectViewer(ircd.host, ircd.port, opts.channel);
    cleanups.push(async () => viewer.quit('demo over'));
    showInfo(`bridge running: QQ group ${DEMO_GROUP} <-> ${opts.channel} on irc://${ircd.host}:${ircd.port}`);
    showInfo(`join it yourself with any IRC client:  /connect ${ircd.host} ${ircd.port}  then  /join ${opts.channel}`);
    showInfo('Ctrl-C stops the demo.\n');

    const stopWatching = watchQqGroup(qq);
    cleanups.push(async () => stopWatching());
    void playScenario(qq, viewer, opts.channel);

    if (opts.durationS > 0) setTimeout(() => void shutdown(0, 'demo stopped'), opts.durationS * 1000).unref();
  } catch (e) {
    await shutdown(1, `demo failed: ${(e as Error).message}`);
  }
}

/** A person in the IRC channel: prints what the channel shows. */
async function connectViewer(host: string, port: number, channel: string): Promise<IrcFramework.Client> {
  const client = new IrcFramework.Client();
  const show = (action: boolean) => (e: { target: string; nick: string; message: string }) => {
    if (e.target.toLowerCase() !== channel.toLowerCase()) return;
    showIrc(channel, e.nick, styledText(parseIrcFormatting(e.message)).replace(/\u200b/g, ''), action);
  };
  client.on('privmsg', show(false));
  // `/me waves` from anyone in the channel (a CTCP ACTION).
  client.on('action', show(true));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the demo viewer could not join the IRC channel')), 15_000);
    client.on('join', (e) => {
      if (e.nick === 'viewer' && e.channel.toLowerCase() === channel.toLowerCase()) {
        clearTimeout(timer);
        resolve();
      }
    });
    client.on('registered', () => client.join(channel));
    client.connect({ host, port, nick: 'viewer', username: 'viewer', gecos: 'qqbridge demo viewer', auto_reconnect: false });
  });
  return client;
}

/** Shows what the bridge posts into the QQ group, from the simulator's record of sends. */
function watchQqGroup(qq: DemoQq): () => void {
  const timer = setInterval(async () => {
    try {
      for (const line of await qq.sentSince()) showQq(GROUP_NAME, 'qqbot (the bridge)', line);
    } catch {
      // The simulator is stopping with the demo.
    }
  }, 400);
  return () => clearInterval(timer);
}

/** Plays the scripted QQ conversation, with the IRC viewer answering now and then, forever. */
async function playScenario(qq: DemoQq, viewer: IrcFramework.Client, channel: string): Promise<void> {
  const ircLines = ['hi QQ, this line was typed on IRC', 'IRC formatting is \x02reduced\x02 to plain text for QQ', '/me waves from IRC', 'bye for now [微笑]'];
  let said = 0;
  for (;;) {
    for (const [i, step] of demoScenario().entries()) {
      await new Promise((r) => setTimeout(r, step.afterMs));
      const from = step.inject.from as number;
      const text = String(step.inject.text ?? '');
      await qq.inject(step.inject);
      const extras = [...((step.inject.faces as number[] | undefined) ?? []).map(faceText), ...(step.inject.image ? ['[picture]'] : [])].join(' ');
      showQq(GROUP_NAME, MEMBER_NICKS[from] ?? String(from), `${text}${extras ? ` ${extras}` : ''}`);
      if (i % 2 === 1) {
        await new Promise((r) => setTimeout(r, 1200));
        const line = ircLines[said++ % ircLines.length]!;
        const action = line.startsWith('/me ');
        const text = action ? line.slice(4) : line;
        if (action) viewer.action(channel, text);
        else viewer.say(channel, text);
        showIrc(channel, 'viewer', styledText(parseIrcFormatting(text)), action);
      }
    }
  }
}
