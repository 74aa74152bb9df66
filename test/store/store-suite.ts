/**
 * One behaviour suite for every Store implementation; sqlite.test.ts and postgres.test.ts run it
 * against a real SQLite file and a real PostgreSQL server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/store.js';

export interface StoreHarness {
  /** A store on a fresh, empty database. */
  open(): Promise<Store>;
  /** The same database opened again (a restart). */
  reopen(): Promise<Store>;
}

export function storeSuite(name: string, harness: () => StoreHarness): void {
  describe(`${name} store`, () => {
    const opened: Store[] = [];
    const open = async () => {
      const s = await harness().open();
      opened.push(s);
      return s;
    };
    const reopen = async () => {
      const s = await harness().reopen();
      opened.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close().catch(() => undefined);
    });

    const irc = { network: 'irc', room: '#a' };
    const tg = { network: 'telegram', room: '-100' };

    it('migrates once: reopening applies nothing and keeps data', async () => {
      const s = await open();
      expect(await s.schemaVersions()).toEqual([1, 2, 3]);
      await s.kvSet('qq.sessionAge', '42');
      await s.close();
      const again = await reopen();
      expect(await again.schemaVersions()).toEqual([1, 2, 3]);
      expect(await again.kvGet('qq.sessionAge')).toBe('42');
    });

    it('enqueue is idempotent and keeps per-target seq order', async () => {
      const s = await open();
      const r1 = await s.enqueue([
        { ...irc, key: 'm1>irc', payload: { n: 1 } },
        { ...tg, key: 'm1>tg', payload: { n: 1 } },
        { ...irc, key: 'm2>irc', payload: { n: 2 } },
      ]);
      expect(r1.inserted).toBe(3);
      const r2 = await s.enqueue([{ ...irc, key: 'm1>irc', payload: { n: 999 } }]);
      expect(r2.inserted).toBe(0);
      const items = await s.nextPending(irc, 10);
      expect(items.map((i) => i.payload)).toEqual([{ n: 1 }, { n: 2 }]);
      expect(items[0]!.seq).toBeLessThan(items[1]!.seq);
      expect(items[0]).toMatchObject({ state: 'pending', attempts: 0, key: 'm1>irc', network: 'irc', room: '#a' });
      expect(await s.nextPending(tg, 10)).toHaveLength(1);
    });

    it('enqueue claims dedupe and records the origin in the same transaction', async () => {
      const s = await open();
      const origin = { sourceId: 'qq:g1:7', network: 'qq', room: 'g1', remoteId: '7', summary: { nick: 'bob', text: 'hi' } };
      const a = await s.enqueue([{ ...irc, key: 'qq:g1:7>irc', payload: {} }], { dedupe: { network: 'qq', key: 'qq:g1:7' }, origin });
      expect(a).toEqual({ inserted: 1, firstSeen: true });
      const b = await s.enqueue([{ ...irc, key: 'qq:g1:7>irc', payload: {} }], { dedupe: { network: 'qq', key: 'qq:g1:7' }, origin });
      expect(b).toEqual({ inserted: 0, firstSeen: false });
      expect(await s.hasSeen('qq', 'qq:g1:7')).toBe(true);
      expect(await s.getOrigin('qq:g1:7')).toEqual(origin);
      expect(await s.lookupRemote({ network: 'qq', room: 'g1' }, '7')).toMatchObject({ sourceId: 'qq:g1:7', role: 'origin' });
    });

    it('markDelivered stores remote ids in order; failures count attempts', async () => {
      const s = await open();
      await s.enqueue([
        { ...irc, key: 'k1', payload: {} },
        { ...irc, key: 'k2', payload: {} },
        { ...irc, key: 'k3', payload: {} },
      ]);
      const [a, b, c] = await s.nextPending(irc, 10);
      await s.markDelivered(a!.seq, { sourceId: 'src:1', ...irc, remoteIds: ['x2', 'x1'] });
      expect(await s.remoteIds('src:1', irc)).toEqual(['x2', 'x1']);
      expect(await s.lookupRemote(irc, 'x1')).toMatchObject({ sourceId: 'src:1', role: 'delivered' });
      expect(await s.lookupRemote(tg, 'x1')).toBeUndefined();

      await s.markAttemptFailed(b!.seq, { error: '503 busy', nextAttemptAt: 12345 });
      await s.markAttemptFailed(b!.seq, { error: '503 again', nextAttemptAt: 23456 });
      expect(await s.getOutboxItem(b!.seq)).toMatchObject({ state: 'pending', attempts: 2, nextAttemptAt: 23456, lastError: '503 again', sentIds: [] });
      // Pieces of a split message an attempt got out are kept, durably, for the next attempt.
      await s.markAttemptFailed(b!.seq, { error: 'piece 3 failed', nextAttemptAt: 34567, sentIds: ['p1', 'p2'] });
      expect((await s.nextPending(irc, 10)).find((i) => i.seq === b!.seq)?.sentIds).toEqual(['p1', 'p2']);
      // …and between the pieces of a send in progress, without counting an attempt.
      await s.recordSentIds(b!.seq, ['p1', 'p2', 'p3']);
      expect(await s.getOutboxItem(b!.seq)).toMatchObject({ attempts: 3, sentIds: ['p1', 'p2', 'p3'] });

      // Which items one joined message carries is durable, so a retry after a restart joins the same.
      expect((await s.getOutboxItem(c!.seq))?.carries).toBeUndefined();
      await s.markCarries(b!.seq, [b!.seq, c!.seq]);
      expect((await s.nextPending(irc, 10)).find((i) => i.seq === b!.seq)?.carries).toEqual([b!.seq, c!.seq]);

      await s.markFailed(c!.seq, 'message too long');
      expect(await s.getOutboxItem(c!.seq)).toMatchObject({ state: 'failed', lastError: 'message too long' });

      const pending = await s.nextPending(irc, 10);
      expect(pending.map((i) => i.key)).toEqual(['k2']);
    });

    it('reports depth and oldest age per target and the targets with pending items', async () => {
      const s = await open();
      await s.enqueue([{ ...irc, key: 'a', payload: {} }], { now: 1000 });
      await s.enqueue([{ ...irc, key: 'b', payload: {} }, { ...tg, key: 'c', payload: {} }], { now: 2000 });
      expect(await s.pendingDepths()).toEqual([
        { ...irc, depth: 2, oldestCreatedAt: 1000 },
        { ...tg, depth: 1, oldestCreatedAt: 2000 },
      ]);
      const [c] = await s.nextPending(tg, 1);
      await s.markDelivered(c!.seq, { sourceId: 's', ...tg, remoteIds: [] }, 3000);
      expect(await s.pendingTargets()).toEqual([irc]);
      expect(await s.pruneOutbox(3001)).toBe(1);
      expect(await s.getOutboxItem(c!.seq)).toBeUndefined();
    });

    it('claimDedupe is true the first time only, and survives a reopen; prune by age', async () => {
      const s = await open();
      expect(await s.claimDedupe('qq', 'm1', 100)).toBe(true);
      expect(await s.claimDedupe('qq', 'm1', 200)).toBe(false);
      expect(await s.claimDedupe('irc', 'm1', 200)).toBe(true);
      await s.close();
      const s2 = await reopen();
      expect(await s2.claimDedupe('qq', 'm1')).toBe(false);
      expect(await s2.pruneDedupe(150)).toBe(1);
      expect(await s2.claimDedupe('qq', 'm1')).toBe(true);
    });

    it('links CRUD keeps the link JSON', async () => {
      const s = await open();
      const link = { qq: 'group:1', irc: '#x', options: { relayJoins: false } };
      await s.putLink({ id: 'l1', link, createdBy: '@admin:hs' }, 10);
      await s.putLink({ id: 'l2', link: { qq: 'group:2' } }, 20);
      expect(await s.getLink('l1')).toEqual({ id: 'l1', link, createdBy: '@admin:hs', createdAt: 10 });
      expect((await s.listLinks()).map((l) => l.id)).toEqual(['l1', 'l2']);
      await s.putLink({ id: 'l1', link: { qq: 'group:9' }, createdBy: 'cli' }, 30);
      expect(await s.getLink('l1')).toMatchObject({ link: { qq: 'group:9' }, createdBy: 'cli' });
      expect(await s.deleteLink('l1')).toBe(true);
      expect(await s.deleteLink('l1')).toBe(false);
      expect((await s.listLinks()).map((l) => l.id)).toEqual(['l2']);
    });

    it('ghosts keep a profile and per-room names', async () => {
      const s = await open();
      expect(await s.getGhost('@qq_1:hs')).toBeUndefined();
      await s.setGhostProfile('@qq_1:hs', { displayName: 'Alice', avatarUrl: 'mxc://hs/a' });
      await s.setGhostProfile('@qq_1:hs', { displayName: 'Alice B' }); // avatar kept
      await s.setGhostRoomName('@qq_1:hs', '!r1:hs', 'Alice (QQ)');
      await s.setGhostRoomName('@qq_2:hs', '!r1:hs', 'Bob (QQ)');
      expect(await s.getGhost('@qq_1:hs')).toEqual({
        userId: '@qq_1:hs',
        displayName: 'Alice B',
        avatarUrl: 'mxc://hs/a',
        roomNames: { '!r1:hs': 'Alice (QQ)' },
      });
      expect(await s.getGhost('@qq_2:hs')).toMatchObject({ displayName: undefined, roomNames: { '!r1:hs': 'Bob (QQ)' } });
      expect(await s.deleteGhost('@qq_1:hs')).toBe(true);
      expect(await s.getGhost('@qq_1:hs')).toBeUndefined();
    });

    it('kv get/set/delete', async () => {
      const s = await open();
      expect(await s.kvGet('x')).toBeUndefined();
      await s.kvSet('x', '1');
      await s.kvSet('x', '2');
      expect(await s.kvGet('x')).toBe('2');
      expect(await s.kvDelete('x')).toBe(true);
      expect(await s.kvGet('x')).toBeUndefined();
    });

    it('fails with a StoreError after close', async () => {
      const s = await open();
      await s.close();
      await expect(s.kvGet('x')).rejects.toMatchObject({ name: 'StoreError' });
    });
  });
}
