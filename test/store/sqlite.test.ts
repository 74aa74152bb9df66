import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { StoreError } from '../../src/store/errors.js';
import { openStore, SQLITE_FILE } from '../../src/store/store.js';
import { storeSuite } from './store-suite.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-store-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

let n = 0;
let current = '';
storeSuite('sqlite', () => ({
  open() {
    current = path.join(root, `s${++n}`);
    return openStore({ stateDir: current }, silentLogger);
  },
  reopen() {
    return openStore({ stateDir: current }, silentLogger);
  },
}));

describe('sqlite file', () => {
  it('is created with mode 0600 in WAL mode inside a new state dir', async () => {
    const dir = path.join(root, 'fresh', 'state');
    const s = await openStore({ stateDir: dir }, silentLogger);
    await s.kvSet('a', 'b');
    const file = path.join(dir, SQLITE_FILE);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.existsSync(`${file}-wal`)).toBe(true);
    expect(s.location).toBe(file);
    await s.close();
  });

  it('a file that is not a database gives a clear StoreError', async () => {
    const dir = path.join(root, 'garbage');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, SQLITE_FILE), 'this is not sqlite '.repeat(100));
    const err = await openStore({ stateDir: dir }, silentLogger).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).toMatch(/qqbridge\.sqlite: database file is corrupt or not a SQLite database/);
  });

  it('a state dir that cannot be created gives a clear StoreError', async () => {
    const file = path.join(root, 'plainfile');
    fs.writeFileSync(file, 'x');
    await expect(openStore({ stateDir: path.join(file, 'sub') }, silentLogger)).rejects.toThrow(/cannot create state directory .*plainfile\/sub/);
  });
});
