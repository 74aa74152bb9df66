import { mkdtemp, readFile, rm, stat, writeFile, chmod, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../src/log.js';
import { CorruptSessionError, SessionStore, sessionFromStored } from '../../../../src/connectors/qq/webqq/session-store.js';
import type { Session } from '../../../../src/connectors/qq/webqq/auth.js';

let dir: string;
beforeEach(async () => { dir = await mkdtemp(path.join(os.tmpdir(), 'qq-store-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

const session: Session = {
  era: 'qrcode', uin: 2769546520, clientid: 53999199, ptwebqq: 'a'.repeat(64), vfwebqq: 'b'.repeat(80), psessionid: '8368abcd', nick: 'qqbot',
};

describe('SessionStore', () => {
  it('saves to <stateDir>/session.json with mode 0600 in a 0700 directory and loads it back', async () => {
    const stateDir = path.join(dir, 'state', 'qq');
    const store = new SessionStore(stateDir, silentLogger);
    await store.save(session, { cookies: [{ key: 'ptwebqq' }] }, 'O');
    const st = await stat(path.join(stateDir, 'session.json'));
    expect(st.mode & 0o777).toBe(0o600);
    expect((await stat(stateDir)).mode & 0o777).toBe(0o700);
    const loaded = await store.load();
    expect(loaded?.hashVersion).toBe('O');
    expect(loaded?.jar).toEqual({ cookies: [{ key: 'ptwebqq' }] });
    expect(sessionFromStored(loaded!)).toEqual(session);
    expect(Date.parse(loaded!.savedAt)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('tightens an existing world-readable session file to 0600', async () => {
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, 'session.json');
    await writeFile(file, '{}');
    await chmod(file, 0o644);
    await new SessionStore(dir).save(session, null);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8')).psessionid).toBe('8368abcd');
  });

  it('returns undefined when there is no session file', async () => {
    expect(await new SessionStore(path.join(dir, 'nope')).load()).toBeUndefined();
  });

  it('reports a corrupt file clearly, and loadOrWarn ignores it with a warning', async () => {
    await writeFile(path.join(dir, 'session.json'), '{"uin": 1, "era": "pass');
    const store = new SessionStore(dir);
    await expect(store.load()).rejects.toBeInstanceOf(CorruptSessionError);
    await expect(store.load()).rejects.toThrow(/session\.json is unreadable \(not JSON/);
    await writeFile(path.join(dir, 'session.json'), JSON.stringify({ uin: 1, era: 'carrier-pigeon' }));
    await expect(store.load()).rejects.toThrow(/unreadable \((era|clientid)/);
    const warnings: string[] = [];
    const log = { ...silentLogger, warn: (_o: unknown, m: string) => { warnings.push(m); } } as unknown as typeof silentLogger;
    expect(await new SessionStore(dir, log).loadOrWarn()).toBeUndefined();
    expect(warnings[0]).toMatch(/will be ignored/);
  });

  it('clear() removes the file', async () => {
    const store = new SessionStore(dir);
    await store.save(session, null);
    await store.clear();
    expect(await store.load()).toBeUndefined();
  });
});
