/**
 * Recalls and redactions both ways, over the real wire: the QQ adapter on the OneBot simulator
 * (WebSocket) or the Milky simulator (HTTP + WebSocket), the Matrix connector on the fake
 * homeserver, the Telegram connector on the fake Bot API, a loopback network standing for one
 * that cannot delete (IRC), one real Relay and SQLite store between them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { matrixConfigSchema } from '../../src/connectors/matrix/config.js';
import { MatrixConnector } from '../../src/connectors/matrix/connector.js';
import { buildRegistration } from '../../src/connectors/matrix/registration.js';
import { QqConnector } from '../../src/connectors/qq/connector.js';
import { qqConfigSchema } from '../../src/connectors/qq/config.js';
import { startMilkySimulator, type RunningMilkySimulator } from '../../src/connectors/qq/milky/simulator/index.js';
import { OneBotSimulator } from '../../src/connectors/qq/onebot/simulator/simulator.js';
import { defaultWorld } from '../../src/simulator/world.js';
import { telegramConfigSchema } from '../../src/connectors/telegram/config.js';
import { TelegramConnector } from '../../src/connectors/telegram/connector.js';
import { plainText } from '../../src/core/message.js';
import type { DeliveryFailure } from '../../src/core/outbox.js';
import { Relay } from '../../src/core/relay.js';
import { StaticRoutes } from '../../src/core/routes.js';
import type { Logger } from '../../src/log.js';
import { openStore } from '../../src/store/store.js';
import { FakeHomeserver } from '../fakes/homeserver.js';
import { FakeTelegram } from '../fakes/telegram.js';
import { capturedLogger } from '../support/log-capture.js';
import { LoopbackConnector } from '../support/loopback.js';
import { memoryMedia } from '../support/memory-media.js';
import { waitFor } from '../support/wait.js';

const GROUP = 346167134;
const QQ_ROOM = `group:${GROUP}`;
const BOT_QQ = 2769546520;
const HUXI = 2440652742;
const OPS = 2041084648;
const CHAT = -1001;
const TG_ROOM = String(CHAT);
const IRC_ROOM = '#qq';
const DOMAIN = 'test.hs';
const ALICE = '@alice:test.hs';
const BOB = '@bob:test.hs';
const TOKEN = '123456:AAtestTOKENsecret_value-xyz';
const ghost = (qq: number) => `@qq_${qq}:${DOMAIN}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-recall-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

async function milkyControl(sim: RunningMilkySimulator, p: string, body?: unknown): Promise<any> {
  const res = await fetch(`${sim.controlUrl}${p}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
  const json = await res.json();
  if (res.status !== 200) throw new Error(`control ${p}: ${JSON.stringify(json)}`);
  return json;
}

let dirs = 0;
/** QQ (OneBot or Milky) ↔ Matrix ↔ Telegram ↔ a loopback that cannot delete, all in one link. */
async function setup(protocol: 'onebot' | 'milky') {
  const reg = buildRegistration({ id: 'qqbridge', url: '', domain: DOMAIN, userPrefix: 'qq_', senderLocalpart: 'qqbridge' });
  const hs = new FakeHomeserver({
    domain: DOMAIN, asToken: reg.as_token, hsToken: reg.hs_token, senderLocalpart: 'qqbridge',
    userNamespace: reg.namespaces.users[0]!.regex, aliasNamespace: reg.namespaces.aliases[0]!.regex,
  });
  await hs.start();
  cleanups.push(() => hs.stop());
  const room = hs.createRoomAs(ALICE, { name: 'bridged', powerLevels: { [hs.botUserId]: 50 } });
  hs.joinAs(BOB, room, 'Bob');
  const tg = await new FakeTelegram({ token: TOKEN }).start();
  cleanups.push(() => tg.stop());

  // The bridge's account is a plain member (the default world makes it the owner, who may recall anything).
  const world = defaultWorld();
  world.groups.find((g) => g.number === GROUP)!.owner = OPS;
  let onebot: OneBotSimulator | undefined;
  let milky: RunningMilkySimulator | undefined;
  let qqSection: unknown;
  if (protocol === 'onebot') {
    onebot = new OneBotSimulator({ heartbeatIntervalMs: 200, world });
    const url = await onebot.listen(0);
    cleanups.push(() => onebot!.close());
    qqSection = { protocol: 'onebot', onebot: { mode: 'forward', url, heartbeatTimeoutMs: 1500 } };
  } else {
    milky = await startMilkySimulator({ accessToken: 'mt', world });
    cleanups.push(() => milky!.close());
    qqSection = { protocol: 'milky', milky: { url: milky.url, accessToken: 'mt', events: 'websocket' } };
  }

  const cap = capturedLogger('debug');
  const log = cap.log as Logger;
  const store = await openStore({ stateDir: path.join(root, `s${++dirs}`) }, log);
  const media = memoryMedia();
  const failures: DeliveryFailure[] = [];
  const matrix = new MatrixConnector(
    matrixConfigSchema.parse({ homeserverUrl: hs.url, domain: DOMAIN, registration: '/unused', port: 0, admins: [ALICE] }),
    { store, registration: reg, rooms: [room] },
  );
  const telegram = new TelegramConnector(telegramConfigSchema.parse({ token: TOKEN, apiRoot: tg.apiRoot, rateLimit: { perSecond: 500, burst: 50 } }), { pollTimeoutSec: 1, autoRetry: { maxRetryAttempts: 0 } });
  const tuning = protocol === 'onebot'
    ? { actionTimeoutMs: 2000, backoffMinMs: 20, backoffMaxMs: 200 }
    : { pingIntervalMs: 100, probeIntervalMs: 100, backoff: { minMs: 20, maxMs: 100 } };
  const qq = new QqConnector(qqConfigSchema.parse(qqSection), { backend: { tuning } });
  const irc = new LoopbackConnector('irc');
  const relay = new Relay({
    store, log, media, pruneIntervalMs: 0,
    routes: new StaticRoutes([[{ network: 'qq', room: QQ_ROOM }, { network: 'matrix', room }, { network: 'telegram', room: TG_ROOM }, { network: 'irc', room: IRC_ROOM }]]),
    outbox: { baseBackoffMs: 10, maxBackoffMs: 100, connectPollMs: 10 },
    onFailure: (f) => {
      failures.push(f);
      void matrix.deliveryFailed(f);
    },
  });
  for (const c of [qq, matrix, telegram, irc]) relay.register(c);
  await relay.start();
  cleanups.push(async () => {
    await relay.stop();
    await store.close();
  });
  hs.setAppserviceUrl(`http://127.0.0.1:${matrix.port}`);
  hs.inviteAs(ALICE, room, hs.botUserId);
  await waitFor(() => hs.membership(room, hs.botUserId) === 'join', 'bot joins on invite');
  await waitFor(() => qq.isConnected(), 'QQ online', 5000);

  /** Matrix events (m.room.message) of the room that are not redacted, as plain bodies. */
  const matrixBodies = () => hs.messages(room).filter((e) => !e.unsigned?.redacted_because).map((e) => String(e.content.body));
  const ircTexts = () => irc.remote.texts(IRC_ROOM);
  return { hs, room, tg, onebot, milky, qq, matrix, telegram, irc, relay, store, cap, failures, matrixBodies, ircTexts };
}

