/**
 * Status notices through a real Relay (real SQLite, loopback networks): an outage and a message
 * that could not be delivered are announced in the other rooms, once per rate-limit window, never
 * to QQ, never looping back.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Relay } from '../../src/core/relay.js';
import { StaticRoutes } from '../../src/core/routes.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { BridgeMetrics } from '../../src/ops/metrics.js';
import { StatusNotices } from '../../src/ops/notices.js';
import { openStore, SQLITE_FILE } from '../../src/store/store.js';
import { LoopbackConnector } from '../support/loopback.js';
import { waitFor } from '../support/wait.js';
import { capturedLogger } from '../support/log-capture.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-ops-notices-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const QQ = { network: 'qq', room: 'group:1' };
const IRC = { network: 'irc', room: '#a' };
const TG = { network: 'telegram', room: '-100' };
const OTHER_IRC = { network: 'irc', room: '#unrelated' };
const OTHER_QQ = { network: 'qq', room: 'group:2' };

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let n = 0;
async function setup(o: { intervalMs?: number; graceMs?: number; log?: Logger } = {}) {
  const log = o.log ?? silentLogger;
  const stateDir = path.join(root, `s${++n}`);
  const store = await openStore({ stateDir }, silentLogger);
  const links = [{ rooms: [QQ, IRC, TG] }, { rooms: [OTHER_QQ, OTHER_IRC] }];
  const qq = new LoopbackConnector('qq');
  const irc = new LoopbackConnector('irc');
  const tg = new LoopbackConnector('telegram');
  const metrics = new BridgeMetrics({ processMetrics: false });
  let notices: StatusNotices | undefined;
  const relay = new Relay({
    store,
    routes: new StaticRoutes(links.map((l) => l.rooms)),
    log,
    observer: metrics,
    onFailure: (f) => notices?.onFailure(f),
    onStoreState: (s) => notices?.storeChanged(s),
    hold: { retryMinMs: 50, retryMaxMs: 200 },
    outbox: { baseBackoffMs: 5, maxBackoffMs: 20, connectPollMs: 10 },
  });
  for (const c of [qq, irc, tg]) relay.register(c);
  await relay.start();
  // The watcher's clock is ours: grace times and rate-limit windows pass only when a test says so.
  const clock = { now: Date.now() };
  notices = new StatusNotices({
    relay,
    links: () => links,
    intervalMs: o.intervalMs ?? 60_000,
    graceMs: o.graceMs ?? 0,
    pollMs: 10,
    log,
    now: () => clock.now,
  });
  notices.start();
  cleanups.push(async () => {
    await notices.stop();
    await relay.stop();
    await store.close();
  });
  const watcher = notices;
  let marks = 0;
  /**
   * Everything the watcher has decided so far has reached every room: each room's outbox delivers
   * in order, so once a message queued after those notices has arrived, they have too (or never were).
   */
  async function flushed(): Promise<void> {
    watcher.check();
    await watcher.settled();
    const text = `mark ${++marks}`;
    await qq.inject(QQ.room, { text });
    await qq.inject(OTHER_QQ.room, { text });
    await waitFor(() => tg.remote.texts(TG.room).includes(text) && irc.remote.texts(IRC.room).includes(text) && irc.remote.texts(OTHER_IRC.room).includes(text), `${text} in every room`);
  }
  /** What a room was told, without the marks `flushed` sent. */
  const told = (c: LoopbackConnector, room: string) => c.remote.texts(room).filter((t) => !t.startsWith('mark '));
  return { relay, qq, irc, tg, metrics, notices: watcher, clock, flushed, told, file: path.join(stateDir, SQLITE_FILE) };
}

const capture = () => capturedLogger('debug');

