/**
 * How a homeserver reaches the bridge: both path families (legacy `/transactions/...` of Synapse
 * before 1.81, and `/_matrix/app/v1/...`), both token forms, and transaction ids that start again
 * at 1 after a homeserver restart. The Synapse suite (test/connectors/matrix/synapse/) checks the
 * same against a real homeserver.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BOB, GROUP, cleanup, ghost, removeRoot, setup, waitFor } from './harness.js';

afterEach(cleanup);
afterAll(removeRoot);

async function call(url: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { redirect: 'manual', ...init });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

describe('Matrix push paths', () => {
  it('a homeserver on the legacy paths with ?access_token= delivers invites, messages and alias queries', async () => {
    // setup() waits for the bot to accept an invitation, which arrives as a legacy transaction.
    const b = await setup({ pushPaths: 'legacy', portals: true, groups: { 654321: { name: 'Lobby' } } });
    b.hs.sendAs(BOB, b.room, { msgtype: 'm.text', body: 'over the legacy path' });
    await waitFor(() => b.qq.remote.sent(GROUP).length === 1, 'delivery to QQ');
    expect(b.qq.remote.texts(GROUP)).toEqual(['over the legacy path']);
    expect(b.hs.pushed.every((p) => p.status === 200)).toBe(true);
    const portal = await b.hs.resolveAlias('#qq_654321:test.hs');
    expect(portal).toBeDefined();
    expect(b.hs.rooms.get(portal!)?.members.get(b.hs.botUserId)).toBe('join');
  });

  it('every path, legacy or v1, takes the hs_token from the query or the header and refuses any other', async () => {
    const b = await setup();
    const base = `http://127.0.0.1:${b.matrix.port}`;
    const good = b.reg.hs_token;
    const user = encodeURIComponent(ghost('10001'));
    const put = (body: unknown): RequestInit => ({ method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    for (const prefix of ['', '/_matrix/app/v1']) {
      // A user query for a ghost registers it; a wrong or missing token is 403 and does nothing.
      expect((await call(`${base}${prefix}/users/${user}?access_token=wrong`)).status).toBe(403);
      expect((await call(`${base}${prefix}/users/${user}`)).status).toBe(403);
      expect((await call(`${base}${prefix}/users/${user}`, { headers: { Authorization: 'Bearer wrong' } })).status).toBe(403);
      expect((await call(`${base}${prefix}/users/${user}?access_token=${good}`)).status).toBe(200);
      expect((await call(`${base}${prefix}/users/${user}`, { headers: { Authorization: `Bearer ${good}` } })).status).toBe(200);
      // Transactions: refused with a wrong token in either place, taken with the right one.
      const ev = (n: string) => ({ event_id: `$${prefix ? 'v1' : 'legacy'}-${n}`, room_id: b.room, sender: BOB, type: 'm.room.message', origin_server_ts: Date.now(), content: { msgtype: 'm.text', body: `${prefix || 'legacy'} ${n}` } });
      const bad1 = await call(`${base}${prefix}/transactions/x?access_token=wrong`, put({ events: [ev('forged-q')] }));
      const bad2 = await call(`${base}${prefix}/transactions/x`, { ...put({ events: [ev('forged-h')] }), headers: { 'Content-Type': 'application/json', Authorization: 'Bearer wrong' } });
      expect([bad1.status, bad2.status]).toEqual([403, 403]);
      expect(bad1.body).toMatchObject({ errcode: 'M_FORBIDDEN' });
      expect((await call(`${base}${prefix}/transactions/q?access_token=${good}`, put({ events: [ev('query')] }))).status).toBe(200);
      expect((await call(`${base}${prefix}/transactions/h`, { ...put({ events: [ev('header')] }), headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${good}` } })).status).toBe(200);
      // Alias queries: a wrong token is 403 before anything else is looked at.
      expect((await call(`${base}${prefix}/rooms/${encodeURIComponent('#qq_1:test.hs')}?access_token=wrong`)).status).toBe(403);
    }
    await waitFor(() => b.qq.remote.sent(GROUP).length === 4, 'four deliveries');
    expect(b.qq.remote.texts(GROUP)).toEqual(['legacy query', 'legacy header', '/_matrix/app/v1 query', '/_matrix/app/v1 header']);
    expect(b.hs.users.has(ghost('10001'))).toBe(true);
  });

  it('transaction ids starting again at 1 after each homeserver restart lose nothing; replayed events are dropped by id', async () => {
    const b = await setup({ pushPaths: 'legacy' });
    b.hs.sendAs(BOB, b.room, { msgtype: 'm.text', body: 'before' });
    await waitFor(() => b.qq.remote.sent(GROUP).length === 1, 'first');
    await b.hs.settled();
    // Two restarts with one transaction between them: both new transactions are "1".
    b.hs.restartTransactionIds();
    b.hs.sendAs(BOB, b.room, { msgtype: 'm.text', body: 'after one restart' });
    await waitFor(() => b.qq.remote.sent(GROUP).length === 2, 'second');
    await b.hs.settled();
    b.hs.restartTransactionIds();
    b.hs.sendAs(BOB, b.room, { msgtype: 'm.text', body: 'after two restarts' });
    await b.hs.settled();
    expect(b.hs.pushed.slice(-2).map((p) => [p.txnId, p.status])).toEqual([['1', 200], ['1', 200]]);
    await waitFor(() => b.qq.remote.sent(GROUP).length === 3, 'third');
    // A replay of old events under a fresh id is taken once only.
    expect(await b.hs.pushTransaction(b.hs.messages(b.room).slice(0, 2))).toBe(200);
    await new Promise((r) => setTimeout(r, 100));
    expect(b.qq.remote.texts(GROUP)).toEqual(['before', 'after one restart', 'after two restarts']);
  });
});