/** Waits until a QQ member's message reached Matrix, Telegram and the loopback; returns where. */
async function relayedFromQq(b: Awaited<ReturnType<typeof setup>>, text: string) {
  // Telegram shows the sender in front (a bot posts for everyone).
  const onTelegram = () => b.tg.sentTo(CHAT).find((s) => s.text?.endsWith(text));
  await waitFor(() => b.matrixBodies().includes(text) && onTelegram() !== undefined && b.ircTexts().includes(text), `"${text}" everywhere`);
  const event = b.hs.messages(b.room).find((e) => e.content.body === text)!;
  const tgMessage = onTelegram()!;
  return { event, tgMessage };
}

describe('a QQ recall deletes the copies', () => {
  it.each(['onebot', 'milky'] as const)('%s: the ghost\'s Matrix event is redacted, the Telegram copy deleted, the loopback told in one line', async (protocol) => {
    const b = await setup(protocol);
    let recall: () => Promise<unknown>;
    if (b.onebot) {
      const m = b.onebot.inject(GROUP, HUXI, 'oops, wrong group');
      recall = async () => b.onebot!.recallAs(HUXI, m.message_id);
    } else {
      const { message_seqs } = await milkyControl(b.milky!, '/inject', { group: GROUP, from: HUXI, text: 'oops, wrong group' });
      recall = () => milkyControl(b.milky!, '/recall', { group: GROUP, seq: message_seqs[0] });
    }
    const { event, tgMessage } = await relayedFromQq(b, 'oops, wrong group');
    expect(event.sender).toBe(ghost(HUXI));
    await recall();
    await waitFor(() => b.hs.redactionOf(event.event_id) !== undefined && b.tg.deleted.length === 1, 'redacted and deleted');
    // The ghost redacts its own event (no power level needed), and the content is gone.
    expect(b.hs.redactionOf(event.event_id)!.sender).toBe(ghost(HUXI));
    expect(b.matrixBodies()).not.toContain('oops, wrong group');
    expect(b.tg.deleted).toEqual([{ chatId: TG_ROOM, messageId: tgMessage.messageId }]);
    expect(b.tg.exists(CHAT, tgMessage.messageId)).toBe(false);
    // A network that cannot delete hears who recalled a message, never what it said.
    await waitFor(() => b.ircTexts().length === 2, 'the notice on the loopback');
    const notice = b.irc.remote.sent(IRC_ROOM)[1]!.delivery.message;
    expect(notice.kind).toBe('notice');
    expect(plainText(notice.parts)).toBe('recalled a message');
    expect(notice.origin.sender.id).toBe(String(HUXI));
    expect(b.failures).toEqual([]);
  });
});

