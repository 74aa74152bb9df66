/**
 * A whole bridge (WebQQ simulator + real ngircd + startBridge in this process) logging at `trace`
 * into a buffer, through a password login, messages both ways, an overflow paste, malformed poll
 * events among valid ones and a forced relogin. Afterwards no credential of the run may be found
 * in the log, and the files holding state (session, database, media) are owner-only (0600).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, expect, it } from 'vitest';
import { startBridge, type RunningBridge } from '../../src/bridge.js';
import { parseConfig } from '../../src/config.js';
import { createLogger, silentLogger } from '../../src/log.js';
import { defaultWorld, startSimulator, type RunningSimulator } from '../../src/simulator/index.js';
import { freePort, startNgircd, TestIrcClient, type Ngircd } from '../support/ngircd.js';
import { waitFor } from '../support/wait.js';

const GROUP = 346167134;
const ACCOUNT = 2769546520;
const SENDER = 2899268194;
// Distinctive, so a hit in the log cannot be a coincidence.
const PASSWORD = 'Hunter2-Pw!unique-7731';
const CHANNEL = '#hostile-secrets';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

/** The probes here fail until the system is up (an HTTP call, a NAMES answer, a file being written): errors mean "not yet". */
const until = (what: string, cond: () => boolean | Promise<boolean>, ms = 15_000) => waitFor(cond, what, ms, { intervalMs: 50, ignoreErrors: true });

