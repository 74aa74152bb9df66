/**
 * Connector.join through a real Relay and SQLite store: which queued items one message carries is
 * recorded before the send, so a retry sends exactly the same items together (never re-mixed with
 * what queued since), a rejected joined message is split so only a bad item is dropped, and every
 * carried item is marked delivered once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import type { Delivery } from '../../src/core/connector.js';
import { DeliveryError } from '../../src/core/errors.js';
import type { DeliveryFailure } from '../../src/core/outbox.js';
import { Relay } from '../../src/core/relay.js';
import { StaticRoutes } from '../../src/core/routes.js';
import { plainText } from '../../src/core/message.js';
import { silentLogger } from '../../src/log.js';
import { openStore, type Store } from '../../src/store/store.js';
import { LoopbackConnector } from '../support/loopback.js';
import { waitFor } from '../support/wait.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-join-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const SRC = { network: 'irc', room: '#a' };
const DST = { network: 'qq', room: 'group:1' };

/** A target that joins up to `most` queued messages into one (text lines), like the QQ adapter. */
class Joining extends LoopbackConnector {
  /** The lines of each joined send that went out, in order. */
  readonly joinedSends: string[][] = [];
  /** The lines each join attempt tried, failed ones included. */
  readonly attempts: string[][] = [];
  failJoins = 0;
  rejectJoins = 0;
  constructor(private readonly most: number) {
    super('qq');
  }
  readonly join = {
    plan: async (ds: readonly Delivery[]) => Math.min(ds.length, this.most),
    send: async (ds: readonly Delivery[]) => {
      const lines = ds.map((d) => plainText(d.message.parts));
      this.attempts.push(lines);
      if (this.failJoins > 0 && this.failJoins--) throw new DeliveryError('retryable', 'joined send timed out');
      if (this.rejectJoins > 0 && this.rejectJoins--) throw new DeliveryError('rejected', 'joined message refused');
      this.joinedSends.push(lines);
      return [`joined-${this.joinedSends.length}`];
    },
  };
}

const running: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s();
});

let n = 0;
async function setup(most: number) {
  const store: Store = await openStore({ stateDir: path.join(root, `s${++n}`) }, silentLogger);
  const src = new LoopbackConnector('irc');
  const dst = new Joining(most);
  const failures: DeliveryFailure[] = [];
  const relay = new Relay({ store, routes: new StaticRoutes([[SRC, DST]]), log: silentLogger, onFailure: (f) => failures.push(f), outbox: { baseBackoffMs: 30, maxBackoffMs: 60, connectPollMs: 10 } });
  relay.register(src);
  relay.register(dst);
  await relay.start();
  running.push(async () => {
    await relay.stop();
    await store.close();
  });
  const say = async (lines: string[]) => {
    for (const l of lines) await src.inject(SRC.room, { parts: [{ type: 'text', text: l }] });
  };
  const pending = async () => (await store.nextPending(DST, 1000)).length;
  return { store, src, dst, relay, failures, say, pending };
}

const lines = (prefix: string, k: number) => Array.from({ length: k }, (_, i) => `${prefix}${i}`);

it('a backlog goes in joined sends, in order, each item marked delivered once; the head maps to the remote id', async () => {
  const { dst, say, pending, store } = await setup(4);
  dst.online = false;
  await say(lines('m', 10));
  dst.online = true;
  await waitFor(async () => (await pending()) === 0, 'the queue drained', 5000);
  expect(dst.joinedSends).toEqual([['m0', 'm1', 'm2', 'm3'], ['m4', 'm5', 'm6', 'm7'], ['m8', 'm9']]);
  expect(dst.sendCalls).toBe(0);
  expect(await store.lookupRemote(DST, 'joined-1')).toMatchObject({ role: 'delivered' });
});

it('a joined send that fails is retried with exactly the same items, whatever queued meanwhile', async () => {
  const { dst, say, pending } = await setup(10);
  dst.online = false;
  await say(lines('a', 3));
  dst.failJoins = 1;
  dst.online = true;
  await waitFor(() => dst.attempts.length >= 1, 'the first attempt');
  await say(lines('b', 3));
  await waitFor(async () => (await pending()) === 0, 'the queue drained', 5000);
  expect(dst.attempts[0]).toEqual(['a0', 'a1', 'a2']);
  expect(dst.joinedSends).toEqual([['a0', 'a1', 'a2'], ['b0', 'b1', 'b2']]);
});

it('a joined message rejected as a whole is split: each item goes alone, nothing is dropped', async () => {
  const { dst, say, pending, failures } = await setup(10);
  dst.online = false;
  await say(lines('r', 3));
  dst.rejectJoins = 1;
  dst.online = true;
  await waitFor(async () => (await pending()) === 0, 'the queue drained', 5000);
  expect(dst.joinedSends).toEqual([]);
  expect(dst.remote.texts(DST.room)).toEqual(['r0', 'r1', 'r2']);
  expect(failures).toEqual([]);
});
