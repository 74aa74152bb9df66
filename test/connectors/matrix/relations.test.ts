/**
 * Edits, replies, redactions, files and ghost state, each through the real Relay, SQLite store
 * and the fake homeserver.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { renderForQq } from '../../../src/connectors/qq/format.js';
import { renderForTelegram } from '../../../src/connectors/telegram/format.js';
import { sourceId, type BridgeMessage } from '../../../src/core/message.js';
import { ALICE, BOB, DOMAIN, GROUP, PNG, cleanup, ghost, removeRoot, setup, waitFor } from './harness.js';

afterEach(cleanup);
afterAll(removeRoot);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Matrix → QQ', () => {
  it('an edit (m.replace) arrives as a correction of the original, with its own id', async () => {
    const b = await setup();
    const e1 = b.hs.sendAs(BOB, b.room, { msgtype: 'm.text', body: 'helo QQ' });
    await waitFor(() => b.qq.remote.sent(GROUP).length === 1, 'original');
    b.hs.sendAs(BOB, b.room, {
      msgtype: 'm.text', body: '* hello QQ',
      'm.new_content': { msgtype: 'm.text', body: 'hello QQ' },
      'm.relates_to': { rel_type: 'm.replace', event_id: e1 },
    });
    await waitFor(() => b.qq.remote.sent(GROUP).length === 2, 'edit');
    const [orig, edit] = b.qq.remote.sent(GROUP);
    expect(edit!.delivery.message.editOf).toBe(orig!.delivery.message.id);
    expect(edit!.delivery.message.id).not.toBe(orig!.delivery.message.id);
    expect(edit!.delivery.message.parts).toEqual([{ type: 'text', text: 'hello QQ' }]);
    expect(edit!.delivery.editOfRemoteIds).toEqual([orig!.remoteId]);
  });

  it('a redaction becomes a short notice saying who deleted a message, with no quote of it', async () => {
    const b = await setup();
    const e1 = b.hs.sendAs(BOB, b.room, { msgtype: 'm.text', body: 'oops' });
    await waitFor(() => b.qq.remote.sent(GROUP).length === 1, 'original');
    b.hs.redactAs(BOB, b.room, e1);
    await waitFor(() => b.qq.remote.sent(GROUP).length === 2, 'notice');
    const notice = b.qq.remote.sent(GROUP)[1]!.delivery;
    expect(notice.message.kind).toBe('notice');
    expect(notice.message.origin.sender).toEqual({ id: BOB, displayName: 'Bob' });
    expect(notice.message.parts).toEqual([{ type: 'text', text: 'deleted a message' }]);
    // No reply to the original: QQ would quote the text its author deleted.
    expect(notice.message.replyTo).toBeUndefined();
    expect(notice.replyToRemoteId).toBeUndefined();
    // QQ and Telegram readers see who deleted it.
    expect(renderForQq(notice.message)[0]).toEqual({ type: 'text', text: '[Bob] deleted a message' });
    const tg = renderForTelegram(notice.message)[0]!;
    expect(tg.type === 'text' && tg.plain).toBe('Bob: deleted a message');
  });

  it('a user\'s m.notice reaches QQ and Telegram as a named message; only the bridge\'s own notice goes bare', async () => {
    const b = await setup();
    b.hs.sendAs(BOB, b.room, { msgtype: 'm.notice', body: 'QQ connection lost; messages are queued' });
    await waitFor(() => b.qq.remote.sent(GROUP).length === 1, 'notice from Bob');
    const fromBob = b.qq.remote.sent(GROUP)[0]!.delivery.message;
    expect(fromBob.kind).toBe('message');
    expect(fromBob.fromBridge).toBeUndefined();
    expect(renderForQq(fromBob)).toEqual([{ type: 'text', text: '[Bob] QQ connection lost; messages are queued' }]);
    const tg = renderForTelegram(fromBob)[0]!;
    expect(tg.type === 'text' && tg.plain).toBe('Bob: QQ connection lost; messages are queued');

    const status: BridgeMessage = {
      id: 'bridge:status:1', origin: { network: 'bridge', room: 'status', sender: { id: 'qqbridge', displayName: 'qqbridge' } },
      kind: 'notice', parts: [{ type: 'text', text: 'QQ connection lost; messages are queued' }], time: Date.now(),
    };
    await b.relay.notify(status, [{ network: 'qq', room: GROUP }]);
    await waitFor(() => b.qq.remote.sent(GROUP).length === 2, 'bridge notice');
    const own = b.qq.remote.sent(GROUP)[1]!.delivery.message;
    expect(own.fromBridge).toBe(true);
    expect(renderForQq(own)).toEqual([{ type: 'text', text: 'QQ connection lost; messages are queued' }]);
  });

  it('with redactions: ignore, a redaction reaches QQ as nothing', async () => {
    const b = await setup({ redactions: 'ignore' });
    const e1 = b.hs.sendAs(BOB, b.room, { msgtype: 'm.text', body: 'oops' });
    b.hs.redactAs(BOB, b.room, e1);
    b.hs.sendAs(BOB, b.room, { msgtype: 'm.text', body: 'after' });
    await waitFor(() => b.qq.remote.sent(GROUP).length === 2, 'both messages');
    await sleep(100);
    expect(b.qq.remote.texts(GROUP)).toEqual(['oops', 'after']);
  });

  it('m.file is copied into the media store and linked there; a file it cannot fetch links the homeserver', async () => {
    const b = await setup();
    const pdf = Buffer.from('%PDF-1.4 a small report');
    const mxc = b.hs.uploadAs(pdf, 'application/pdf');
    b.hs.sendAs(BOB, b.room, { msgtype: 'm.file', body: 'report.pdf', url: mxc, info: { mimetype: 'application/pdf', size: pdf.length } });
    await waitFor(() => b.qq.remote.sent(GROUP).length === 1, 'file link');
    const [link] = b.qq.remote.sent(GROUP)[0]!.delivery.message.parts;
    expect(link).toMatchObject({ type: 'link', text: 'report.pdf' });
    const url = (link as { url: string }).url;
    expect(url).toMatch(/^http:\/\/media\.test\//);
    const stored = await b.media.get(url.split('/').pop()!);
    expect(Buffer.from(stored!.data).equals(pdf)).toBe(true);
    expect(stored!.mime).toBe('application/pdf');
    expect(b.hs.requests.some((r) => r.path === `/_matrix/client/v1/media/download/${DOMAIN}/${mxc.split('/').pop()}`)).toBe(true);

    b.hs.sendAs(BOB, b.room, { msgtype: 'm.video', body: 'clip.mp4', url: `mxc://${DOMAIN}/missingmedia` });
    await waitFor(() => b.qq.remote.sent(GROUP).length === 2, 'video link');
    expect(b.qq.remote.sent(GROUP)[1]!.delivery.message.parts).toEqual([
      { type: 'link', url: `${b.hs.url}/_matrix/media/v3/download/${DOMAIN}/missingmedia/clip.mp4`, text: 'clip.mp4' },
    ]);
  });

  it('the bridge bot is never a QQ-side sender: its notices stay in Matrix', async () => {
    const b = await setup();
    b.hs.sendAs(BOB, b.room, { msgtype: 'm.text', body: '!qq list' });
    await waitFor(() => b.hs.messages(b.room).some((e) => e.sender === b.hs.botUserId), 'bot notice');
    b.hs.sendAs(BOB, b.room, { msgtype: 'm.text', body: 'after' });
    await waitFor(() => b.qq.remote.sent(GROUP).length >= 1, 'message');
    await sleep(100);
    const sent = b.qq.remote.sent(GROUP);
    expect(sent.map((s) => s.delivery.message.origin.sender.id)).toEqual([BOB]);
    expect(b.qq.remote.texts(GROUP)).toEqual(['after']);
  });
});

describe('QQ → Matrix', () => {
  it('a reply points at the original event (m.in_reply_to); an edit replaces it (m.new_content + m.replace)', async () => {
    const b = await setup();
    const sender = { id: '10005', displayName: 'Writer', puppet: true };
    const first = await b.qq.inject(GROUP, { id: 'q1', sender, text: 'frist' });
    await waitFor(() => b.hs.messages(b.room).length === 1, 'original');
    const original = b.hs.messages(b.room)[0]!;

    await b.qq.inject(GROUP, { id: 'q2', sender: { id: '10006', displayName: 'Reader', puppet: true }, text: 'typo!', replyTo: first.id });
    await waitFor(() => b.hs.messages(b.room).length === 2, 'reply');
    const reply = b.hs.messages(b.room)[1]!;
    expect(reply.sender).toBe(ghost('10006'));
    expect(reply.content['m.relates_to']).toEqual({ 'm.in_reply_to': { event_id: original.event_id } });
    expect(reply.content.body).toBe('typo!');

    await b.qq.inject(GROUP, { id: 'q3', sender, text: 'first', editOf: sourceId('qq', GROUP, 'q1') });
    await waitFor(() => b.hs.messages(b.room).length === 3, 'edit');
    const edit = b.hs.messages(b.room)[2]!;
    expect(edit.sender).toBe(ghost('10005'));
    expect(edit.content).toMatchObject({
      msgtype: 'm.text',
      body: '* first',
      'm.new_content': { msgtype: 'm.text', body: 'first' },
      'm.relates_to': { rel_type: 'm.replace', event_id: original.event_id },
    });
  });

  it('a picture is uploaded under its original name, with its size; the bot is called "QQ bridge"', async () => {
    const b = await setup();
    expect(b.hs.profiles.get(b.hs.botUserId)).toBe('QQ bridge');
    const { mediaId } = await b.media.put(PNG, 'image/png');
    await b.qq.inject(GROUP, { sender: { id: '10007', displayName: 'Pic', puppet: true }, parts: [{ type: 'image', mediaId, mime: 'image/png', name: 'holiday.png', size: PNG.length }] });
    await waitFor(() => b.hs.messages(b.room).length === 1, 'm.image');
    const img = b.hs.messages(b.room)[0]!.content;
    expect(img).toMatchObject({ msgtype: 'm.image', body: 'holiday.png', info: { mimetype: 'image/png', size: PNG.length } });
    expect(b.hs.uploads).toEqual([{ filename: 'holiday.png', type: 'image/png', size: PNG.length }]);
  });

  it('ghost names and memberships survive a restart: no re-join, a rename only when the card changes', async () => {
    const b = await setup();
    const say = (displayName: string, text: string, id = '10008') => b.qq.inject(GROUP, { sender: { id, displayName, puppet: true }, text });
    await say('Global', 'one');
    await waitFor(() => b.hs.messages(b.room).length === 1, 'first');
    await say('Card B', 'two');
    await waitFor(() => b.hs.messages(b.room).length === 2, 'second');
    expect(b.hs.memberName(b.room, ghost('10008'))).toBe('Card B');

    const beforeRestart = b.hs.requests.length;
    const run2 = await b.restart();
    // The bot already has its name: not set again (that would post a member event in every room).
    const botProfilePuts = b.hs.requests.slice(beforeRestart).filter((r) => r.userId === b.hs.botUserId && r.method === 'PUT' && r.path.includes('/profile/'));
    expect(botProfilePuts).toHaveLength(0);
    expect(b.hs.profiles.get(b.hs.botUserId)).toBe('QQ bridge');
    const mark = b.hs.requests.length;
    const since = () => b.hs.requests.slice(mark);
    const ghostCalls = (re: RegExp, method: string) => since().filter((r) => r.userId === ghost('10008') && r.method === method && re.test(r.path));
    // (Explicit ids: the restarted loopback numbers its messages from 1 again.)
    await run2.qq.inject(GROUP, { id: 'after-restart-3', sender: { id: '10008', displayName: 'Card B', puppet: true }, text: 'three' });
    await waitFor(() => b.hs.messages(b.room).length === 3, 'third');
    expect(ghostCalls(/\/join\//, 'POST')).toHaveLength(0);
    // The membership is remembered across the restart: not even a check with the homeserver.
    expect(ghostCalls(/\/state\/m\.room\.member\//, 'GET')).toHaveLength(0);
    expect(ghostCalls(/\/state\/m\.room\.member\/|\/profile\//, 'PUT')).toHaveLength(0); // the store said: same name
    expect(b.hs.memberName(b.room, ghost('10008'))).toBe('Card B');

    await run2.qq.inject(GROUP, { id: 'after-restart-4', sender: { id: '10008', displayName: 'Card C', puppet: true }, text: 'four' });
    await waitFor(() => b.hs.messages(b.room).length === 4, 'fourth');
    expect(ghostCalls(/\/state\/m\.room\.member\//, 'PUT')).toHaveLength(1);
    expect(b.hs.memberName(b.room, ghost('10008'))).toBe('Card C');
    expect((await run2.store.getGhost(ghost('10008')))?.roomNames[b.room]).toBe('Card C');
  });

  it('a ghost kicked while the bridge was down joins again with the next QQ message after the restart', async () => {
    const b = await setup();
    await b.qq.inject(GROUP, { sender: { id: '10013', displayName: 'Away', puppet: true }, text: 'one' });
    await waitFor(() => b.hs.messages(b.room).length === 1, 'first');
    await b.run.stop();
    b.hs.kickAs(ALICE, b.room, ghost('10013'));
    const run2 = await b.restart();
    await run2.qq.inject(GROUP, { id: 'after-kick', sender: { id: '10013', displayName: 'Away', puppet: true }, text: 'two' });
    await waitFor(() => b.hs.messages(b.room).length === 2, 'second');
    expect(b.hs.messages(b.room)[1]!.sender).toBe(ghost('10013'));
    expect(b.hs.membership(b.room, ghost('10013'))).toBe('join');
    expect(b.hs.memberName(b.room, ghost('10013'))).toBe('Away');
  });

  it('a ghost kicked by a Matrix moderator joins again with the next QQ message', async () => {
    const b = await setup();
    await b.qq.inject(GROUP, { sender: { id: '10010', displayName: 'Kicked', puppet: true }, text: 'one' });
    await waitFor(() => b.hs.messages(b.room).length === 1, 'first');
    b.hs.kickAs(ALICE, b.room, ghost('10010'));
    await b.hs.settled();
    await b.qq.inject(GROUP, { sender: { id: '10010', displayName: 'Kicked', puppet: true }, text: 'two' });
    await waitFor(() => b.hs.messages(b.room).length === 2, 'second');
    expect(b.hs.membership(b.room, ghost('10010'))).toBe('join');
    expect(b.hs.messages(b.room)[1]!.sender).toBe(ghost('10010'));
  });

  it('a ghost that left comes back after a restart with its group card, not its global name', async () => {
    const b = await setup();
    await b.qq.inject(GROUP, { sender: { id: '10009', displayName: 'Global', puppet: true }, text: 'hi' });
    await b.qq.inject(GROUP, { sender: { id: '10009', displayName: 'Card', puppet: true }, text: 'renamed' });
    await b.qq.inject(GROUP, { kind: 'leave', sender: { id: '10009', displayName: 'Card', puppet: true }, parts: [] });
    await waitFor(() => b.hs.membership(b.room, ghost('10009')) === 'leave', 'left');
    const run2 = await b.restart();
    await run2.qq.inject(GROUP, { id: 'after-restart', sender: { id: '10009', displayName: 'Card', puppet: true }, text: 'back' });
    await waitFor(() => b.hs.messages(b.room).length === 3, 'back');
    expect(b.hs.membership(b.room, ghost('10009'))).toBe('join');
    expect(b.hs.memberName(b.room, ghost('10009'))).toBe('Card');
  });
});
