import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { StoreError } from '../../src/store/errors.js';
import { openStore } from '../../src/store/store.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { storeSuite } from './store-suite.js';

let pgServer: TestPostgres;
const dbUrls: string[] = [];
beforeAll(async () => {
  pgServer = await startPostgres();
  // Fresh databases are made up front: the suite's open() is called synchronously per test.
  for (let i = 0; i < 12; i++) dbUrls.push(await pgServer.createDatabase());
});
afterAll(async () => {
  await pgServer?.stop();
});

let current = '';
storeSuite('postgres', () => ({
  open() {
    const url = dbUrls.shift();
    if (!url) throw new Error('test harness: out of fresh databases');
    current = url;
    return openStore({ url, stateDir: '/nonexistent' }, silentLogger);
  },
  reopen() {
    return openStore({ url: current, stateDir: '/nonexistent' }, silentLogger);
  },
}));

describe('postgres failures', () => {
  it('a server that is down gives a StoreError naming the server, without the password', async () => {
    const url = `postgres://bridge:s3cret@127.0.0.1:${pgServer.port + 1}/none`;
    const err = await openStore({ url, stateDir: '/x' }, silentLogger).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).toMatch(/PostgreSQL store postgres:\/\/bridge:\[redacted\]@127\.0\.0\.1:\d+\/none: server not reachable/);
    expect((err as Error).message).not.toContain('s3cret');
  });

  it('a server that goes down mid-run makes writes fail with StoreError, and works again once it is back', async () => {
    const url = await pgServer.createDatabase('downtest');
    const s = await openStore({ url, stateDir: '/x' }, silentLogger);
    try {
      await s.kvSet('a', '1');
      await pgServer.stopServer();
      const err = await s.enqueue([{ network: 'irc', room: '#a', key: 'k', payload: {} }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect((err as Error).message).toMatch(/PostgreSQL store .*downtest/);
      await pgServer.startServer();
      await s.kvSet('a', '2');
      expect(await s.kvGet('a')).toBe('2');
    } finally {
      await s.close();
    }
  });
});