describe('a Matrix redaction recalls the QQ copy', () => {
  it.each(['onebot', 'milky'] as const)('%s: recalled on QQ, deleted on Telegram; our own recall echo is not relayed back', async (protocol) => {
    const b = await setup(protocol);
    const e1 = b.hs.sendAs(BOB, b.room, { msgtype: 'm.text', body: 'a secret' });
    const qqSends = () => (b.onebot ? b.onebot.sends().length : 0);
    await waitFor(async () => (b.onebot ? qqSends() === 1 : (await milkyControl(b.milky!, '/sent')).length === 1) && b.tg.sentTo(CHAT).length === 1, 'the message on QQ and Telegram');
    b.hs.redactAs(BOB, b.room, e1);
    if (b.onebot) {
      await waitFor(() => b.onebot!.recalls.length === 1, 'delete_msg');
      expect(b.onebot.recalls[0]!.message_id).toBe(b.onebot.sends()[0]!.message_id);
      expect(b.onebot.messages(GROUP).some((m) => m.message_id === b.onebot!.sends()[0]!.message_id)).toBe(false);
    } else {
      await waitFor(async () => (await milkyControl(b.milky!, '/recalls')).length === 1, 'recall_group_message');
      const [sent] = await milkyControl(b.milky!, '/sent');
      expect((await milkyControl(b.milky!, '/recalls'))[0]).toEqual({ group: GROUP, message_seq: sent.message_seq, sender: BOT_QQ });
    }
    await waitFor(() => b.tg.deleted.length === 1, 'deleteMessage');
    expect(b.tg.deleted[0]!.messageId).toBe(b.tg.sentTo(CHAT)[0]!.messageId);
    // The implementation pushes our own recall back (operator = the account): never relayed.
    await waitFor(() => /our own QQ recall; not relayed back/.test(b.cap.text()), 'the echo seen and dropped');
    await sleep(200);
    expect(b.ircTexts()).toEqual(['a secret', 'deleted a message']);
    expect(b.hs.messages(b.room).filter((e) => e.sender !== BOB)).toEqual([]); // nothing came back into Matrix
    expect(b.tg.deleted).toHaveLength(1);
    expect(b.failures).toEqual([]);
    if (b.onebot) expect(b.onebot.violations()).toEqual([]);
    else expect(await milkyControl(b.milky!, '/violations')).toEqual([]);
  });

  it('a QQ member\'s message redacted in Matrix is recalled when the account is a QQ admin, refused (once, told in Matrix) when not', async () => {
    const b = await setup('onebot');
    const sim = b.onebot!;
    const m1 = sim.inject(GROUP, HUXI, 'first');
    const { event: e1 } = await relayedFromQq(b, 'first');
    // Alice moderates the Matrix room: she redacts the ghost's event.
    b.hs.redactAs(ALICE, b.room, e1.event_id);
    await waitFor(() => b.failures.length === 1, 'the refusal reported');
    expect(b.failures[0]).toMatchObject({ kind: 'rejected', messageKind: 'delete', target: { network: 'qq' } });
    expect(b.failures[0]!.reason).toMatch(/no permission to recall/);
    await waitFor(() => b.hs.messages(b.room).some((e) => /deletion could not be carried out on QQ/.test(String(e.content.body))), 'told in Matrix');
    await sleep(200);
    expect(sim.calls.filter((c) => c === 'delete_msg')).toHaveLength(1); // not a retry loop
    expect(sim.messages(GROUP).some((m) => m.message_id === m1.message_id)).toBe(true);

    sim.setAdmin(GROUP, BOT_QQ);
    const m2 = sim.inject(GROUP, HUXI, 'second');
    const { event: e2 } = await relayedFromQq(b, 'second');
    b.hs.redactAs(ALICE, b.room, e2.event_id);
    await waitFor(() => sim.recalls.length === 1, 'recalled as an admin');
    expect(sim.recalls[0]).toMatchObject({ message_id: m2.message_id, user_id: HUXI });
    expect(b.failures).toHaveLength(1);
  });

  it('QQ\'s two minutes: an old message of the account cannot be recalled; the refusal is reported, not retried', async () => {
    const b = await setup('milky');
    const e1 = b.hs.sendAs(BOB, b.room, { msgtype: 'm.text', body: 'long ago' });
    await waitFor(async () => (await milkyControl(b.milky!, '/sent')).length === 1, 'on QQ');
    const [sent] = await milkyControl(b.milky!, '/sent');
    await milkyControl(b.milky!, '/backdate', { group: GROUP, seq: sent.message_seq, seconds: 180 });
    b.hs.redactAs(BOB, b.room, e1);
    await waitFor(() => b.failures.length === 1, 'the refusal reported');
    expect(b.failures[0]!.reason).toMatch(/too old to recall/);
    await sleep(200);
    expect(await milkyControl(b.milky!, '/recalls')).toEqual([]);
    expect(b.failures).toHaveLength(1);
    // Telegram had no such limit to hit: its copy is gone.
    expect(b.tg.deleted).toHaveLength(1);
  });
});

