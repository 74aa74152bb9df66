/**
 * The command line as an operator uses it, run as real child processes of the built binary
 * (`dist/cli/main.js`, what `npx qqbridge` and a global install run; `npm run build` makes it).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/ngircd.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'dist/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'qqbridge-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build it first (npm run build)`);
});

/** The environment of a user who set none of the bridge's variables. */
const BARE_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(QQ_|QQBRIDGE_|TELEGRAM_|MATRIX_|MEDIA_)/.test(k)));

function cli(args: string[], env: NodeJS.ProcessEnv = BARE_ENV) {
  return spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 20_000, env });
}

const GOOD = [
  'stateDir: ./state',
  'qq:',
  '  uin: 2769546520',
  '  password: "123456"',
  'irc:',
  '  host: irc.example.org',
  '  nick: qqbridge',
  'mappings:',
  '  - qq: { group: 346167134 }',
  '    irc: "#qq"',
  '',
].join('\n');

describe('qqbridge --version', () => {
  it('prints the package version and exits 0', () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = cli(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${version}\n`);
  });
});

describe('qqbridge check-config', () => {
  it('reports an unset environment variable together with the other problems, every line prefixed', () => {
    const file = join(dir, 'env.yaml');
    writeFileSync(
      file,
      GOOD.replace('password: "123456"', 'password: ${QQ_PASSWORD}').replace('  nick: qqbridge', '  nick: qqbridge\n  port: 6697/tcp\n  prot: 1'),
    );
    const r = cli(['check-config', '--config', file]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      `qqbridge: ${file}:4:13: qq.password: environment variable QQ_PASSWORD is not set (set QQ_PASSWORD in the bridge's environment, e.g. its secrets file; a secret has no default)`,
      `qqbridge: ${file}:8:9: irc.port: expected an integer, got "6697/tcp"`,
      `qqbridge: ${file}:9:3: irc.prot: unknown key (did you mean "port"?)`,
    ]);
  });

  it('refuses the shipped placeholder registration and a missing one, naming matrix.registration', () => {
    const withReg = (reg: string) => `${GOOD}matrix:\n  homeserverUrl: http://127.0.0.1:8008\n  domain: example.org\n  registration: ${reg}\n`;
    const file = join(dir, 'reg.yaml');
    writeFileSync(file, withReg('registration.example.yaml'));
    const r = cli(['check-config', '--config', file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`qqbridge: ${file}:14:17: matrix.registration: Matrix registration registration.example.yaml: as_token is still a placeholder`);
    writeFileSync(file, withReg(join(dir, 'none.yaml')));
    const missing = cli(['check-config', '--config', file]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/matrix\.registration: cannot read Matrix registration .*none\.yaml.*generate-registration/);
  });

  it('a bad config exits non-zero and names file:line:col, the key and the problem', () => {
    const file = join(dir, 'bad.yaml');
    // line 3: uin is not a number; line 7: misspelt key
    writeFileSync(file, GOOD.replace('uin: 2769546520', 'uin: abc').replace('  nick: qqbridge', '  nick: qqbridge\n  prot: 6667'));
    const r = cli(['check-config', '--config', file]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`${file}:3:8: qq.uin: expected a positive integer, got "abc"`);
    expect(r.stderr).toMatch(new RegExp(`${file.replace(/[.]/g, '\\.')}:8:3: irc\\.prot: unknown key \\(did you mean "port"\\?\\)`));
    expect(r.stdout).not.toContain('OK');
  });

  it('a mapping with a bad room, or a room on a network the config does not set up, fails with file:line:col and the key', () => {
    const file = join(dir, 'bad-room.yaml');
    writeFileSync(file, GOOD.replace('    irc: "#qq"', '    irc: "#qq:b"\n    telegram: -100'));
    const r = cli(['check-config', '--config', file]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`${file}:10:10: mappings[0].irc: expected an IRC channel name such as "#qq" (no spaces, commas or colons), got "#qq:b"`);
    expect(r.stderr).toContain(`${file}:11:5: mappings[0].telegram: this link names a Telegram room but the config has no "telegram:" section`);
    expect(r.stdout).not.toContain('OK');
  });

  it('a missing file exits non-zero with a clear message', () => {
    const r = cli(['check-config', '--config', join(dir, 'nope.yaml')]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('config file not found');
  });

  it('a good config prints OK and exits 0', () => {
    const file = join(dir, 'good.yaml');
    writeFileSync(file, GOOD);
    const r = cli(['check-config', '--config', file]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${file}: OK\n`);
  });
});

describe('qqbridge status', () => {
  it('reads the store without the secrets only the running bridge needs', () => {
    const state = join(dir, 'status-state');
    const file = join(dir, 'status.yaml');
    writeFileSync(file, GOOD.replace('stateDir: ./state', `stateDir: ${JSON.stringify(state)}`).replace('password: "123456"', 'password: ${QQ_PASSWORD}') + 'telegram:\n  token: ${TELEGRAM_TOKEN}\n');
    // No store yet: the report says so, and nothing about QQ_PASSWORD or TELEGRAM_TOKEN.
    const before = cli(['status', '--config', file]);
    expect(before.status).toBe(1);
    expect(before.stderr).toBe(`qqbridge: no store at ${join(state, 'qqbridge.sqlite')}: has the bridge run with stateDir ${state}?\n`);
    // A store the bridge made (its migrations run on open).
    execFileSync(process.execPath, ['--input-type=module', '-e', `import { openStore } from ${JSON.stringify(join(ROOT, 'dist/store/store.js'))}; import { silentLogger } from ${JSON.stringify(join(ROOT, 'dist/log.js'))}; const s = await openStore({ stateDir: ${JSON.stringify(state)} }, silentLogger); await s.close();`]);
    const r = cli(['status', '--config', file]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Outbox: 0 message(s) waiting');
    expect(r.stdout).toContain('qq:group:346167134, irc:#qq');
  });
});

describe('qqbridge run', () => {
  it('a start that cannot work is one line saying what failed, why and what to do, no stack trace', () => {
    const file = join(dir, 'run.yaml');
    const state = join(dir, 'run-state');
    // The example's setup: no qq.endpoint, so WebQQ's long-closed servers; no IRC section to dial out.
    writeFileSync(file, `stateDir: ${JSON.stringify(state)}\nqq:\n  uin: 2769546520\n  password: "x"\n  stateDir: ${JSON.stringify(join(state, 'qq'))}\nmedia:\n  enabled: false\n`);
    const r = cli(['run', '--config', file]);
    expect(r.status).toBe(1);
    const lines = r.stderr.trimEnd().split('\n').filter((l) => !l.startsWith('{'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^qqbridge: QQ login failed: cannot reach ui\.ptlogin2\.qq\.com \(\w+\); WebQQ's own servers closed on 2019-01-01.*qq\.endpoint.*OneBot/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('qqbridge run, a server not up yet', () => {
  it('keeps retrying with a readable line, and SIGTERM still stops it cleanly', async () => {
    const port = await freePort(); // nothing listens there: the simulator "is not up yet"
    const state = join(dir, 'retry-state');
    const file = join(dir, 'retry.yaml');
    writeFileSync(file, `stateDir: ${JSON.stringify(state)}\nqq:\n  uin: 2769546520\n  password: "123456"\n  endpoint: http://127.0.0.1:${port}\n  stateDir: ${JSON.stringify(join(state, 'qq'))}\nmedia:\n  enabled: false\n`);
    const proc = spawn(process.execPath, [MAIN, 'run', '--pretty', '--config', file], { cwd: ROOT, env: BARE_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 20_000;
      while (!err.includes('retrying in')) {
        if (proc.exitCode !== null) throw new Error(`run exited instead of retrying:\n${err}`);
        if (Date.now() > deadline) throw new Error(`no retry line:\n${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(err).toMatch(new RegExp(`WARN  QQ login failed: cannot reach 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\); check that the server at http://127\\.0\\.0\\.1:${port} is running and reachable; retrying in \\d+ s`));
      expect(err).not.toMatch(/\n\s+at /);
      proc.kill('SIGTERM');
      expect(await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))])).toBe(0);
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    }
  });
});

