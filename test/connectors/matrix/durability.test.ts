/**
 * Nothing is lost on a crash: a transaction is acknowledged only once its events are durably
 * queued, and a transaction the bridge could not take is answered non-2xx so the homeserver
 * resends it.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SQLITE_FILE } from '../../../src/store/store.js';
import { BOB, DOMAIN, GROUP, cleanup, removeRoot, setup, waitFor } from './harness.js';

afterEach(cleanup);
afterAll(removeRoot);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Another process holds the SQLite write lock for `ms`; resolves once it holds it, with when it let go. */
async function holdWriteLock(file: string, ms: number): Promise<{ released: Promise<number> }> {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1]);
    db.exec('BEGIN IMMEDIATE');
    console.log('locked');
    setTimeout(() => { const t = Date.now(); db.exec('COMMIT'); db.close(); console.log('released ' + t); }, Number(process.argv[2]));
  `;
  const child = spawn(process.execPath, ['-e', script, file, String(ms)], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  let onLocked: () => void = () => undefined;
  let onReleased: (t: number) => void = () => undefined;
  const locked = new Promise<void>((r) => (onLocked = r));
  const released = new Promise<number>((r) => (onReleased = r));
  lines.on('line', (l) => {
    if (l === 'locked') onLocked();
    const m = /^released (\d+)$/.exec(l);
    if (m) onReleased(Number(m[1]));
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await Promise.race([locked, exited.then(() => Promise.reject(new Error('lock holder exited early')))]);
  return { released };
}

describe('Matrix transactions are acknowledged only once durably taken', () => {
  it('store down: the push gets a non-2xx; resent after a restart, the message reaches QQ exactly once', async () => {
    const b = await setup();
    b.hs.sendAs(BOB, b.room, { msgtype: 'm.text', body: 'before' });
    await waitFor(() => b.qq.remote.sent(GROUP).length === 1, 'first message');

    await b.store.close(); // the database goes away under the running bridge
    const during = b.hs.sendAs(BOB, b.room, { msgtype: 'm.text', body: 'during' });
    await b.hs.settled();
    const refused = b.hs.pushed.at(-1)!;
    expect(refused.status).toBe(503);
    expect(b.relay.halted).toBeDefined();
    expect(b.hs.unacknowledged.map((t) => t.events.map((e) => e.event_id))).toEqual([[during]]);
    // Resent to the same, halted bridge: still refused, still kept by the homeserver.
    expect(await b.hs.resendFailed()).toEqual([503]);
    expect(b.hs.unacknowledged).toHaveLength(1);

    await b.restart();
    // The refused transaction first, then anything queued up behind it.
    const resent = await b.hs.resendFailed();
    expect(resent[0]).toBe(200);
    expect(resent.every((s) => s === 200)).toBe(true);
    expect(b.hs.unacknowledged).toHaveLength(0);
    await waitFor(() => b.qq.remote.sent(GROUP).length === 2, 'the resent message');
    // The homeserver lost our answer and sends it again, then once more under a new txnId.
    expect(await b.hs.pushTransaction([b.hs.event(during)!], refused.txnId)).toBe(200);
    expect(await b.hs.pushTransaction([b.hs.event(during)!], 'another-txn')).toBe(200);
    await sleep(150);
    expect(b.qq.remote.texts(GROUP)).toEqual(['before', 'during']);
  });

  it('a slow store: the 200 comes only after the message was queued', async () => {
    const b = await setup();
    const lock = await holdWriteLock(path.join(b.stateDir, SQLITE_FILE), 400);
    const before = b.hs.pushed.length;
    b.hs.sendAs(BOB, b.room, { msgtype: 'm.text', body: 'slow' });
    await b.hs.settled();
    const releasedAt = await lock.released;
    const pushes = b.hs.pushed.slice(before);
    expect(pushes.length).toBeGreaterThan(0);
    // Never acknowledged while the write could not be made: a 200 only once the lock is gone. (A
    // lock longer than the store's busy timeout is an outage: 503, and the homeserver sends again.)
    for (const p of pushes) if (p.status === 200) expect(p.at).toBeGreaterThanOrEqual(releasedAt);
    if (!pushes.some((p) => p.status === 200)) {
      expect(pushes.every((p) => p.status === 503)).toBe(true);
      await waitFor(async () => (await b.hs.resendFailed()).every((st) => st === 200), 'the resent transaction taken', 10_000);
    }
    expect(b.hs.unacknowledged).toHaveLength(0);
    await waitFor(() => b.qq.remote.texts(GROUP).includes('slow'), 'delivery to QQ');
    expect(b.qq.remote.texts(GROUP).filter((t) => t === 'slow')).toHaveLength(1);
  });

  it('events of one transaction are all taken before the answer, in room order', async () => {
    const b = await setup();
    const events = ['one', 'two', 'three'].map((body) => b.hs.event(b.hs.sendAs(BOB, b.room, { msgtype: 'm.text', body }))!);
    await waitFor(() => b.qq.remote.sent(GROUP).length === 3, 'auto-pushed');
    // The same events as one transaction (e.g. after a homeserver restart): all duplicates, 200.
    expect(await b.hs.pushTransaction(events, 'batch')).toBe(200);
    await sleep(100);
    expect(b.qq.remote.texts(GROUP)).toEqual(['one', 'two', 'three']);
  });
});

describe('Matrix alias queries', () => {
  it('a group the QQ account is not in, or a malformed alias, answers 404 M_NOT_FOUND and creates nothing', async () => {
    const b = await setup({ groups: { 111222: { name: 'Known group' } }, portals: true });
    const ask = async (alias: string) => {
      const res = await fetch(`http://127.0.0.1:${b.matrix.port}/_matrix/app/v1/rooms/${encodeURIComponent(alias)}`, { headers: { Authorization: `Bearer ${b.reg.hs_token}` } });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const roomsBefore = b.hs.rooms.size;
    for (const alias of [`#qq_999999:${DOMAIN}`, `#qq_0:${DOMAIN}`, `#qq_abc:${DOMAIN}`, `#other:${DOMAIN}`]) {
      const r = await ask(alias);
      expect(r.status, alias).toBe(404);
      expect(r.body.errcode, alias).toBe('M_NOT_FOUND');
    }
    expect(await b.hs.resolveAlias(`#qq_999999:${DOMAIN}`)).toBeUndefined();
    expect(b.hs.rooms.size).toBe(roomsBefore);
    expect(await b.store.listLinks()).toHaveLength(0);

    // A wrong token is still refused by the library's check.
    const forged = await fetch(`http://127.0.0.1:${b.matrix.port}/_matrix/app/v1/rooms/${encodeURIComponent(`#qq_111222:${DOMAIN}`)}`, { headers: { Authorization: 'Bearer nope' } });
    expect(forged.status).toBe(403);

    const ok = await ask(`#qq_111222:${DOMAIN}`);
    expect(ok.status).toBe(200);
    const roomId = await b.hs.resolveAlias(`#qq_111222:${DOMAIN}`);
    expect(b.hs.rooms.get(roomId!)!.state.get('m.room.name\0')).toEqual({ name: 'Known group' });
  });
});