describe('deletes wait behind what they delete, and drop what never went out', () => {
  it('a redaction of a message still queued for QQ (account offline): sent when QQ is back, then recalled', async () => {
    const b = await setup('onebot');
    const sim = b.onebot!;
    sim.setAccountOnline(false);
    await waitFor(() => !b.qq.isConnected(), 'QQ offline');
    const e1 = b.hs.sendAs(BOB, b.room, { msgtype: 'm.text', body: 'queued then deleted' });
    await waitFor(() => b.tg.sentTo(CHAT).length === 1, 'on Telegram meanwhile');
    b.hs.redactAs(BOB, b.room, e1);
    await waitFor(() => b.tg.deleted.length === 1, 'deleted on Telegram meanwhile');
    expect(sim.sends()).toEqual([]);
    sim.setAccountOnline(true);
    await waitFor(() => sim.recalls.length === 1, 'sent, then recalled', 5000);
    expect(sim.sends()).toHaveLength(1);
    expect(sim.recalls[0]!.message_id).toBe(sim.sends()[0]!.message_id);
    expect(sim.calls.indexOf('delete_msg')).toBeGreaterThan(sim.calls.indexOf('send_group_msg'));
    expect(sim.messages(GROUP).some((m) => m.message_id === sim.sends()[0]!.message_id)).toBe(false);
    expect(b.failures).toEqual([]);
  });

  it('a recall or redaction of a message the bridge never relayed is dropped with a debug line: no notice, no call', async () => {
    const b = await setup('onebot');
    const sim = b.onebot!;
    // Said before the bridge ran (never relayed), then recalled; and a Matrix event the bridge never took.
    sim.injectNotice({ notice_type: 'group_recall', group_id: GROUP, user_id: HUXI, operator_id: HUXI, message_id: 123456 });
    const stateEvent = b.hs.rooms.get(b.room)!.events.find((e) => e.type === 'm.room.name')!;
    b.hs.redactAs(ALICE, b.room, stateEvent.event_id);
    sim.inject(GROUP, HUXI, 'after');
    await relayedFromQq(b, 'after');
    await waitFor(() => /redaction of an event the bridge does not know; dropped/.test(b.cap.text()), 'the Matrix debug line');
    const lines = b.cap.text().split('\n').filter((l) => /does not know; dropped/.test(l));
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(JSON.parse(l).level).toBe(20); // debug
    expect(b.ircTexts()).toEqual(['after']);
    expect(sim.calls).not.toContain('delete_msg');
    expect(b.tg.deleted).toEqual([]);
    expect(b.failures).toEqual([]);
  });
});
