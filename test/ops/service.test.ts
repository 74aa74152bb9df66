/**
 * `qqbridge run` as a service, in a real child process: the WebQQ simulator as QQ and a real
 * ngircd as IRC. /health and /metrics over HTTP, SIGHUP reloading mappings (a bad file keeps the
 * old table and names file:line), SIGTERM delivering what it can within shutdownTimeoutMs,
 * leaving the rest queued, and exiting 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index.js';
import { freePort, startNgircd, TestIrcClient, type Ngircd } from '../support/ngircd.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GROUP = 346167134;
const ROBOT = 2899268194;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-ops-service-'));

let sim: RunningSimulator;
let ircd: Ngircd;
let human: TestIrcClient;
const children: ChildProcess[] = [];

beforeAll(async () => {
  sim = await startSimulator({ port: 0, controlPort: 0, pollHoldMs: 300 });
  ircd = await startNgircd();
  human = await TestIrcClient.connect(ircd.host, ircd.port, 'alice');
  for (const ch of ['#ops-a', '#ops-b', '#ops-c']) await human.join(ch);
}, 30_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  human?.send('QUIT');
  await ircd?.stop();
  await sim?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Opts {
  name: string;
  metricsPort: number;
  links: string[];
  ircRate?: string;
  shutdownTimeoutMs?: number;
}

function configText(o: Opts): string {
  const stateDir = path.join(dir, o.name);
  return [
    `stateDir: ${JSON.stringify(stateDir)}`,
    'log: { level: info }',
    'qq:',
    '  uin: 2769546520',
    '  password: "123456"',
    `  endpoint: ${JSON.stringify(sim.url)}`,
    `  stateDir: ${JSON.stringify(path.join(stateDir, 'qq'))}`,
    '  sendIntervalMs: 50',
    'irc:',
    `  host: ${ircd.host}`,
    `  port: ${ircd.port}`,
    `  nick: ops${o.name}`,
    `  rateLimit: ${o.ircRate ?? '{ perSecond: 100, burst: 100 }'}`,
    '  reconnect: { minMs: 100, maxMs: 400 }',
    'media: { enabled: false }',
    `metrics: { enabled: true, port: ${o.metricsPort} }`,
    `shutdownTimeoutMs: ${o.shutdownTimeoutMs ?? 10_000}`,
    'mappings:',
    ...o.links,
    '',
  ].join('\n');
}

class Child {
  output = '';
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;
  constructor(readonly file: string) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'run', '--config', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(this.proc);
    this.proc.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.proc.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((r) => this.proc.once('exit', (code) => r(code)));
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 20_000, child?: Child): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await Promise.resolve(probe()).catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${child ? `\n--- bridge output ---\n${child.output.slice(-3000)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function health(port: number): Promise<{ code: number; body: { status: string; problems: string[]; networks: Record<string, { connected: boolean; state?: string }> } }> {
  const res = await fetch(`http://127.0.0.1:${port}/health`);
  return { code: res.status, body: (await res.json()) as never };
}

const inject = (body: Record<string, unknown>) =>
  fetch(`${sim.controlUrl}/inject`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => {
    if (!r.ok) throw new Error(`inject: ${r.status} ${await r.text()}`);
  });

const privmsgs = (channel: string) => human.lines.filter((l) => l.command === 'PRIVMSG' && l.params[0] === channel).map((l) => l.params[1] ?? '');

describe('qqbridge run as a service', () => {
  it('serves /health (200 once QQ and IRC are up) and /metrics; SIGHUP reloads mappings, keeping them when the file is bad (a bad key, or one bad room in a new link)', async () => {
    const port = await freePort();
    const file = path.join(dir, 'hup.yaml');
    const linkA = ['  - qq: { group: 346167134 }', '    irc: "#ops-a"'];
    fs.writeFileSync(file, configText({ name: 'hup', metricsPort: port, links: linkA }));
    const child = new Child(file);
    const ready = await until('/health 200', async () => {
      const h = await health(port);
      return h.code === 200 ? h : undefined;
    }, 25_000, child);
    expect(ready.body).toMatchObject({ status: 'ready', networks: { qq: { connected: true, state: 'online' }, irc: { connected: true } } });

    await inject({ group: GROUP, from: ROBOT, text: 'before reload' });
    await until('the message in #ops-a', () => privmsgs('#ops-a').some((t) => t.includes('before reload')), 15_000, child);
    // Counted once the delivery is recorded, a moment after the line went out.
    const metrics = await until('the relayed counter', async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return /^qqbridge_messages_relayed_total\{source="qq",target="irc"\} 1$/m.test(text) ? text : undefined;
    }, 5000, child);
    expect(metrics).toMatch(/^qqbridge_network_state\{network="qq",state="online"\} 1$/m);
    expect(metrics).toMatch(/^qqbridge_network_connected\{network="irc"\} 1$/m);

    // A broken file: the error names file:line, the bridge keeps running with the old table.
    fs.writeFileSync(file, configText({ name: 'hup', metricsPort: port, links: ['  - qq: { group: 346167134 }', '    irc: "#ops-a"', '    ircc: "#typo"'] }));
    let mark = child.output.length;
    child.proc.kill('SIGHUP');
    await until('the reload error in the log', () => child.output.slice(mark).includes('config reload failed'), 10_000, child);
    expect(child.output.slice(mark)).toContain(`${file}:`);
    expect(child.output.slice(mark)).toMatch(/ircc: unknown key/);
    expect((await health(port)).code).toBe(200);

    // A file that adds a link with one bad room: the error names file:line:col and the key, nothing
    // of the new link applies (no half-applied reload), and the old link keeps relaying.
    const badRoom = [...linkA, '  - qq: { discussion: "good day" }', '    irc: ["#ops-c", "#ops:c"]'];
    fs.writeFileSync(file, configText({ name: 'hup', metricsPort: port, links: badRoom }));
    mark = child.output.length;
    const joinsBefore = human.lines.length;
    child.proc.kill('SIGHUP');
    await until('the bad-room reload error in the log', () => child.output.slice(mark).includes('config reload failed'), 10_000, child);
    const badLine = configText({ name: 'hup', metricsPort: port, links: badRoom }).split('\n').findIndex((l) => l.includes('"#ops:c"')) + 1;
    expect(child.output.slice(mark)).toContain(`${file}:${badLine}:21: mappings[1].irc[1]: expected an IRC channel name such as \\"#qq\\" (no spaces, commas or colons), got \\"#ops:c\\"`);
    await inject({ group: GROUP, from: ROBOT, text: 'after the bad reload' });
    await until('the old link still relaying', () => privmsgs('#ops-a').some((t) => t.includes('after the bad reload')), 15_000, child);
    expect(human.lines.slice(joinsBefore).some((l) => l.command === 'JOIN' && l.params[0] === '#ops-c')).toBe(false);
    expect(child.output.slice(mark)).not.toContain('mappings reloaded');

    // A good file with a new link: the new channel is joined and the new link relays.
    fs.writeFileSync(file, configText({ name: 'hup', metricsPort: port, links: [...linkA, '  - qq: { discussion: "good day" }', '    irc: "#ops-b"'] }));
    mark = human.lines.length;
    child.proc.kill('SIGHUP');
    await human.waitFor((l) => l.command === 'JOIN' && l.params[0] === '#ops-b' && (l.prefix ?? '').startsWith('opshup'), 15_000, mark);
    await inject({ discussion: 'good day', from: 123774072, text: 'after reload' });
    await until('the discussion message in #ops-b', () => privmsgs('#ops-b').some((t) => t.includes('after reload')), 15_000, child);
    expect(privmsgs('#ops-a').some((t) => t.includes('after reload'))).toBe(false);
    expect(child.proc.exitCode).toBeNull();

    const t0 = Date.now();
    child.proc.kill('SIGTERM');
    expect(await child.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
  }, 60_000);

  it('SIGTERM delivers what it can within shutdownTimeoutMs, leaves the rest queued, and exits 0', async () => {
    const port = await freePort();
    const file = path.join(dir, 'term.yaml');
    // IRC paced at 2 messages a second, so 12 messages cannot all go within the 1.5 s bound.
    fs.writeFileSync(file, configText({ name: 'term', metricsPort: port, links: ['  - qq: { group: 346167134 }', '    irc: "#ops-c"'], ircRate: '{ perSecond: 2, burst: 1 }', shutdownTimeoutMs: 1500 }));
    const child = new Child(file);
    await until('/health 200', async () => ((await health(port)).code === 200 ? true : undefined), 25_000, child);

    for (let i = 1; i <= 12; i++) await inject({ group: GROUP, from: ROBOT, text: `burst ${i}` });
    const db = path.join(dir, 'term', 'qqbridge.sqlite');
    const counts = () => {
      const d = new Database(db, { readonly: true, fileMustExist: true });
      try {
        const rows = d.prepare(`SELECT state, count(*) AS n FROM outbox WHERE network = 'irc' GROUP BY state`).all() as Array<{ state: string; n: number }>;
        return Object.fromEntries(rows.map((r) => [r.state, r.n])) as { pending?: number; delivered?: number };
      } finally {
        d.close();
      }
    };
    await until('all 12 queued', () => ((counts().pending ?? 0) + (counts().delivered ?? 0) === 12 ? true : undefined), 15_000, child);
    const atSignal = privmsgs('#ops-c').length;
    const t0 = Date.now();
    child.proc.kill('SIGTERM');
    expect(await child.exited).toBe(0);
    const took = Date.now() - t0;
    expect(took).toBeLessThan(1500 + 4000);

    const after = counts();
    await until('the channel to show the flushed messages', () => privmsgs('#ops-c').length >= (after.delivered ?? 0) || undefined, 3000);
    expect(after.delivered ?? 0).toBeGreaterThan(atSignal); // it kept delivering during the drain
    expect(after.pending ?? 0).toBeGreaterThan(0); // the rest is still queued for the next start
    expect((after.pending ?? 0) + (after.delivered ?? 0)).toBe(12);
    expect(child.output).toMatch(/undelivered messages stay queued/);
  }, 60_000);
});
