/**
 * Delivered-marks ride on the next write (issue 12, latency): a target that sent everything
 * queued keeps its last marks for `markIdleMs`; a message arriving meanwhile writes them in its own
 * intake transaction, so a steady trickle costs one SQLite commit (one fsync) per message instead
 * of two, and no commit of our own stands between a new message and its send. The marks are
 * still committed when the room goes quiet, and on a stop, so nothing delivered is sent again.
 *
 * Commits are counted on the real database: the WAL index (`-shm`) keeps a counter that SQLite
 * increments once per write transaction (`iChange`, bytes 8–11 of its header, native order).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Relay } from '../../src/core/relay.js';
import { StaticRoutes } from '../../src/core/routes.js';
import { silentLogger } from '../../src/log.js';
import { openStore, type Store } from '../../src/store/store.js';
import { LoopbackConnector } from '../support/loopback.js';
import { waitFor } from '../support/wait.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-marks-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const commits = (store: Store) => fs.readFileSync(`${store.location}-shm`).readUInt32LE(8);

async function run(sub: string, markIdleMs: number) {
  const store = await openStore({ stateDir: path.join(dir, sub) }, silentLogger);
  const src = new LoopbackConnector('src');
  const dst = new LoopbackConnector('dst');
  const relay = new Relay({
    store,
    routes: new StaticRoutes([[{ network: 'src', room: 'a' }, { network: 'dst', room: 'b' }]]),
    log: silentLogger,
    outbox: { markIdleMs },
    pruneIntervalMs: 0,
  });
  relay.register(src);
  relay.register(dst);
  await relay.start();
  return { store, relay, src, dst };
}

describe('delivered-marks share the next message\'s commit', () => {
  it('one message at a time, each after the last was shown: one commit per message, all shown once, in order', async () => {
    // An idle wait far longer than the test: every mark can only be written by a later message's commit.
    const { store, relay, src, dst } = await run('trickle', 60_000);
    await src.inject('a', { id: 'w', text: 'warm-up' });
    await waitFor(() => dst.remote.texts('b').length === 1, 'warm-up shown');
    const N = 30;
    const before = commits(store);
    for (let i = 0; i < N; i++) {
      await src.inject('a', { id: `k${i}`, text: `m${i}` });
      await waitFor(() => dst.remote.texts('b').length === i + 2, `m${i} shown`);
    }
    const used = commits(store) - before;
    // Each message: its intake write, carrying the marks of the one before. Two each without it.
    expect(used).toBe(N);
    expect(dst.remote.texts('b')).toEqual(['warm-up', ...Array.from({ length: N }, (_, i) => `m${i}`)]);
    // The warm-up and the first N - 1 are recorded as delivered; the last one's mark is still waiting.
    expect((await store.pendingDepths()).map((d) => d.depth)).toEqual([1]);
    await relay.stop();
    // Stopping writes it: nothing delivered is left to be sent again.
    expect(await store.pendingDepths()).toEqual([]);
    await store.close();
  });

  it('while its mark waits, a message just delivered is already known: its echo is dropped and a reply to it maps', async () => {
    const { store, relay, src, dst } = await run('lookups', 60_000);
    await src.inject('a', { id: 'o1', text: 'original' });
    await waitFor(() => dst.remote.texts('b').length === 1, 'shown');
    const sent = dst.remote.sent('b')[0]!;
    // Not committed yet (the idle wait is a minute)…
    expect((await store.pendingDepths()).map((d) => d.depth)).toEqual([1]);
    // …yet the network's echo of it is recognised as the bridge's own output…
    expect(await relay.receive('dst', dst.message('b', { id: sent.remoteId, text: 'original' }))).toEqual({ status: 'loop' });
    // …and the connector maps its remote id both ways.
    const ctx = relay.contextFor(dst);
    expect(await ctx.sourceIdFor('b', sent.remoteId)).toBe('src:a:o1');
    expect(await ctx.remoteIdsFor('src:a:o1', 'b')).toEqual([sent.remoteId]);
    await relay.stop();
    // Committed on stop, the store answers the same.
    expect(await store.lookupRemote({ network: 'dst', room: 'b' }, sent.remoteId)).toMatchObject({ sourceId: 'src:a:o1', role: 'delivered' });
    expect(src.remote.texts('a')).toEqual([]);
    await store.close();
  });

  it('a room that goes quiet gets its last mark committed on its own after markIdleMs', async () => {
    const { store, relay, src, dst } = await run('quiet', 20);
    await src.inject('a', { id: 'q1', text: 'only one' });
    await waitFor(() => dst.remote.texts('b').length === 1, 'shown');
    await waitFor(async () => (await store.pendingDepths()).length === 0, 'its mark committed while the relay runs');
    await relay.stop();
    await store.close();
    // A restart finds nothing to resend.
    const again = await run('quiet', 20);
    await new Promise((r) => setTimeout(r, 100));
    expect(again.dst.remote.texts('b')).toEqual([]);
    await again.relay.stop();
    await again.store.close();
  });
});
