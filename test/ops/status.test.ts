/** `qqbridge status` as an operator runs it (a real child process) on a store with queued and failed messages. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { openStore } from '../../src/store/store.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = path.join(ROOT, 'src/cli/main.ts');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-ops-status-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });

function writeConfig(stateDir: string): string {
  const file = path.join(dir, `${path.basename(stateDir)}.yaml`);
  fs.writeFileSync(
    file,
    [
      `stateDir: ${stateDir}`,
      'qq:',
      '  uin: 2769546520',
      '  password: "123456"',
      `  stateDir: ${stateDir}/qq`,
      'irc:',
      '  host: irc.example.org',
      '  nick: qqbridge',
      'mappings:',
      '  - qq: { group: 346167134 }',
      '    irc: "#qq"',
      '',
    ].join('\n'),
  );
  return file;
}

const payload = (text: string) => ({ v: 1, message: { id: `qq:group:346167134:${text}`, origin: { network: 'qq', room: 'group:346167134', sender: { id: '1', displayName: 'a' } }, kind: 'message', parts: [{ type: 'text', text }], time: 0 } });

describe('qqbridge status', () => {
  it('prints queued messages per target with their age, failed messages with the reason, links and the QQ session age', async () => {
    const stateDir = path.join(dir, 'busy');
    const store = await openStore({ stateDir }, silentLogger);
    const now = Date.now();
    await store.enqueue(
      [
        { network: 'irc', room: '#qq', key: 'k1', payload: payload('one') },
        { network: 'irc', room: '#qq', key: 'k2', payload: payload('two') },
        { network: 'irc', room: '#qq', key: 'k3', payload: payload('three') },
      ],
      { now: now - 5 * 60_000 },
    );
    const [first] = await store.nextPending({ network: 'irc', room: '#qq' }, 1);
    await store.markAttemptFailed(first!.seq, { error: 'IRC is not connected', nextAttemptAt: now + 1000 }, now);
    await store.enqueue([{ network: 'matrix', room: '!r:hs', key: 'k5', payload: payload('five') }], { now: now - 1000 });
    const [mx] = await store.nextPending({ network: 'matrix', room: '!r:hs' }, 1);
    await store.markAttemptFailed(mx!.seq, { error: 'PUT https://hs/_matrix/send?access_token=syt_STATUSSECRET: 502', nextAttemptAt: now + 1000 }, now);
    await store.enqueue([{ network: 'telegram', room: '-100', key: 'k4', payload: payload('four') }], { now: now - 2000 });
    const [tg] = await store.nextPending({ network: 'telegram', room: '-100' }, 1);
    await store.markFailed(tg!.seq, 'telegram: 400 Bad Request: chat not found', now);
    await store.putLink({ id: 'matrix:!room:hs', link: { rooms: [{ network: 'qq', room: 'group:5' }, { network: 'matrix', room: '!room:hs' }] } });
    await store.close();
    fs.mkdirSync(path.join(stateDir, 'qq'), { recursive: true });
    fs.writeFileSync(path.join(stateDir, 'qq', 'session.json'), JSON.stringify({ savedAt: new Date(now - 3 * 3600_000).toISOString(), ptwebqq: 'SECRET-ptwebqq' }));

    const r = cli(['status', '--config', writeConfig(stateDir)]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = r.stdout;
    expect(out).toContain('Outbox: 4 message(s) waiting');
    expect(out).toMatch(/^matrix\s+!r:hs\s+1\s+\d+s\s+1\s+PUT https:\/\/hs\/_matrix\/send\?access_token=\[redacted\]/m);
    expect(out).toMatch(/^irc\s+#qq\s+3\s+5m \d+s\s+1\s+IRC is not connected$/m);
    expect(out).toContain('Failed (given up on): 1');
    expect(out).toMatch(/^\d+\s+telegram\s+-100\s+\d+s\s+telegram: 400 Bad Request: chat not found$/m);
    expect(out).toMatch(/^config \S+:10:\d+\s+qq:group:346167134, irc:#qq$/m);
    expect(out).toMatch(/^runtime matrix:!room:hs\s+qq:group:5, matrix:!room:hs$/m);
    expect(out).toMatch(/QQ session: saved 3h 0m ago/);
    expect(out).not.toContain('SECRET'); // neither the session's tokens nor the one quoted in an error
  });

  it('says plainly when there is no store yet', () => {
    const r = cli(['status', '--config', writeConfig(path.join(dir, 'never-ran'))]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('no store at');
    expect(fs.existsSync(path.join(dir, 'never-ran', 'qqbridge.sqlite'))).toBe(false); // and none was made
  });
});