describe('status notices', () => {
  it('the QQ account: one notice per episode and per recovery in every room bridged with a QQ group; the alert in the alert room', async () => {
    const b = await setup();
    b.notices.accountEvent('qq', 'episode:refused', 'QQ is refusing this account\'s messages since 14:02 UTC (risk control?); 12 messages waiting; next try 14:10 UTC.');
    b.notices.accountEvent('qq', 'episode:refused', 'QQ is refusing … again (same episode kind within the window)');
    b.notices.alert(OTHER_IRC, 'refused', 'QQ is refusing the bridge account\'s messages … What to do: wait out the risk control');
    b.notices.accountEvent('qq', 'recovered:refused', 'QQ accepts this account\'s messages again');
    await b.flushed();
    const expected = ["QQ is refusing this account's messages since 14:02 UTC (risk control?); 12 messages waiting; next try 14:10 UTC.", "QQ accepts this account's messages again"];
    expect(b.told(b.tg, TG.room)).toEqual(expected);
    expect(b.told(b.irc, IRC.room)).toEqual(expected);
    // The account is shared by every group: the other link hears it too; the alert room once more.
    expect(b.told(b.irc, OTHER_IRC.room).filter((t) => t.includes('What to do'))).toEqual(["QQ is refusing the bridge account's messages … What to do: wait out the risk control"]);
    expect(b.told(b.irc, OTHER_IRC.room).filter((t) => !t.includes('What to do'))).toEqual(expected);
    expect(b.qq.remote.sent(QQ.room)).toEqual([]);
  });

  it('QQ going offline and coming back is announced once in the other rooms of its links, and never loops', async () => {
    const b = await setup();
    b.notices.check(); // everyone is connected
    b.qq.online = false;
    b.notices.check();
    await waitFor(() => b.told(b.tg, TG.room).length === 1 && b.told(b.irc, IRC.room).length === 1, 'the QQ outage notice on Telegram and IRC');
    expect(b.told(b.tg, TG.room)).toEqual(['QQ connection lost, messages are queued']);
    expect(b.told(b.irc, IRC.room)).toEqual(['QQ connection lost, messages are queued']);
    const notice = b.tg.remote.sent(TG.room)[0]!.delivery.message;
    expect(notice.kind).toBe('notice');
    expect(notice.origin.network).toBe('bridge');

    // Flapping within the rate-limit window: one "lost" and one "restored" per room, no more.
    b.qq.online = true;
    b.notices.check();
    await waitFor(() => b.told(b.tg, TG.room).length === 2, 'the QQ restored notice on Telegram');
    b.qq.online = false;
    b.notices.check();
    b.qq.online = true;
    b.notices.check();
    await b.flushed();
    expect(b.told(b.tg, TG.room)).toEqual(['QQ connection lost, messages are queued', 'QQ connection restored']);
    expect(b.told(b.irc, IRC.room)).toEqual(['QQ connection lost, messages are queued', 'QQ connection restored']);

    // The networks show the bridge its own notices (as Telegram and Matrix do): nothing is relayed on.
    for (const sent of b.tg.remote.sent(TG.room)) if (sent.delivery.message.origin.network === 'bridge') await b.tg.echo(TG.room, sent);
    await b.flushed();
    expect(b.qq.remote.sent(QQ.room)).toEqual([]); // not the echo, and never a notice to QQ
    expect(b.told(b.irc, IRC.room)).toHaveLength(2);
    // The other link has a QQ room too, so its IRC room heard about QQ as well; QQ rooms never do.
    expect(b.told(b.irc, OTHER_IRC.room)).toHaveLength(2);
    expect(b.qq.remote.sent(OTHER_QQ.room)).toEqual([]);
    // Notices are not user traffic.
    const text = await b.metrics.text();
    expect(text).not.toMatch(/qqbridge_messages_relayed_total\{source="bridge"/);
    expect(text).toMatch(/^qqbridge_notices_delivered_total\{target="telegram"\} 2$/m);
  });

  it('an IRC outage is announced to Telegram only (not to IRC itself, not to QQ), and a short blip within the grace time not at all', async () => {
    const b = await setup({ graceMs: 150 });
    b.notices.check();
    b.irc.online = false;
    b.notices.check();
    b.clock.now += 40;
    b.notices.check();
    b.irc.online = true;
    b.clock.now += 200;
    b.notices.check();
    b.irc.online = false;
    b.notices.check();
    b.clock.now += 149;
    // Still within the grace time: nothing yet.
    b.notices.check();
    b.irc.online = true;
    await b.flushed();
    expect(b.told(b.tg, TG.room)).toEqual([]);

    b.irc.online = false;
    b.notices.check();
    b.clock.now += 150;
    b.notices.check();
    await waitFor(() => b.told(b.tg, TG.room).length === 1, 'the IRC outage notice on Telegram');
    expect(b.told(b.tg, TG.room)).toEqual(['IRC connection lost, messages are queued']);
    expect(b.qq.remote.sent(QQ.room)).toEqual([]);
    b.irc.online = true;
    b.notices.check();
    await waitFor(() => b.told(b.tg, TG.room).length === 2, 'the IRC restored notice on Telegram');
    expect(b.told(b.tg, TG.room)[1]).toBe('IRC connection restored');
    await b.flushed();
    expect(b.told(b.irc, IRC.room)).toEqual([]);
    expect(b.qq.remote.sent(QQ.room)).toEqual([]);
  });

  it('a rejected delivery is announced in the other rooms of the link, once per window', async () => {
    const b = await setup();
    b.irc.rejectWhen((d) => (JSON.stringify(d.message.parts).includes('huge') ? 'line too long for this channel' : undefined));
    await b.qq.inject(QQ.room, { text: 'a huge message' });
    await waitFor(() => b.tg.remote.texts(TG.room).length === 2, 'the message and the rejection notice on Telegram');
    const texts = b.tg.remote.texts(TG.room);
    expect(texts[0]).toBe('a huge message');
    expect(texts[1]).toBe('A message could not be delivered to IRC #a: rejected by IRC');
    expect(b.irc.remote.texts(IRC.room)).toEqual([]); // not to the room that refused it
    expect(b.qq.remote.sent(QQ.room)).toEqual([]);

    // The next rejection within the window adds no notice.
    await b.qq.inject(QQ.room, { text: 'another huge one' });
    await waitFor(async () => /^qqbridge_delivery_dropped_total\{target="irc"\} 2$/m.test(await b.metrics.text()), 'the second IRC drop in the metrics');
    await b.flushed();
    expect(b.told(b.tg, TG.room)).toEqual(['a huge message', 'A message could not be delivered to IRC #a: rejected by IRC', 'another huge one']);
  });

  it('an error that quotes a request with secrets reaches neither the room notice nor the log', async () => {
    const cap = capture();
    const b = await setup({ log: cap.log });
    const raw =
      'sendMessage: 400 Bad Request: message is too long (POST https://api.telegram.org/bot123456:AAHsecretTOKEN/sendMessage?access_token=syt_SECRETVALUE, Authorization: Bearer sk-SECRETBEARER)';
    b.tg.rejectWhen((d) => (JSON.stringify(d.message.parts).includes('long story') ? raw : undefined));
    await b.qq.inject(QQ.room, { text: 'a long story' });
    await waitFor(() => b.irc.remote.texts(IRC.room).length === 2, 'the message and the rejection notice on IRC');
    expect(b.irc.remote.texts(IRC.room)).toEqual(['a long story', 'A message could not be delivered to Telegram -100: Telegram: message too long']);
    await b.flushed();
    const logged = cap.text();
    expect(logged).toContain('delivery rejected'); // the failure was logged…
    for (const secret of ['AAHsecretTOKEN', 'syt_SECRETVALUE', 'sk-SECRETBEARER']) {
      expect(logged).not.toContain(secret); // …without its secrets
      for (const t of b.irc.remote.texts(IRC.room)) expect(t).not.toContain(secret);
    }
  });
  it('the store going away is announced in every non-QQ room with what is held, never as "0 messages are held"; its return too', async () => {
    const b = await setup();
    // Found gone by a delivery's bookkeeping before any message was held.
    b.notices.storeChanged({ state: 'unavailable', held: 0 });
    b.notices.storeChanged({ state: 'available', held: 0 });
    b.clock.now += 60_001;
    b.notices.storeChanged({ state: 'unavailable', held: 1 });
    b.clock.now += 60_001;
    b.notices.storeChanged({ state: 'unavailable', held: 42 });
    await b.flushed();
    const expected = [
      "the bridge's database is unavailable; messages are held and will be relayed when it is back",
      "the bridge's database is available again; held messages are being relayed",
      "the bridge's database is unavailable; 1 message is held and will be relayed when it is back",
      "the bridge's database is unavailable; 42 messages are held and will be relayed when it is back",
    ];
    expect(b.told(b.tg, TG.room)).toEqual(expected);
    expect(b.told(b.irc, OTHER_IRC.room)).toEqual(expected);
    expect(b.qq.remote.sent(QQ.room)).toEqual([]);
  });

  it('the store coming back says how many held messages are now relayed (the outage\'s peak, not what is left)', async () => {
    const b = await setup();
    // A real outage: another connection holds the SQLite file's write lock (SQLITE_BUSY).
    const holder = new Database(b.file, { timeout: 5_000 });
    holder.exec('BEGIN IMMEDIATE');
    let locked = true;
    try {
      const taken = [b.irc.inject(IRC.room, { text: 'held 1' })];
      await waitFor(() => b.relay.storeStatus().state === 'unavailable', 'the store seen unavailable');
      for (let i = 2; i <= 5; i++) taken.push(b.irc.inject(IRC.room, { text: `held ${i}` }));
      await waitFor(() => b.relay.storeStatus().held === 5, 'five messages held');
      holder.exec('COMMIT');
      locked = false;
      await Promise.all(taken);
    } finally {
      if (locked) holder.exec('ROLLBACK');
      holder.close();
    }
    await waitFor(() => b.told(b.tg, TG.room).length === 7, 'the held messages and the restored notice on Telegram');
    expect(b.told(b.tg, TG.room)).toEqual([
      "the bridge's database is unavailable; 1 message is held and will be relayed when it is back",
      'held 1', 'held 2', 'held 3', 'held 4', 'held 5',
      "the bridge's database is available again; 5 held messages are being relayed",
    ]);
    expect(b.relay.storeStatus()).toMatchObject({ state: 'available', held: 0, peakHeld: 5 });
    // Rooms of the other link hear of the store too.
    await b.flushed();
    expect(b.told(b.irc, OTHER_IRC.room)).toEqual([
      "the bridge's database is unavailable; 1 message is held and will be relayed when it is back",
      "the bridge's database is available again; 5 held messages are being relayed",
    ]);
  });
});