describe('qqbridge demo', () => {
  it('under `| head` stops everything it started: no ngircd left, no temp folder, no crash', async () => {
    const tmp = mkdtempSync(join(dir, 'demo-tmp-'));
    const port = await freePort();
    const r = spawnSync('sh', ['-c', `node ${JSON.stringify(MAIN)} demo --irc-port ${port} | head -n 3; echo "head done"`], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...BARE_ENV, TMPDIR: tmp },
    });
    expect(r.stdout.split('\n').slice(0, 3).join('\n')).toContain('starting a local IRC server');
    expect(r.stdout).toContain('head done');
    expect(r.stderr).not.toMatch(/EPIPE|Error|at /);
    // sh waits for the whole pipeline: by now the demo has exited; what it started must be gone too.
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    expect(ps.split('\n').filter((l) => l.includes(tmp))).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
  }, 90_000);

  it.each(['onebot', 'milky'])('--qq %s relays both ways through that simulator and stops by itself', async (qq) => {
    const port = await freePort();
    const r = spawnSync(process.execPath, [MAIN, 'demo', '--qq', qq, '--irc-port', String(port), '--duration', '14'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
      env: BARE_ENV,
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`${qq === 'onebot' ? 'OneBot v11' : 'Milky'} simulator on`);
    // QQ → IRC and IRC → QQ, as the two panes show them.
    expect(r.stdout).toMatch(/\[IRC #qqbridge-demo\] <qqbridge> \[呼吸 \(糗百\)\] 大家好! Hello from the QQ group/);
    expect(r.stdout).toMatch(/\[QQ {2}qqbot群\] qqbot \(the bridge\): \[viewer\] hi QQ, this line was typed on IRC/);
    expect(r.stderr.trim()).toBe('demo stopped');
  }, 90_000);
});

describe('qqbridge simulate', () => {
  it('answers on its ports and stops on SIGTERM', async () => {
    const [port, controlPort] = [await freePort(), await freePort()];
    const proc = spawn(process.execPath, [MAIN, 'simulate', '--port', String(port), '--control-port', String(controlPort), '--poll-hold-ms', '500'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 15_000;
      while (!out.includes('WebQQ simulator on')) {
        if (proc.exitCode !== null) throw new Error(`simulate exited early:\n${out}`);
        if (Date.now() > deadline) throw new Error(`simulate did not start:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(out).toContain(`http://127.0.0.1:${port}`);
      const state = await fetch(`http://127.0.0.1:${controlPort}/state`);
      expect(state.status).toBe(200);
      expect(await state.json()).toEqual({ sessions: [] });
      // The WebQQ port answers too (the real hosts are told apart by the Host header).
      const web = await fetch(`http://127.0.0.1:${port}/`);
      expect(web.status).toBeGreaterThanOrEqual(200);

      proc.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]);
      expect(code).toBe(0);
      await expect(fetch(`http://127.0.0.1:${controlPort}/state`)).rejects.toThrow();
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    }
  });
});
