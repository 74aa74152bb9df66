/**
 * Status notices through a real Relay (real SQLite, loopback networks): an outage and a message
 * that could not be delivered are announced in the other rooms, once per rate-limit window, never
 * to QQ, never looping back.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Relay } from '../../src/core/relay.js';
import { StaticRoutes } from '../../src/core/routes.js';
import { silentLogger } from '../../src/log.js';
import { BridgeMetrics } from '../../src/ops/metrics.js';
import { StatusNotices } from '../../src/ops/notices.js';
import { openStore } from '../../src/store/store.js';
import { LoopbackConnector } from '../support/loopback.js';

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
async function setup(o: { intervalMs?: number; graceMs?: number } = {}) {
  const store = await openStore({ stateDir: path.join(root, `s${++n}`) }, silentLogger);
  const links = [{ rooms: [QQ, IRC, TG] }, { rooms: [OTHER_QQ, OTHER_IRC] }];
  const qq = new LoopbackConnector('qq');
  const irc = new LoopbackConnector('irc');
  const tg = new LoopbackConnector('telegram');
  const metrics = new BridgeMetrics({ processMetrics: false });
  let notices: StatusNotices | undefined;
  const relay = new Relay({
    store,
    routes: new StaticRoutes(links.map((l) => l.rooms)),
    log: silentLogger,
    observer: metrics,
    onFailure: (f) => notices?.onFailure(f),
    outbox: { baseBackoffMs: 5, maxBackoffMs: 20, connectPollMs: 10 },
  });
  for (const c of [qq, irc, tg]) relay.register(c);
  await relay.start();
  notices = new StatusNotices({ relay, links: () => links, intervalMs: o.intervalMs ?? 60_000, graceMs: o.graceMs ?? 0, pollMs: 10, log: silentLogger });
  notices.start();
  cleanups.push(async () => {
    await notices.stop();
    await relay.stop();
    await store.close();
  });
  return { relay, qq, irc, tg, metrics, notices: notices };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(10);
  }
}

describe('status notices', () => {
  it('QQ going offline and coming back is announced once in the other rooms of its links, and never loops', async () => {
    const b = await setup();
    await sleep(30); // the watcher has seen everyone connected
    b.qq.online = false;
    await until(() => b.tg.remote.texts(TG.room).length === 1 && b.irc.remote.texts(IRC.room).length === 1);
    expect(b.tg.remote.texts(TG.room)).toEqual(['QQ connection lost, messages are queued']);
    expect(b.irc.remote.texts(IRC.room)).toEqual(['QQ connection lost, messages are queued']);
    const notice = b.tg.remote.sent(TG.room)[0]!.delivery.message;
    expect(notice.kind).toBe('notice');
    expect(notice.origin.network).toBe('bridge');

    // Flapping within the rate-limit window: one "lost" and one "restored" per room, no more.
    b.qq.online = true;
    await until(() => b.tg.remote.texts(TG.room).length === 2);
    b.qq.online = false;
    await sleep(60);
    b.qq.online = true;
    await sleep(60);
    expect(b.tg.remote.texts(TG.room)).toEqual(['QQ connection lost, messages are queued', 'QQ connection restored']);
    expect(b.irc.remote.texts(IRC.room)).toEqual(['QQ connection lost, messages are queued', 'QQ connection restored']);

    // The networks show the bridge its own notices (as Telegram and Matrix do): nothing is relayed on.
    for (const sent of b.tg.remote.sent(TG.room)) await b.tg.echo(TG.room, sent);
    await sleep(80);
    expect(b.qq.remote.sent(QQ.room)).toEqual([]); // not the echo, and never a notice to QQ
    expect(b.irc.remote.texts(IRC.room)).toHaveLength(2);
    // The other link has a QQ room too, so its IRC room heard about QQ as well; QQ rooms never do.
    expect(b.irc.remote.texts(OTHER_IRC.room)).toHaveLength(2);
    expect(b.qq.remote.sent(OTHER_QQ.room)).toEqual([]);
    // Notices are not user traffic.
    const text = await b.metrics.text();
    expect(text).not.toMatch(/qqbridge_messages_relayed_total\{source="bridge"/);
    expect(text).toMatch(/^qqbridge_notices_delivered_total\{target="telegram"\} 2$/m);
  });

  it('an IRC outage is announced to Telegram only (not to IRC itself, not to QQ), and a short blip within the grace time not at all', async () => {
    const b = await setup({ graceMs: 150 });
    await sleep(30);
    b.irc.online = false;
    await sleep(40);
    b.irc.online = true;
    await sleep(200);
    expect(b.tg.remote.texts(TG.room)).toEqual([]);
    b.irc.online = false;
    await until(() => b.tg.remote.texts(TG.room).length === 1);
    expect(b.tg.remote.texts(TG.room)).toEqual(['IRC connection lost, messages are queued']);
    expect(b.qq.remote.sent(QQ.room)).toEqual([]);
    b.irc.online = true;
    await until(() => b.tg.remote.texts(TG.room).length === 2);
    expect(b.tg.remote.texts(TG.room)[1]).toBe('IRC connection restored');
    expect(b.irc.remote.texts(IRC.room)).toEqual([]);
  });

  it('a rejected delivery is announced with its reason in the other rooms of the link', async () => {
    const b = await setup();
    b.irc.rejectWhen((d) => (JSON.stringify(d.message.parts).includes('huge') ? 'line too long for this channel' : undefined));
    await b.qq.inject(QQ.room, { text: 'a huge message' });
    await until(() => b.tg.remote.texts(TG.room).length === 2);
    const texts = b.tg.remote.texts(TG.room);
    expect(texts[0]).toBe('a huge message');
    expect(texts[1]).toBe('A message could not be delivered to IRC #a: line too long for this channel');
    expect(b.irc.remote.texts(IRC.room)).toEqual([]); // not to the room that refused it
    expect(b.qq.remote.sent(QQ.room)).toEqual([]);

    // The next rejection within the window adds no notice.
    await b.qq.inject(QQ.room, { text: 'another huge one' });
    await until(() => b.tg.remote.texts(TG.room).length === 3);
    await sleep(80);
    expect(b.tg.remote.texts(TG.room)).toEqual(['a huge message', 'A message could not be delivered to IRC #a: line too long for this channel', 'another huge one']);
  });
});
