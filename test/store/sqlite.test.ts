import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { StoreError } from '../../src/store/errors.js';
import { SQLITE_WAL_LIMIT_BYTES } from '../../src/store/sqlite.js';
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

  it('a large prune does not leave the -wal file at its high-water mark on disk', async () => {
    const dir = path.join(root, 'walcap');
    const s = await openStore({ stateDir: dir }, silentLogger);
    const wal = `${path.join(dir, SQLITE_FILE)}-wal`;
    // ~16 MB of delivered rows, then one prune deleting them all in a single transaction.
    const text = 'x'.repeat(2000);
    for (let b = 0; b < 8; b++) {
      await s.enqueue(Array.from({ length: 1000 }, (_, i) => ({ network: 'irc', room: '#c', key: `m${b}-${i}`, payload: { text } })));
    }
    const items = await s.nextPending({ network: 'irc', room: '#c' }, 10_000);
    expect(items).toHaveLength(8000);
    await Promise.all(items.map((it) => s.markDelivered(it.seq, { sourceId: it.key, remoteIds: [], network: 'irc', room: '#c' }, 1000)));
    expect(await s.pruneOutbox(2000)).toBe(8000);
    // That transaction alone logged more than the limit (without the limit the -wal file stays at ~33 MB).
    expect(fs.statSync(wal).size).toBeLessThanOrEqual(SQLITE_WAL_LIMIT_BYTES);
    for (let i = 0; i < 20; i++) await s.kvSet(`k${i}`, 'v'.repeat(4000));
    expect(fs.statSync(wal).size).toBeLessThanOrEqual(SQLITE_WAL_LIMIT_BYTES);
    expect(await s.kvGet('k19')).toBe('v'.repeat(4000));
    await s.close();
  });
});
