/**
 * The store going away under a running relay (issue 15): real PostgreSQL, stopped as a routine
 * restart does (`pg_ctl -m fast`). Input pauses and is held in memory, the store is retried with
 * backoff, and everything held is written, in order, once it answers: no restart, no loss, no
 * duplicate. Past the hold bound the oldest are dropped and counted; past the exit bound the
 * relay gives up so the bridge can exit non-zero.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeldMessageDroppedError, InputPausedError } from '../../src/core/intake.js';
import { Relay, type HoldOptions } from '../../src/core/relay.js';
import { StaticRoutes } from '../../src/core/routes.js';
import type { StoreStatus } from '../../src/core/store-gate.js';
import { silentLogger } from '../../src/log.js';
import { healthReport } from '../../src/ops/health.js';
import { StoreError } from '../../src/store/errors.js';
import { openStore } from '../../src/store/store.js';
import { LoopbackConnector, LoopbackNetwork } from '../support/loopback.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { waitFor } from '../support/wait.js';

let pgServer: TestPostgres;
beforeAll(async () => {
  pgServer = await startPostgres();
});
afterAll(async () => {
  await pgServer?.stop();
});

const QQ = { network: 'qq', room: 'group:1' };
const IRC = { network: 'irc', room: '#a' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The outage of the first scenario; `QQBRIDGE_STORE_OUTAGE_MS=120000` runs the 2-minute one. */
const OUTAGE_MS = Number(process.env.QQBRIDGE_STORE_OUTAGE_MS ?? 10_000);

async function make(url: string, hold: HoldOptions = {}) {
  const store = await openStore({ url, stateDir: '/unused' }, silentLogger);
  const remotes = { qq: new LoopbackNetwork(), irc: new LoopbackNetwork() };
  const qq = new LoopbackConnector('qq', { remote: remotes.qq });
  const irc = new LoopbackConnector('irc', { remote: remotes.irc });
  const states: StoreStatus[] = [];
  const dropped: number[] = [];
  const giveUps: StoreError[] = [];
  const relay = new Relay({
    store,
    routes: new StaticRoutes([[QQ, IRC]]),
    log: silentLogger,
    hold: { retryMinMs: 50, retryMaxMs: 500, ...hold },
    onStoreState: (s) => states.push(s),
    onHeldDropped: (n) => dropped.push(n),
    onStoreGiveUp: (e) => giveUps.push(e),
    outbox: { connectPollMs: 10, baseBackoffMs: 10, maxBackoffMs: 50 },
    pruneIntervalMs: 0,
  });
  relay.register(qq);
  relay.register(irc);
  await relay.start();
  return { store, qq, irc, remotes, relay, states, dropped, giveUps };
}

