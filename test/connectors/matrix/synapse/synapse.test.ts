/**
 * The Matrix connector against a real Synapse 1.67 (legacy push paths, `?access_token=`), through
 * the Relay with a loopback QQ side: both directions, pictures, replies, edits, redactions, and
 * the homeserver restarted twice mid-stream (its transaction ids start again at 1).
 * One homeserver for the whole file; skipped with one line where synapse.sh is missing.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImagePart } from '../../../../src/core/message.js';
import { LoopbackNetwork } from '../../../support/loopback.js';
import { memoryMedia } from '../../../support/memory-media.js';
import { waitFor } from '../../../support/wait.js';
import { GROUP, Human, haveSynapse, startBridge, startSynapse, type Homeserver } from './harness.js';

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');
const PNG2 = Buffer.from('89504e470d0a1a0a0000000d49484452000000020000000208060000001f15c489', 'hex');
/** How long a ghost's avatar counts as current here (6 h in production), so a change is seen in the test. */
const AVATAR_REFRESH_MS = 300;

describe.skipIf(!haveSynapse)('Matrix connector against Synapse', () => {
  let hs: Homeserver;
  let alice: Human;
  let room: string;
  let bridge: Awaited<ReturnType<typeof startBridge>>;
  const remote = new LoopbackNetwork();
  const media = memoryMedia();
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-synapse-state-'));
  const ghost = (qq: string) => `@qq_${qq}:localhost`;
  const texts = () => remote.texts(GROUP);

  beforeAll(async () => {
    hs = await startSynapse();
    alice = await Human.register(hs, 'alice');
    await alice.api('PUT', `/_matrix/client/v3/profile/${encodeURIComponent(alice.userId)}/displayname`, { displayname: 'Alice' });
    room = (await alice.api<{ room_id: string }>('POST', '/_matrix/client/v3/createRoom', { name: 'bridged', preset: 'private_chat' })).room_id;
    bridge = await startBridge(hs, stateDir, [room], remote, media, [alice.userId], { avatarRefreshMs: AVATAR_REFRESH_MS });
    // Synapse 1.67 pushes the invitation on the legacy path with ?access_token=: the bot joins.
    await alice.api('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/invite`, { user_id: bridge.matrix.botUserId });
    await waitFor(async () => (await alice.state<{ membership: string }>(room, 'm.room.member', bridge.matrix.botUserId).catch(() => ({ membership: '' }))).membership === 'join', 'bot joins on invitation', 20_000);
  }, 180_000);

  afterAll(async () => {
    await bridge?.stop();
    await hs?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('Matrix → QQ and QQ → Matrix: text with names, a ghost per QQ member, its avatar refreshed when it changes', async () => {
    await alice.send(room, { msgtype: 'm.text', body: 'hi QQ' });
    await waitFor(() => texts().includes('hi QQ'), 'delivery to QQ', 20_000);
    const got = remote.sent(GROUP).find((s) => s.delivery.message.parts.some((p) => p.type === 'text' && p.text === 'hi QQ'))!;
    expect(got.delivery.message.origin.sender).toEqual({ id: alice.userId, displayName: 'Alice' });

    let picture = PNG;
    const avatars = http.createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'image/png' }).end(picture));
    await new Promise<void>((r) => avatars.listen(0, '127.0.0.1', r));
    const avatarUrl = `http://127.0.0.1:${(avatars.address() as AddressInfo).port}/10001.png`;
    await bridge.qq.inject(GROUP, { sender: { id: '10001', displayName: 'Card A', nickname: 'Nick A', puppet: true, avatarUrl }, text: 'hello Matrix' });
    await waitFor(async () => (await alice.messages(room)).some((e) => e.content.body === 'hello Matrix'), 'delivery to Matrix', 20_000);
    const ev = (await alice.messages(room)).find((e) => e.content.body === 'hello Matrix')!;
    expect(ev.sender).toBe(ghost('10001'));
    expect((await alice.state<{ displayname: string }>(room, 'm.room.member', ghost('10001'))).displayname).toBe('Card A');
    // The card is per room; the global profile carries the nickname.
    const profile = await alice.api<{ displayname: string; avatar_url: string }>('GET', `/_matrix/client/v3/profile/${encodeURIComponent(ghost('10001'))}`);
    expect(profile.displayname).toBe('Nick A');
    // The avatar is set without losing the card in this room (Synapse rewrites member events on a profile change).
    const dl = await fetch(`${hs.url}/_matrix/media/v3/download/${profile.avatar_url.slice('mxc://'.length)}`);
    expect(Buffer.from(await dl.arrayBuffer()).equals(PNG)).toBe(true);
    expect((await alice.state<{ displayname: string; avatar_url: string }>(room, 'm.room.member', ghost('10001')))).toMatchObject({ displayname: 'Card A', avatar_url: profile.avatar_url });

    // The QQ avatar changes: the next message after the refresh period sets the new picture, and
    // the card in this room survives Synapse rewriting the member event.
    picture = PNG2;
    await new Promise((r) => setTimeout(r, AVATAR_REFRESH_MS + 50));
    await bridge.qq.inject(GROUP, { sender: { id: '10001', displayName: 'Card A', nickname: 'Nick A', puppet: true, avatarUrl }, text: 'new face' });
    await waitFor(async () => (await alice.messages(room)).some((e) => e.content.body === 'new face'), 'second message', 20_000);
    const after = await alice.api<{ displayname: string; avatar_url: string }>('GET', `/_matrix/client/v3/profile/${encodeURIComponent(ghost('10001'))}`);
    expect(after.avatar_url).not.toBe(profile.avatar_url);
    const dl2 = await fetch(`${hs.url}/_matrix/media/v3/download/${after.avatar_url.slice('mxc://'.length)}`);
    expect(Buffer.from(await dl2.arrayBuffer()).equals(PNG2)).toBe(true);
    expect((await alice.state<{ displayname: string; avatar_url: string }>(room, 'm.room.member', ghost('10001')))).toMatchObject({ displayname: 'Card A', avatar_url: after.avatar_url });
    avatars.close();
  });

  it('pictures both ways through the media repository', async () => {
    const { mediaId } = await media.put(PNG, 'image/png');
    await bridge.qq.inject(GROUP, { sender: { id: '10002', displayName: 'Pic', puppet: true }, parts: [{ type: 'image', mediaId, mime: 'image/png' }] });
    await waitFor(async () => (await alice.messages(room)).some((e) => e.content.msgtype === 'm.image'), 'm.image', 20_000);
    const img = (await alice.messages(room)).find((e) => e.content.msgtype === 'm.image')!;
    const mxc = String(img.content.url);
    const dl = await fetch(`${hs.url}/_matrix/media/v3/download/${mxc.slice('mxc://'.length)}`);
    expect(Buffer.from(await dl.arrayBuffer()).equals(PNG)).toBe(true);

    const mine = await alice.upload(PNG, 'image/png');
    const before = remote.sent(GROUP).length;
    await alice.send(room, { msgtype: 'm.image', body: 'cat.png', url: mine, info: { mimetype: 'image/png', size: PNG.length } });
    await waitFor(() => remote.sent(GROUP).length === before + 1, 'picture to QQ', 20_000);
    const part = remote.sent(GROUP).at(-1)!.delivery.message.parts[0] as ImagePart;
    expect(part).toMatchObject({ type: 'image', mime: 'image/png', size: PNG.length, name: 'cat.png' });
    expect(Buffer.from((await media.get(part.mediaId!))!.data).equals(PNG)).toBe(true);
  });

  it('replies and edits both ways', async () => {
    const e1 = await alice.send(room, { msgtype: 'm.text', body: 'question' });
    await waitFor(() => texts().includes('question'), 'question', 20_000);
    await alice.send(room, { msgtype: 'm.text', body: '> <@alice:localhost> question\n\nanswer', 'm.relates_to': { 'm.in_reply_to': { event_id: e1 } } });
    await waitFor(() => texts().includes('answer'), 'reply', 20_000);
    const q = remote.sent(GROUP).find((s) => plain(s) === 'question')!;
    const a = remote.sent(GROUP).find((s) => plain(s) === 'answer')!;
    expect(a.delivery.message.replyTo).toBe(q.delivery.message.id);
    expect(a.delivery.replyToRemoteId).toBe(q.remoteId);
    await alice.send(room, { msgtype: 'm.text', body: '* question?', 'm.new_content': { msgtype: 'm.text', body: 'question?' }, 'm.relates_to': { rel_type: 'm.replace', event_id: e1 } });
    await waitFor(() => texts().includes('question?'), 'edit', 20_000);
    expect(remote.sent(GROUP).find((s) => plain(s) === 'question?')!.delivery.editOfRemoteIds).toEqual([q.remoteId]);

    // QQ side: a reply to Alice's message and an edit of a QQ message.
    const orig = await bridge.qq.inject(GROUP, { sender: { id: '10003', displayName: 'Editor', puppet: true }, text: 'typo', replyTo: q.delivery.message.id });
    await bridge.qq.inject(GROUP, { sender: { id: '10003', displayName: 'Editor', puppet: true }, text: 'fixed', editOf: orig.id });
    await waitFor(async () => (await alice.messages(room)).some((e) => e.content.body === '* fixed'), 'edit in Matrix', 20_000);
    const msgs = await alice.messages(room);
    // Synapse 1.67 shows an edited event with its latest content, so the reply is found by its sender.
    const typo = msgs.find((e) => e.sender === ghost('10003') && e.content.body !== '* fixed')!;
    expect(typo.content['m.relates_to']).toMatchObject({ 'm.in_reply_to': { event_id: e1 } });
    const fixed = msgs.find((e) => e.content.body === '* fixed')!;
    expect(fixed.content['m.relates_to']).toEqual({ rel_type: 'm.replace', event_id: typo.event_id });
  });

  it('a redaction tells QQ who deleted a message', async () => {
    const e = await alice.send(room, { msgtype: 'm.text', body: 'secret' });
    await waitFor(() => texts().includes('secret'), 'original', 20_000);
    await alice.redact(room, e);
    await waitFor(() => texts().includes('deleted a message'), 'notice', 20_000);
    const n = remote.sent(GROUP).at(-1)!.delivery.message;
    expect(n.kind).toBe('notice');
    expect(n.origin.sender.displayName).toBe('Alice');
    expect(n.replyTo).toBeUndefined(); // no quote of the deleted text
  });

  it('a deletion from QQ redacts the ghost\'s event, as that ghost', async () => {
    const sender = { id: '10004', displayName: 'Recaller', puppet: true };
    const m = await bridge.qq.inject(GROUP, { sender, text: 'take it back' });
    await waitFor(async () => (await alice.messages(room)).some((e) => e.content.body === 'take it back'), 'delivery to Matrix', 20_000);
    const ev = (await alice.messages(room)).find((e) => e.content.body === 'take it back')!;
    expect(ev.sender).toBe(ghost('10004'));
    await bridge.qq.inject(GROUP, { sender, kind: 'delete', deleteOf: m.id, text: 'recalled a message' });
    await waitFor(async () => (await alice.timeline(room)).some((e) => e.type === 'm.room.redaction' && (e as { redacts?: string }).redacts === ev.event_id), 'the redaction', 20_000);
    const redaction = (await alice.timeline(room)).find((e) => e.type === 'm.room.redaction' && (e as { redacts?: string }).redacts === ev.event_id)!;
    expect(redaction.sender).toBe(ghost('10004'));
    expect((await alice.messages(room)).find((e) => e.event_id === ev.event_id)!.content).toEqual({});
    // The redaction comes back to the bridge as the ghost's event: never relayed to QQ.
    await new Promise((r) => setTimeout(r, 500));
    expect(texts().filter((t) => /deleted a message/.test(t))).toHaveLength(1); // only the earlier test's
  });

  it('bridge info: the bot without power says so once, across a restart too; with power it writes m.bridge', async () => {
    const botNotices = async () => (await alice.messages(room)).filter((e) => e.sender === bridge.matrix.botUserId && /power level is too low/.test(String(e.content.body)));
    await waitFor(async () => (await botNotices()).length === 1, 'no-power notice', 20_000);
    // A restart still without the power says nothing more: the bot's room account data remembers.
    await bridge.stop();
    bridge = await startBridge(hs, stateDir, [room], remote, media, [alice.userId], { avatarRefreshMs: AVATAR_REFRESH_MS });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await botNotices()).toHaveLength(1);
    const pl = await alice.state<{ users: Record<string, number> }>(room, 'm.room.power_levels');
    await alice.api('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/state/m.room.power_levels/`, { ...pl, users: { ...pl.users, [bridge.matrix.botUserId]: 100 } });
    await bridge.stop();
    bridge = await startBridge(hs, stateDir, [room], remote, media, [alice.userId], { avatarRefreshMs: AVATAR_REFRESH_MS });
    await waitFor(async () => (await alice.state(room, 'uk.half-shot.bridge', 'qqbridge://qq/group/346167134').catch(() => undefined)) !== undefined, 'bridge info written', 20_000);
    expect(await alice.state(room, 'm.bridge', 'qqbridge://qq/group/346167134')).toMatchObject({ bridgebot: bridge.matrix.botUserId, protocol: { id: 'qq' }, channel: { id: '346167134' } });
    expect(await botNotices()).toHaveLength(1);
  });

  it('a message QQ refuses for good: a notice in reply to it in Matrix', async () => {
    bridge.qq.rejectWhen((d) => (d.message.parts.some((p) => p.type === 'text' && p.text === 'refuse me') ? 'refused' : undefined));
    const ev = await alice.send(room, { msgtype: 'm.text', body: 'refuse me' });
    await waitFor(async () => (await alice.messages(room)).some((e) => (e.content['m.relates_to'] as { 'm.in_reply_to'?: { event_id?: string } } | undefined)?.['m.in_reply_to']?.event_id === ev), 'status notice', 20_000);
    bridge.qq.rejectWhen(() => undefined);
  });

  it('Synapse restarted twice mid-stream: nothing lost, nothing duplicated, in order', async () => {
    const base = remote.sent(GROUP).length;
    const sent: string[] = [];
    const say = async (t: string) => {
      sent.push(t);
      await alice.send(room, { msgtype: 'm.text', body: t });
    };
    await say('r0');
    await hs.restart();
    await say('r1');
    await waitFor(() => texts().includes('r1'), 'after first restart', 30_000);
    await hs.restart();
    await say('r2');
    // A fresh id: the loopback QQ of the restarted bridge numbers its messages from n1 again.
    await bridge.qq.inject(GROUP, { id: 'after-restarts', sender: { id: '10004', displayName: 'Q', puppet: true }, text: 'q after restarts' });
    await waitFor(() => texts().includes('r2'), 'after second restart', 30_000);
    await waitFor(async () => (await alice.messages(room)).some((e) => e.content.body === 'q after restarts'), 'QQ → Matrix after restarts', 30_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(texts().slice(base)).toEqual(sent);
  }, 120_000);
});

function plain(s: { delivery: { message: { parts: { type: string; text?: string }[] } } }): string {
  return s.delivery.message.parts.map((p) => p.text ?? '').join('');
}
