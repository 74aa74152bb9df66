import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Capabilities } from '../../src/core/connector.js';
import type { DeliveryFailure } from '../../src/core/outbox.js';
import { Relay } from '../../src/core/relay.js';
import { StaticRoutes } from '../../src/core/routes.js';
import { silentLogger } from '../../src/log.js';
import { openStore, type Store } from '../../src/store/store.js';
import { plainText, type BridgeMessage } from '../../src/core/message.js';
import { LoopbackConnector, LoopbackNetwork } from '../support/loopback.js';
import { waitFor } from '../support/wait.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-relay-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const QQ = { network: 'qq', room: 'group:1' };
const plainTextOf = (m: BridgeMessage) => plainText(m.parts);
const IRC = { network: 'irc', room: '#a' };
const TG = { network: 'tg', room: '-100' };

interface Bridge {
  store: Store;
  relay: Relay;
  qq: LoopbackConnector;
  irc: LoopbackConnector;
  tg: LoopbackConnector;
  failures: DeliveryFailure[];
  stop(): Promise<void>;
}

interface SetupOptions {
  /** Cap of the outbox's exponential backoff (default 40 ms). */
  maxBackoffMs?: number;
  dir?: string;
  remotes?: { qq: LoopbackNetwork; irc: LoopbackNetwork; tg: LoopbackNetwork };
  caps?: { qq?: Partial<Capabilities>; irc?: Partial<Capabilities>; tg?: Partial<Capabilities> };
  sendDelayMs?: number;
}

const running: Bridge[] = [];
afterEach(async () => {
  for (const b of running.splice(0)) await b.stop();
});

let dirs = 0;
async function setup(o: SetupOptions = {}): Promise<Bridge> {
  const dir = o.dir ?? path.join(root, `b${++dirs}`);
  const store = await openStore({ stateDir: dir }, silentLogger);
  const qq = new LoopbackConnector('qq', { remote: o.remotes?.qq, capabilities: o.caps?.qq });
  const irc = new LoopbackConnector('irc', { remote: o.remotes?.irc, capabilities: o.caps?.irc, sendDelayMs: o.sendDelayMs });
  const tg = new LoopbackConnector('tg', { remote: o.remotes?.tg, capabilities: o.caps?.tg });
  const failures: DeliveryFailure[] = [];
  const relay = new Relay({
    store,
    routes: new StaticRoutes([[QQ, IRC, TG]]),
    log: silentLogger,
    onFailure: (f) => failures.push(f),
    outbox: { baseBackoffMs: 5, maxBackoffMs: o.maxBackoffMs ?? 40, connectPollMs: 10 },
  });
  for (const c of [qq, irc, tg]) relay.register(c);
  await relay.start();
  let stopped = false;
  const b: Bridge = {
    store,
    relay,
    qq,
    irc,
    tg,
    failures,
    async stop() {
      if (stopped) return;
      stopped = true;
      await relay.stop();
      await store.close();
    },
  };
  running.push(b);
  return b;
}