describe('Relay on PostgreSQL when the store goes away: pause, hold, resume', () => {
  it(`PostgreSQL stopped for ${OUTAGE_MS / 1000} s while both directions flow: every message arrives once, in order, with no restart`, async () => {
    const b = await make(await pgServer.createDatabase());
    const settled: Array<Promise<unknown>> = [];
    let n = 0;
    let flowing = true;
    // Both directions, one message every 100 ms each, handed over without waiting (as IRC does).
    const traffic = (async () => {
      while (flowing) {
        n++;
        settled.push(b.qq.inject(QQ.room, { id: `q${n}`, text: `qq ${n}` }));
        settled.push(b.irc.inject(IRC.room, { id: `i${n}`, text: `irc ${n}` }));
        await sleep(100);
      }
    })();
    await sleep(500);
    await pgServer.stopServer();
    await waitFor(() => b.relay.storeStatus().state === 'unavailable', 'the relay to see the store go', 5_000);
    await sleep(OUTAGE_MS);
    const status = b.relay.storeStatus();
    expect(status.held).toBeGreaterThan(50);
    expect(status.error).toMatch(/PostgreSQL store/);
    const heldAtReturn = status.held;
    // /health names the store, and says since when and how much is held.
    const health = healthReport([{ network: 'qq', connected: true }], [], status);
    expect(health.status).toBe('not ready');
    expect(health.problems[0]).toMatch(new RegExp(`^store: unavailable since \\d{4}-.*Z, ${status.held} messages held \\(PostgreSQL store`));
    const back = Date.now();
    await pgServer.startServer();
    await waitFor(() => b.relay.storeStatus().state === 'available', 'the store to be back', 30_000);
    const recoveryMs = Date.now() - back;
    flowing = false;
    await traffic;
    const results = await Promise.allSettled(settled);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const want = (prefix: string) => Array.from({ length: n }, (_, i) => `${prefix} ${i + 1}`);
    await waitFor(() => b.remotes.irc.sent(IRC.room).length >= n && b.remotes.qq.sent(QQ.room).length >= n, 'everything delivered', 30_000);
    await sleep(200);
    expect(b.remotes.irc.texts(IRC.room)).toEqual(want('qq'));
    expect(b.remotes.qq.texts(QQ.room)).toEqual(want('irc'));
    expect(b.states.map((s) => s.state)).toEqual(['unavailable', 'available']);
    expect(b.states[0]!.error).toMatch(/PostgreSQL store/);
    expect(b.dropped).toEqual([]);
    console.log(`store outage of ${OUTAGE_MS / 1000} s: ${heldAtReturn} messages held, store available again ${recoveryMs} ms after PostgreSQL started`);

    // And afterwards, without help, both ways still flow.
    await b.qq.inject(QQ.room, { id: 'after', text: 'after' });
    await b.irc.inject(IRC.room, { id: 'after', text: 'after too' });
    await waitFor(() => b.remotes.irc.texts(IRC.room).at(-1) === 'after' && b.remotes.qq.texts(QQ.room).at(-1) === 'after too', 'both ways after the outage');
    await b.relay.stop();
    await b.store.close();
  }, OUTAGE_MS + 80_000);

  it('a full hold buffer drops the oldest held messages, counted exactly; a source that holds its own is refused', async () => {
    const b = await make(await pgServer.createDatabase(), { maxMessages: 5 });
    await pgServer.stopServer();
    try {
      // The first write finds the store gone; from then on input is paused.
      const first = b.irc.inject(IRC.room, { id: 0, text: 'irc 0' });
      await waitFor(() => b.relay.storeStatus().state === 'unavailable', 'the store to be seen unavailable', 10_000);
      const rest = Array.from({ length: 7 }, (_, i) => b.irc.inject(IRC.room, { id: i + 1, text: `irc ${i + 1}` }));
      const outcomes = await Promise.allSettled([first, ...rest].slice(0, 3));
      expect(outcomes.every((o) => o.status === 'rejected' && o.reason instanceof HeldMessageDroppedError)).toBe(true);
      expect(b.dropped.reduce((a, c) => a + c, 0)).toBe(3);
      expect(b.relay.storeStatus()).toMatchObject({ state: 'unavailable', held: 5, dropped: 3 });
      // A push that its sender keeps until taken (Matrix, a Telegram webhook) is refused, not held.
      await expect(b.relay.receive('qq', b.qq.message(QQ.room, { id: 'push', text: 'push' }), { hold: false })).rejects.toBeInstanceOf(InputPausedError);
      await pgServer.startServer();
      await Promise.all(rest.slice(2));
    } finally {
      await pgServer.startServer().catch(() => undefined);
    }
    await waitFor(() => b.remotes.qq.sent(QQ.room).length === 5, 'the five held messages');
    expect(b.remotes.qq.texts(QQ.room)).toEqual(['irc 3', 'irc 4', 'irc 5', 'irc 6', 'irc 7']);
    await b.relay.stop();
    await b.store.close();
  }, 60_000);

  it('past the exit bound the relay gives up (the bridge exits non-zero); stopping then refuses what was held', async () => {
    const b = await make(await pgServer.createDatabase(), { exitAfterMs: 1_500 });
    // Timed from before the stop: the pool may notice the server going away while pg_ctl still
    // waits for it, so the outage can start before stopServer() returns (a loaded machine).
    const t0 = Date.now();
    await pgServer.stopServer();
    try {
      const held = b.qq.inject(QQ.room, { id: 1, text: 'held' });
      await waitFor(() => b.giveUps.length === 1, 'the relay to give up', 10_000);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1_000);
      expect(b.giveUps[0]).toBeInstanceOf(StoreError);
      await b.relay.stop();
      await expect(held).rejects.toThrow(/store was unavailable; message not written/);
    } finally {
      await pgServer.startServer();
    }
    await b.store.close();
  }, 30_000);
});