async function control<T = unknown>(sim: RunningSimulator, method: string, p: string, body?: unknown): Promise<T> {
  const res = await fetch(`${sim.controlUrl}${p}`, { method, ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/** Every credential in a session file: the tokens and the values of the cookies that carry one. */
function secretsOf(sessionFile: string): Map<string, string> {
  const s = JSON.parse(fs.readFileSync(sessionFile, 'utf8')) as { ptwebqq: string; vfwebqq: string; psessionid: string; jar: { cookies?: Array<{ key: string; value: string }> } };
  const out = new Map<string, string>([['ptwebqq', s.ptwebqq], ['vfwebqq', s.vfwebqq], ['psessionid', s.psessionid]]);
  for (const c of s.jar.cookies ?? []) {
    // uin-like cookies (`o2769546520`) and flags are identifiers, not credentials.
    if (/^o?\d+$/.test(c.value) || c.value.length < 6) continue;
    out.set(`cookie ${c.key}`, c.value);
  }
  return new Map([...out].filter(([, v]) => v && v.length >= 6));
}

const mode = (f: string) => fs.statSync(f).mode & 0o777;

it('no password, token, session key or cookie reaches a trace-level log; state files are 0600', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-hostile-secrets-'));
  cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  const world = defaultWorld();
  world.accounts[0]!.password = PASSWORD;
  const sim = await startSimulator({ pollHoldMs: 300, world, log: silentLogger });
  cleanups.push(() => sim.close());
  const ircd: Ngircd = await startNgircd();
  cleanups.push(() => ircd.stop());
  const human = await TestIrcClient.connect(ircd.host, ircd.port, 'alice');
  cleanups.push(() => human.close());
  await human.join(CHANNEL);

  const mediaPort = await freePort();
  const config = parseConfig([
    `stateDir: ${JSON.stringify(dir)}`,
    'log: { level: trace }',
    'qq:',
    `  uin: ${ACCOUNT}`,
    '  password: ${QQ_PASSWORD}',
    `  endpoint: ${JSON.stringify(sim.url)}`,
    `  stateDir: ${JSON.stringify(path.join(dir, 'qq'))}`,
    '  sendIntervalMs: 50',
    'irc:',
    `  host: ${ircd.host}`,
    `  port: ${ircd.port}`,
    '  nick: qqbridge',
    '  maxLines: 2',
    '  rateLimit: { perSecond: 100, burst: 100 }',
    '  reconnect: { minMs: 100, maxMs: 400 }',
    'media:',
    `  port: ${mediaPort}`,
    `  publicUrl: http://127.0.0.1:${mediaPort}`,
    'mappings:',
    `  - qq: { group: ${GROUP} }`,
    `    irc: ${JSON.stringify(CHANNEL)}`,
  ].join('\n'), 'secrets.yaml', { QQ_PASSWORD: PASSWORD });

  let logText = '';
  const log = createLogger({ level: 'trace', destination: new Writable({ write(chunk, _e, cb) { logText += String(chunk); cb(); } }) });
  const bridge: RunningBridge = await startBridge(config, log);
  cleanups.push(() => bridge.stop());
  await until('the bridge online in QQ and IRC', () => bridge.connectors.every((c) => c.isConnected()));
  const sessionFile = path.join(dir, 'qq', 'session.json');
  await until('the session file', () => fs.existsSync(sessionFile));
  const secrets = secretsOf(sessionFile);
  expect(secrets.has('ptwebqq') && secrets.has('vfwebqq') && secrets.has('psessionid')).toBe(true);

  // QQ → IRC (long enough to overflow into a media paste), IRC → QQ.
  await until('the bridge in the channel', async () => {
    const mark = human.lines.length;
    human.send(`NAMES ${CHANNEL}`);
    const names = await human.waitFor((l) => l.command === '353' || l.command === '366', 2_000, mark);
    return names.command === '353' && /\bqqbridge\b/.test(names.params[names.params.length - 1] ?? '');
  });
  await control(sim, 'POST', '/inject', { group: GROUP, from: SENDER, text: `hello from QQ ${'lorem ipsum '.repeat(120)}` });
  await human.waitFor((l) => l.command === 'PRIVMSG' && /full message: http/.test(l.params[1] ?? ''), 15_000);
  human.say(CHANNEL, 'hello from IRC');
  await until('the IRC message in QQ', async () => (await control<Array<{ text: string }>>(sim, 'GET', '/sent')).some((s) => s.text.includes('hello from IRC')));

  // Relogin: the session is refused, the bridge logs in again (new tokens, logged at trace too).
  const before = secrets.get('psessionid');
  await control(sim, 'POST', '/fault', { poll: { retcode: 100 } });
  let relogged: Map<string, string> | undefined;
  await until('a relogin', () => {
    const now = secretsOf(sessionFile);
    if (now.get('psessionid') === before) return false;
    relogged = now;
    return true;
  }, 20_000);
  relogged!.forEach((v, k) => secrets.set(`${k} (after relogin)`, v));
  await control(sim, 'POST', '/inject', { group: GROUP, from: SENDER, text: 'after relogin' });
  await human.waitFor((l) => l.command === 'PRIVMSG' && /after relogin/.test(l.params[1] ?? ''), 15_000);

  // Malformed events between valid ones, as the server queues them: the valid ones still arrive.
  await control(sim, 'POST', '/inject', { group: GROUP, from: SENDER, text: 'before malformed' });
  for (const value of [{}, { msg_id: 'x', from_uin: { $gid: GROUP }, send_uin: null, content: 42 }, { msg_id: 5, from_uin: { $gid: GROUP }, send_uin: [], content: [['font', null], ['face', 'x'], ['cface', {}], ['offpic', 7], '\u0000'] }, { msg_id: 6, from_uin: { $gid: GROUP }, content: 'no send_uin' }]) {
    await control(sim, 'POST', '/event', { poll_type: 'group_message', value });
  }
  await control(sim, 'POST', '/event', { poll_type: 'no_such_type', value: { a: 1 } });
  await control(sim, 'POST', '/inject', { group: GROUP, from: SENDER, text: 'after malformed' });
  await human.waitFor((l) => l.command === 'PRIVMSG' && /after malformed/.test(l.params[1] ?? ''), 15_000);
  expect(human.messages(CHANNEL).some((l) => /before malformed/.test(l.params[1] ?? ''))).toBe(true);
  expect(bridge.connectors.every((c) => c.isConnected())).toBe(true);

  expect(logText.length).toBeGreaterThan(1000); // the log really was written, at trace level
  expect(log.level).toBe('trace');
  expect(logText).toMatch(/"level":20/); // debug lines and below were written
  // The values really were collected: the tokens and skey-like cookies of both logins.
  expect([...secrets.keys()]).toEqual(expect.arrayContaining(['cookie skey', 'cookie ptwebqq', 'psessionid (after relogin)', 'cookie skey (after relogin)']));
  const leaks = [['QQ password', PASSWORD] as const, ...secrets].filter(([, v]) => logText.includes(v)).map(([k]) => k);
  expect(leaks).toEqual([]);

  // Files holding credentials or user content: owner-only.
  expect(mode(sessionFile)).toBe(0o600);
  for (const f of fs.readdirSync(dir).filter((n) => n.startsWith('qqbridge.sqlite'))) expect([f, mode(path.join(dir, f))]).toEqual([f, 0o600]);
  const mediaFiles = fs.readdirSync(path.join(dir, 'media'));
  expect(mediaFiles.length).toBeGreaterThan(0);
  for (const f of mediaFiles) expect([f, mode(path.join(dir, 'media', f))]).toEqual([f, 0o600]);
}, 60_000);
