/**
 * The command line as an operator uses it: `qqbridge check-config` and `qqbridge simulate`, run as
 * real child processes through tsx (no build needed).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/ngircd.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
const dir = mkdtempSync(join(tmpdir(), 'qqbridge-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
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

describe('qqbridge check-config', () => {
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

describe('qqbridge simulate', () => {
  it('answers on its ports and stops on SIGTERM', async () => {
    const [port, controlPort] = [await freePort(), await freePort()];
    const proc = spawn(process.execPath, ['--import', 'tsx', MAIN, 'simulate', '--port', String(port), '--control-port', String(controlPort), '--poll-hold-ms', '500'], {
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