const texts = (n: number, prefix = 'm') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('Relay', () => {
  it('relays a message to every linked room and records the remote ids', async () => {
    const b = await setup();
    const m = await b.qq.inject(QQ.room, { text: 'hello' });
    await waitFor(() => b.irc.remote.sent(IRC.room).length === 1 && b.tg.remote.sent(TG.room).length === 1, 'delivery');
    expect(b.irc.remote.texts(IRC.room)).toEqual(['hello']);
    expect(b.tg.remote.sent(TG.room)[0]!.delivery.message.origin.sender.displayName).toBe('alice');
    expect(b.qq.remote.sent(QQ.room)).toEqual([]); // never back to the origin
    await waitFor(async () => (await b.store.remoteIds(m.id, IRC)).length === 1, 'id map');
    const ctx = b.relay.contextFor(b.irc);
    const [rid] = await ctx.remoteIdsFor(m.id, IRC.room);
    expect(rid).toBe(b.irc.remote.sent(IRC.room)[0]!.remoteId);
    expect(await ctx.sourceIdFor(IRC.room, rid!)).toBe(m.id);
  });

  it('keeps order per target while retrying', async () => {
    const b = await setup();
    b.irc.failNext('retryable', { count: 3, message: '503 Service Unavailable' });
    for (const t of texts(20)) await b.qq.inject(QQ.room, { text: t });
    await waitFor(() => b.irc.remote.sent(IRC.room).length === 20, '20 irc deliveries');
    expect(b.irc.remote.texts(IRC.room)).toEqual(texts(20));
    expect(b.irc.sendCalls).toBe(23);
    expect(b.tg.remote.texts(TG.room)).toEqual(texts(20));
  });

  it('a down target gets everything later, in order, while another target keeps flowing', async () => {
    const b = await setup();
    b.irc.online = false;
    for (const t of texts(10)) await b.qq.inject(QQ.room, { text: t });
    await waitFor(() => b.tg.remote.sent(TG.room).length === 10, 'telegram keeps flowing');
    expect(b.irc.remote.sent(IRC.room)).toHaveLength(0);
    const stats = await b.relay.stats();
    expect(stats.find((s) => s.network === 'irc')).toMatchObject({ depth: 10, waitingForConnection: true });
    expect(b.irc.sendCalls).toBe(0); // waiting for a connection costs no attempts
    const [head] = await b.store.nextPending(IRC, 1);
    expect(head!.attempts).toBe(0);

    b.irc.online = true;
    await waitFor(() => b.irc.remote.sent(IRC.room).length === 10, 'irc catches up');
    expect(b.irc.remote.texts(IRC.room)).toEqual(texts(10));
    await waitFor(async () => (await b.relay.stats()).length === 0, 'an empty outbox');
  });

  it('a target failing every send holds only itself up', async () => {
    const b = await setup();
    b.irc.failNext('retryable', { count: 1_000_000 });
    for (const t of texts(5)) await b.qq.inject(QQ.room, { text: t });
    await waitFor(() => b.tg.remote.sent(TG.room).length === 5, 'telegram delivered');
    await waitFor(async () => ((await b.store.nextPending(IRC, 1))[0]?.attempts ?? 0) >= 3, 'irc retried with backoff');
    const [head] = await b.store.nextPending(IRC, 1);
    expect(head!.lastError).toBe('loopback retryable failure');
    expect(b.irc.remote.sent(IRC.room)).toHaveLength(0);
  });

  it('the same inbound message twice (or concurrently) is delivered once', async () => {
    const b = await setup();
    const m = b.qq.message(QQ.room, { id: 777, text: 'once' });
    const outcomes = await Promise.all([b.relay.receive('qq', m), b.relay.receive('qq', m)]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['duplicate', 'queued']);
    expect((await b.relay.receive('qq', m)).status).toBe('duplicate');
    await b.qq.inject(QQ.room, { text: 'after' });
    await waitFor(() => b.irc.remote.sent(IRC.room).length === 2, 'deliveries');
    expect(b.irc.remote.texts(IRC.room)).toEqual(['once', 'after']);
    expect(b.tg.remote.texts(TG.room)).toEqual(['once', 'after']);
  });

  it('after a restart mid-stream, the rest is delivered in order and nothing twice', async () => {
    const dir = path.join(root, 'restart');
    const remotes = { qq: new LoopbackNetwork(), irc: new LoopbackNetwork(), tg: new LoopbackNetwork() };
    const b1 = await setup({ dir, remotes, sendDelayMs: 15 });
    for (const t of texts(30)) await b1.qq.inject(QQ.room, { text: t });
    await waitFor(() => remotes.irc.sent(IRC.room).length >= 5, 'some irc deliveries');
    await b1.stop();
    const before = remotes.irc.sent(IRC.room).length;
    expect(before).toBeLessThan(30);

    const b2 = await setup({ dir, remotes });
    await waitFor(() => remotes.irc.sent(IRC.room).length === 30, 'the rest after restart');
    expect(remotes.irc.texts(IRC.room)).toEqual(texts(30));
    expect(remotes.tg.texts(TG.room)).toEqual(texts(30));
    await new Promise((r) => setTimeout(r, 50));
    expect(remotes.irc.sent(IRC.room)).toHaveLength(30);
    expect(await b2.store.pendingTargets()).toEqual([]);
  });

  it('a message replayed after a restart is not relayed again', async () => {
    const dir = path.join(root, 'dedupe-restart');
    const remotes = { qq: new LoopbackNetwork(), irc: new LoopbackNetwork(), tg: new LoopbackNetwork() };
    const b1 = await setup({ dir, remotes });
    const m = b1.qq.message(QQ.room, { id: 'seq-41', text: 'only once' });
    expect((await b1.relay.receive('qq', m)).status).toBe('queued');
    await waitFor(() => remotes.irc.sent(IRC.room).length === 1, 'first delivery');
    await b1.stop();

    const b2 = await setup({ dir, remotes });
    expect((await b2.relay.receive('qq', m)).status).toBe('duplicate');
    await b2.qq.inject(QQ.room, { text: 'new' });
    await waitFor(() => remotes.irc.sent(IRC.room).length === 2, 'the new message');
    expect(remotes.irc.texts(IRC.room)).toEqual(['only once', 'new']);
  });

  it('never relays its own output back (echo by remote id, or flagged by the connector)', async () => {
    const b = await setup();
    await b.qq.inject(QQ.room, { text: 'from qq' });
    await waitFor(() => b.tg.remote.sent(TG.room).length === 1 && b.irc.remote.sent(IRC.room).length === 1, 'delivery');
    await waitFor(async () => (await b.store.lookupRemote(TG, b.tg.remote.sent(TG.room)[0]!.remoteId)) !== undefined, 'id map');

    const echo = b.tg.message(TG.room, { id: b.tg.remote.sent(TG.room)[0]!.remoteId, text: 'from qq' });
    expect((await b.relay.receive('tg', echo)).status).toBe('loop');
    const own = b.irc.message(IRC.room, { text: '<alice> from qq', fromBridge: true });
    expect((await b.relay.receive('irc', own)).status).toBe('loop');

    await b.tg.inject(TG.room, { text: 'real tg message' });
    await waitFor(() => b.qq.remote.sent(QQ.room).length === 1, 'real message relayed');
    expect(b.qq.remote.texts(QQ.room)).toEqual(['real tg message']);
    expect(b.irc.remote.texts(IRC.room)).toEqual(['from qq', 'real tg message']);
  });

  it('degrades for what each target can carry', async () => {
    const b = await setup({
      caps: { irc: { formatting: false, images: 'link', replies: false, edits: false, kinds: ['message', 'action', 'notice'] } },
    });
    const first = await b.qq.inject(QQ.room, { sender: { id: '9', displayName: 'Bob' }, text: 'original words from bob' });
    await b.qq.inject(QQ.room, {
      parts: [
        { type: 'text', text: 'see ', style: { bold: true } },
        { type: 'image', url: 'https://media.example/cat.png', mime: 'image/png' },
      ],
    });
    await b.qq.inject(QQ.room, { text: 'yes', replyTo: first.id });
    await b.qq.inject(QQ.room, { text: 'original words from Bob', editOf: first.id });
    await b.qq.inject(QQ.room, { kind: 'join', parts: [], sender: { id: '5', displayName: 'Carol' } });
    await waitFor(() => b.irc.remote.sent(IRC.room).length === 5 && b.tg.remote.sent(TG.room).length === 5, 'deliveries');

    expect(b.irc.remote.texts(IRC.room)).toEqual([
      'original words from bob',
      'see [image] https://media.example/cat.png',
      '> Bob: original words from bob\nyes',
      '* corrected: original words from Bob',
      'Carol joined',
    ]);
    const ircSent = b.irc.remote.sent(IRC.room).map((s) => s.delivery);
    expect(ircSent[1]!.message.parts.every((p) => p.type !== 'text' || p.style === undefined)).toBe(true);
    expect(ircSent[2]!.replyToRemoteId).toBeUndefined();
    expect(ircSent[4]!.message.kind).toBe('notice');

    // Telegram carries all of it natively, threaded to its own copy of the first message.
    const tgSent = b.tg.remote.sent(TG.room);
    expect(tgSent[1]!.delivery.message.parts[1]).toMatchObject({ type: 'image', url: 'https://media.example/cat.png' });
    expect(tgSent[2]!.delivery.replyToRemoteId).toBe(tgSent[0]!.remoteId);
    expect(tgSent[3]!.delivery.editOfRemoteIds).toEqual([tgSent[0]!.remoteId]);
    expect(tgSent[4]!.delivery.message.kind).toBe('join');
  });

  it('threads a reply back to the origin network by its native id', async () => {
    const b = await setup();
    const q = await b.qq.inject(QQ.room, { id: 5150, text: 'question' });
    await waitFor(() => b.irc.remote.sent(IRC.room).length === 1, 'delivery');
    await b.irc.inject(IRC.room, { text: 'answer', replyTo: q.id });
    await waitFor(() => b.qq.remote.sent(QQ.room).length === 1, 'reply delivered');
    expect(b.qq.remote.sent(QQ.room)[0]!.delivery.replyToRemoteId).toBe('5150');
  });

  it('a rate-limited target queues instead of dropping, and paces deliveries', async () => {
    const b = await setup({ caps: { irc: { rateLimit: { perSecond: 20, burst: 2 } } } });
    const t0 = Date.now();
    for (const t of texts(10)) await b.qq.inject(QQ.room, { text: t });
    expect(Date.now() - t0).toBeLessThan(300); // input is not held up by the slow target
    await waitFor(() => b.tg.remote.sent(TG.room).length === 10, 'unlimited target');
    expect(b.irc.remote.sent(IRC.room).length).toBeLessThan(10);
    await waitFor(() => b.irc.remote.sent(IRC.room).length === 10, 'paced target');
    const at = b.irc.remote.sent(IRC.room).map((s) => s.at);
    expect(at[9]! - at[0]!).toBeGreaterThanOrEqual(350); // 8 tokens at 20/s after a burst of 2
    expect(b.irc.remote.texts(IRC.room)).toEqual(texts(10));
  });

  it('honours a server-imposed retry-after', async () => {
    const b = await setup();
    b.irc.failNext('retryable', { retryAfterMs: 300, message: '429 Too Many Requests' });
    const t0 = Date.now();
    await b.qq.inject(QQ.room, { text: 'later' });
    await waitFor(() => b.irc.remote.sent(IRC.room).length === 1, 'delivery after retry-after');
    expect(b.irc.remote.sent(IRC.room)[0]!.at - t0).toBeGreaterThanOrEqual(290);
  });

  it('server-imposed waits do not escalate the backoff of a later plain failure', async () => {
    // Ten 429s (5 ms each), then one 502. Counted as eleven plain failures the 502 would wait
    // 2.6-5.1 s (5 ms doubling, cap 10 s); it must start over at the first step instead.
    const b = await setup({ maxBackoffMs: 10_000 });
    b.irc.failNext('retryable', { count: 10, retryAfterMs: 5, message: '429 Too Many Requests' });
    b.irc.failNext('retryable', { message: '502 Bad Gateway' });
    const t0 = Date.now();
    await b.qq.inject(QQ.room, { text: 'after the storm' });
    await waitFor(() => b.irc.remote.sent(IRC.room).length === 1, 'delivery after the 502', 8_000);
    expect(b.irc.remote.sent(IRC.room)[0]!.at - t0).toBeLessThan(1_000);
  });

  it('a rejected message is reported through onFailure and the rest goes on', async () => {
    const b = await setup();
    b.irc.rejectWhen((d) => (d.message.parts.some((p) => p.type === 'text' && p.text.includes('forbidden')) ? 'message blocked by the network' : undefined));
    await b.qq.inject(QQ.room, { text: 'ok1' });
    const bad = await b.qq.inject(QQ.room, { text: 'forbidden words' });
    await b.qq.inject(QQ.room, { text: 'ok2' });
    await waitFor(() => b.irc.remote.sent(IRC.room).length === 2 && b.failures.length === 1, 'deliveries and the failure');
    expect(b.irc.remote.texts(IRC.room)).toEqual(['ok1', 'ok2']);
    expect(b.failures[0]).toMatchObject({ kind: 'rejected', reason: 'message blocked by the network', sourceId: bad.id, target: IRC });
    expect(await b.store.getOutboxItem(b.failures[0]!.seq)).toMatchObject({ state: 'failed', lastError: 'message blocked by the network' });
    expect(b.tg.remote.texts(TG.room)).toEqual(['ok1', 'forbidden words', 'ok2']);
  });

  it('a fatal error pauses that target until resumed; its items wait', async () => {
    const b = await setup();
    b.tg.failNext('fatal', { message: '401 Unauthorized: bot token revoked' });
    await b.qq.inject(QQ.room, { text: 'a' });
    await b.qq.inject(QQ.room, { text: 'b' });
    await waitFor(() => b.irc.remote.sent(IRC.room).length === 2 && b.failures.length === 1, 'irc delivered, tg paused');
    expect(b.failures[0]).toMatchObject({ kind: 'fatal', target: TG, reason: '401 Unauthorized: bot token revoked' });
    await new Promise((r) => setTimeout(r, 50));
    expect(b.tg.remote.sent(TG.room)).toHaveLength(0);
    expect((await b.relay.stats()).find((s) => s.network === 'tg')).toMatchObject({ depth: 2, pausedReason: '401 Unauthorized: bot token revoked' });
    b.relay.outbox.resume(TG);
    await waitFor(() => b.tg.remote.sent(TG.room).length === 2, 'tg after resume');
    expect(b.tg.remote.texts(TG.room)).toEqual(['a', 'b']);
  });

  it('route flags can leave out kinds', async () => {
    const store = await openStore({ stateDir: path.join(root, 'flags') }, silentLogger);
    const qq = new LoopbackConnector('qq');
    const irc = new LoopbackConnector('irc');
    const relay = new Relay({ store, routes: new StaticRoutes([[QQ, { ...IRC, flags: { kinds: ['message'] } }]]), log: silentLogger });
    relay.register(qq);
    relay.register(irc);
    await relay.start();
    running.push({ store, relay, qq, irc, tg: irc, failures: [], stop: async () => (await relay.stop(), await store.close()) });
    await qq.inject(QQ.room, { kind: 'join', parts: [] });
    await qq.inject(QQ.room, { text: 'hi' });
    await waitFor(() => irc.remote.sent(IRC.room).length === 1, 'delivery');
    await new Promise((r) => setTimeout(r, 30));
    expect(irc.remote.texts(IRC.room)).toEqual(['hi']);
  });

  describe('deletes', () => {
    it('a delete reaches every room the message reached: remote ids where the target deletes, a notice where it cannot', async () => {
      const b = await setup({ caps: { tg: { deletes: true } } });
      const m = await b.qq.inject(QQ.room, { text: 'oops' });
      await waitFor(() => b.tg.remote.sent(TG.room).length === 1 && b.irc.remote.sent(IRC.room).length === 1, 'the message');
      await b.qq.inject(QQ.room, { kind: 'delete', deleteOf: m.id, text: 'recalled a message' });
      await waitFor(() => b.tg.remote.sent(TG.room).length === 2 && b.irc.remote.sent(IRC.room).length === 2, 'the delete');
      const del = b.tg.remote.sent(TG.room)[1]!.delivery;
      expect(del.message.kind).toBe('delete');
      expect(del.deleteOfRemoteIds).toEqual([b.tg.remote.sent(TG.room)[0]!.remoteId]);
      const notice = b.irc.remote.sent(IRC.room)[1]!.delivery;
      expect(notice.message.kind).toBe('notice');
      expect(notice.message.deleteOf).toBeUndefined();
      expect(b.irc.remote.texts(IRC.room)).toEqual(['oops', 'recalled a message']);
      expect(b.failures).toEqual([]);
    });

    it('waits behind the message it deletes: a target down meanwhile gets the message, then its delete', async () => {
      const b = await setup({ caps: { tg: { deletes: true } } });
      b.tg.online = false;
      const m = await b.qq.inject(QQ.room, { text: 'queued' });
      await b.qq.inject(QQ.room, { kind: 'delete', deleteOf: m.id, text: 'recalled a message' });
      await new Promise((r) => setTimeout(r, 50));
      expect(b.tg.remote.sent(TG.room)).toEqual([]);
      b.tg.online = true;
      await waitFor(() => b.tg.remote.sent(TG.room).length === 2, 'message, then delete');
      const [sent, del] = b.tg.remote.sent(TG.room);
      expect(sent!.delivery.message.kind).toBe('message');
      expect(del!.delivery.deleteOfRemoteIds).toEqual([sent!.remoteId]);
    });

    it('a delete of a message that never reached a room (unknown, or refused there) sends nothing there and reports nothing', async () => {
      const b = await setup({ caps: { tg: { deletes: true } } });
      b.irc.rejectWhen((d) => (plainTextOf(d.message) === 'not for irc' ? 'blocked' : undefined));
      const m = await b.qq.inject(QQ.room, { text: 'not for irc' });
      await waitFor(() => b.tg.remote.sent(TG.room).length === 1 && b.failures.length === 1, 'delivered to tg, refused by irc');
      await b.qq.inject(QQ.room, { kind: 'delete', deleteOf: m.id, text: 'recalled a message' });
      await b.qq.inject(QQ.room, { kind: 'delete', deleteOf: 'qq:group:1:never-seen', text: 'recalled a message' });
      await b.qq.inject(QQ.room, { text: 'after' });
      await waitFor(() => b.irc.remote.texts(IRC.room).includes('after') && b.tg.remote.texts(TG.room).includes('after'), 'the next message');
      expect(b.irc.remote.texts(IRC.room)).toEqual(['after']);
      expect(b.tg.remote.sent(TG.room).map((s) => s.delivery.message.kind)).toEqual(['message', 'delete', 'message']);
      expect(b.failures).toHaveLength(1); // only the refusal of the message itself
      expect((await b.relay.stats()).reduce((a, s) => a + s.depth, 0)).toBe(0);
    });

    it('a delete without fallback parts shows nothing where the target cannot delete', async () => {
      const b = await setup();
      const m = await b.qq.inject(QQ.room, { text: 'gone' });
      await b.qq.inject(QQ.room, { kind: 'delete', deleteOf: m.id, parts: [] });
      await b.qq.inject(QQ.room, { text: 'next' });
      await waitFor(() => b.irc.remote.texts(IRC.room).includes('next'), 'the next message');
      expect(b.irc.remote.texts(IRC.room)).toEqual(['gone', 'next']);
    });
  });
});
