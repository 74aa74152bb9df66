import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { buildRegistration, loadRegistration, writeRegistration } from '../../../src/connectors/matrix/registration.js';
import type { ImagePart } from '../../../src/core/message.js';
import type { MappingLink } from '../../../src/mappings/config.js';
import { ADMIN, ALICE, BOB, GROUP, PNG, cleanup, ghost, removeRoot, root, setup, waitFor } from './harness.js';

afterEach(cleanup);
afterAll(removeRoot);

describe('MatrixConnector', () => {
  it('QQ → Matrix: a ghost per member speaks with the group card, renamed when the card changes', async () => {
    const b = await setup();
    await b.qq.inject(GROUP, { sender: { id: '10001', displayName: 'Card A', puppet: true }, parts: [{ type: 'text', text: 'hello <b>', style: { bold: true } }] });
    await waitFor(() => b.hs.messages(b.room).length === 1, 'first message');
    const [m] = b.hs.messages(b.room);
    expect(m!.sender).toBe(ghost('10001'));
    expect(m!.content).toMatchObject({ msgtype: 'm.text', body: 'hello <b>', formatted_body: '<strong>hello &lt;b&gt;</strong>' });
    expect(b.hs.memberName(b.room, ghost('10001'))).toBe('Card A');

    await b.qq.inject(GROUP, { sender: { id: '10001', displayName: 'Card B', puppet: true }, text: 'renamed' });
    await waitFor(() => b.hs.messages(b.room).length === 2, 'second message');
    expect(b.hs.memberName(b.room, ghost('10001'))).toBe('Card B');
    const renames = () => b.hs.requests.filter((r) => r.method === 'PUT' && (r.path.includes('/state/m.room.member/') || r.path.includes('/profile/'))).length;
    const before = renames();
    await b.qq.inject(GROUP, { sender: { id: '10001', displayName: 'Card B', puppet: true }, text: 'same name' });
    await waitFor(() => b.hs.messages(b.room).length === 3, 'third message');
    expect(renames()).toBe(before); // name unchanged: no profile/state call
    expect((await b.store.getGhost(ghost('10001')))?.roomNames[b.room]).toBe('Card B');
    // Our ghosts' messages are never relayed back to QQ.
    await new Promise((r) => setTimeout(r, 100));
    expect(b.qq.remote.sent(GROUP)).toHaveLength(0);
  });

  it('QQ join/leave become ghost membership changes', async () => {
    const b = await setup();
    await b.qq.inject(GROUP, { kind: 'join', sender: { id: '10002', displayName: 'Newbie', puppet: true }, parts: [] });
    await waitFor(() => b.hs.membership(b.room, ghost('10002')) === 'join', 'ghost joined');
    expect(b.hs.memberName(b.room, ghost('10002'))).toBe('Newbie');
    await b.qq.inject(GROUP, { kind: 'leave', sender: { id: '10002', displayName: 'Newbie', puppet: true }, parts: [] });
    await waitFor(() => b.hs.membership(b.room, ghost('10002')) === 'leave', 'ghost left');
    expect(b.hs.messages(b.room)).toHaveLength(0);
  });

  it('Matrix → QQ: text with the display name, replies resolved, own events ignored', async () => {
    const b = await setup();
    const e1 = b.hs.sendAs(BOB, b.room, { msgtype: 'm.text', body: 'hi QQ', format: 'org.matrix.custom.html', formatted_body: 'hi <a href="https://matrix.to/#/@alice:test.hs">Alice</a>' });
    await waitFor(() => b.qq.remote.sent(GROUP).length === 1, 'delivery to QQ');
    const first = b.qq.remote.sent(GROUP)[0]!.delivery.message;
    expect(first.origin.sender).toEqual({ id: BOB, displayName: 'Bob' });
    expect(first.parts).toEqual([{ type: 'text', text: 'hi ' }, { type: 'mention', userId: ALICE, name: 'Alice' }]);
    b.hs.sendAs(BOB, b.room, { msgtype: 'm.emote', body: '> <@bob:test.hs> hi QQ\n\nwaves', 'm.relates_to': { 'm.in_reply_to': { event_id: e1 } } });
    await waitFor(() => b.qq.remote.sent(GROUP).length === 2, 'reply to QQ');
    const reply = b.qq.remote.sent(GROUP)[1]!.delivery;
    expect(reply.message.kind).toBe('action');
    expect(reply.message.parts).toEqual([{ type: 'text', text: 'waves' }]);
    expect(reply.message.replyTo).toBe(first.id);
    expect(reply.replyToRemoteId).toBe(b.qq.remote.sent(GROUP)[0]!.remoteId);
  });

  it('pictures both ways: upload to the media repo as m.image, and download into the media store', async () => {
    const b = await setup();
    const { mediaId } = await b.media.put(PNG, 'image/png');
    await b.qq.inject(GROUP, { sender: { id: '10003', displayName: 'Pic', puppet: true }, parts: [{ type: 'image', mediaId, mime: 'image/png' }] });
    await waitFor(() => b.hs.messages(b.room).length === 1, 'm.image');
    const img = b.hs.messages(b.room)[0]!.content as { msgtype: string; url: string; info: { mimetype: string; size: number } };
    expect(img.msgtype).toBe('m.image');
    expect(img.info).toEqual({ mimetype: 'image/png', size: PNG.length });
    expect(b.hs.media.get(img.url.split('/').pop()!)?.data.equals(PNG)).toBe(true);

    const mxc = b.hs.uploadAs(PNG, 'image/png');
    b.hs.sendAs(BOB, b.room, { msgtype: 'm.image', body: 'cat.png', url: mxc, info: { mimetype: 'image/png', size: PNG.length } });
    await waitFor(() => b.qq.remote.sent(GROUP).length === 1, 'image to QQ');
    const part = b.qq.remote.sent(GROUP)[0]!.delivery.message.parts[0] as ImagePart;
    expect(part).toMatchObject({ type: 'image', mime: 'image/png', size: PNG.length, name: 'cat.png' });
    const stored = await b.media.get(part.mediaId!);
    expect(Buffer.from(stored!.data).equals(PNG)).toBe(true);
    // The authenticated v1 endpoint was used.
    expect(b.hs.requests.some((r) => r.path.startsWith('/_matrix/client/v1/media/download/'))).toBe(true);
  });

  it('a replayed transaction is processed once; a wrong hs_token is refused', async () => {
    const b = await setup();
    b.hs.sendAs(BOB, b.room, { msgtype: 'm.text', body: 'once' });
    await waitFor(() => b.qq.remote.sent(GROUP).length === 1, 'first delivery');
    const ev = b.hs.messages(b.room)[0]!;
    expect(await b.hs.pushTransaction([ev], 'replay')).toBe(200);
    expect(await b.hs.pushTransaction([ev], 'replay')).toBe(200);
    expect(await b.hs.pushTransaction([ev], 'another')).toBe(200);

    const forged = { ...ev, event_id: '$forged', content: { msgtype: 'm.text', body: 'forged' } };
    const res = await fetch(`http://127.0.0.1:${b.matrix.port}/_matrix/app/v1/transactions/x1`, {
      method: 'PUT', headers: { Authorization: 'Bearer wrong', 'Content-Type': 'application/json' }, body: JSON.stringify({ events: [forged] }),
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ errcode: 'M_FORBIDDEN' });
    await new Promise((r) => setTimeout(r, 150));
    expect(b.qq.remote.texts(GROUP)).toEqual(['once']);
  });

  it('a homeserver answering 5xx then 429 for a while gets every message later, in order, once', async () => {
    const b = await setup();
    b.hs.failNext(3, { status: 502, errcode: 'M_UNKNOWN' });
    b.hs.failNext(3, { status: 429, errcode: 'M_LIMIT_EXCEEDED', retryAfterMs: 30 });
    const texts = Array.from({ length: 6 }, (_, i) => `m${i}`);
    for (const t of texts) await b.qq.inject(GROUP, { sender: { id: '10004', displayName: 'Busy', puppet: true }, text: t });
    await waitFor(() => b.hs.messages(b.room).length === 6, 'all six', 10_000);
    expect(b.hs.messages(b.room).map((e) => e.content.body)).toEqual(texts);
    expect(b.hs.requests.filter((r) => r.status === 502).length).toBe(3);
    expect(b.hs.requests.filter((r) => r.status === 429).length).toBe(3);
  });

  it('a stranger who creates a room (power 100) and invites the bot is declined and cannot link it', async () => {
    const b = await setup({ groups: { 123456: {} } });
    const MALLORY = '@mallory:evil.example';
    const theirs = b.hs.createRoomAs(MALLORY, {});
    b.hs.inviteAs(MALLORY, theirs, b.hs.botUserId);
    await waitFor(() => b.hs.membership(theirs, b.hs.botUserId) === 'leave', 'invitation declined');
    // Even with the bot inside (say, joined before this release), their power 100 links nothing.
    b.hs.inviteAs(ADMIN, theirs, b.hs.botUserId);
    await waitFor(() => b.hs.membership(theirs, b.hs.botUserId) === 'join', 'admin invitation accepted');
    const notices = () => b.hs.messages(theirs).filter((e) => e.sender === b.hs.botUserId).map((e) => String(e.content.body));
    b.hs.sendAs(MALLORY, theirs, { msgtype: 'm.text', body: '!qq link 123456' });
    await waitFor(() => notices().length === 1, 'refusal');
    expect(notices()[0]).toMatch(/only bridge admins can link/);
    b.hs.sendAs(MALLORY, theirs, { msgtype: 'm.text', body: '!qq unlink' });
    b.hs.sendAs(MALLORY, theirs, { msgtype: 'm.text', body: 'hello QQ' });
    await waitFor(() => notices().length === 2, 'second refusal');
    await b.hs.settled();
    expect(await b.store.listLinks()).toHaveLength(0);
    expect(b.qq.remote.sent('group:123456')).toHaveLength(0);
  });

  it('!qq link: an admin links a room; its moderator may unlink it but not link it again', async () => {
    const b = await setup();
    const other = b.hs.createRoomAs(ALICE, {});
    b.hs.joinAs(BOB, other, 'Bob');
    b.hs.joinAs(ADMIN, other, 'Admin');
    b.hs.inviteAs(ADMIN, other, b.hs.botUserId);
    await waitFor(() => b.hs.membership(other, b.hs.botUserId) === 'join', 'bot in second room');
    const notices = () => b.hs.messages(other).filter((e) => e.sender === b.hs.botUserId).map((e) => String(e.content.body));

    b.hs.sendAs(BOB, other, { msgtype: 'm.text', body: '!qq link 123456' });
    await waitFor(() => notices().length === 1, 'refusal');
    expect(notices()[0]).toMatch(/only bridge admins can link/);
    expect(await b.store.listLinks()).toHaveLength(0);

    b.hs.sendAs(ADMIN, other, { msgtype: 'm.text', body: '!qq link 123456' });
    await waitFor(() => notices().length === 2, 'confirmation');
    expect(notices()[1]).toBe('linked this room to QQ group 123456');
    const stored = await b.store.listLinks();
    expect(stored.map((l) => (l.link as MappingLink).rooms.map((r) => r.room))).toEqual([['group:123456', other]]);
    expect(b.links.at(-1)?.[0]?.rooms.filter((r) => r.network === 'qq')).toEqual([{ network: 'qq', room: 'group:123456', readOnly: false }]);

    // Bob (power 0) may not unlink; Alice (the room's creator, power 100) may, in her linked room.
    b.hs.sendAs(BOB, other, { msgtype: 'm.text', body: '!qq unlink' });
    await waitFor(() => notices().length === 3, 'refusal to Bob');
    expect(await b.store.listLinks()).toHaveLength(1);
    b.hs.sendAs(ALICE, other, { msgtype: 'm.text', body: '!qq unlink' });
    await waitFor(() => notices().length === 4, 'unlink');
    expect(notices()[3]).toBe('unlinked this room');
    expect(await b.store.listLinks()).toHaveLength(0);
    expect(b.links.at(-1)).toEqual([]);
    b.hs.sendAs(ALICE, other, { msgtype: 'm.text', body: '!qq link 123456' });
    await waitFor(() => notices().length === 5, 'refusal to Alice');
    expect(notices()[4]).toMatch(/only bridge admins can link/);
    expect(await b.store.listLinks()).toHaveLength(0);
  });

  it('alias queries for #qq_<group> answer 404 while portals are off (the default)', async () => {
    const b = await setup({ groups: { 654321: {} } });
    expect(await b.hs.resolveAlias('#qq_654321:test.hs')).toBeUndefined();
    expect([...b.hs.aliases.keys()]).toEqual([]);
    expect(await b.store.listLinks()).toHaveLength(0);
  });

  it('with portals on, an alias query creates an invite-only portal room (admins invited) and links it', async () => {
    const b = await setup({ groups: { 654321: {}, 777777: {} }, portals: true, portalGroups: [654321] });
    const roomId = await b.hs.resolveAlias('#qq_654321:test.hs');
    expect(roomId).toBeDefined();
    const r = b.hs.rooms.get(roomId!)!;
    expect(r.public).toBe(false);
    expect(r.state.get('m.room.join_rules\0')).toEqual({ join_rule: 'invite' });
    expect(r.state.get('m.room.name\0')).toEqual({ name: 'QQ group 654321' });
    expect(String(r.state.get('m.room.topic\0')?.topic)).toContain('654321');
    expect(r.members.get(b.hs.botUserId)).toBe('join');
    expect(r.members.get(ADMIN)).toBe('invite');
    expect(r.members.get(ALICE)).toBeUndefined();
    expect(((await b.store.getLink(`matrix:${roomId}`))?.link as MappingLink | undefined)?.rooms.filter((r) => r.network === 'qq')).toEqual([{ network: 'qq', room: 'group:654321', readOnly: false }]);
    // A group the account is in but the config does not list, and a malformed alias: 404.
    expect(await b.hs.resolveAlias('#qq_777777:test.hs')).toBeUndefined();
    expect(await b.hs.resolveAlias('#qq_notanumber:test.hs')).toBeUndefined();
    expect(await b.store.listLinks()).toHaveLength(1);
  });
});

describe('Matrix registration', () => {
  it('generates fresh tokens and an escaped exclusive namespace, writes 0600 and loads back', () => {
    const a = buildRegistration({ id: 'qqbridge', url: 'http://127.0.0.1:8090', domain: 'ex.org', userPrefix: 'qq_', senderLocalpart: 'qqbridge' });
    const b = buildRegistration({ id: 'qqbridge', url: 'http://127.0.0.1:8090', domain: 'ex.org', userPrefix: 'qq_', senderLocalpart: 'qqbridge' });
    expect(a.as_token).not.toBe(b.as_token);
    expect(a.as_token).not.toBe(a.hs_token);
    expect(a.namespaces.users).toEqual([{ exclusive: true, regex: '@qq_\\d+:ex\\.org' }]);
    expect(new RegExp(`^${a.namespaces.users[0]!.regex}$`).test('@qq_123:exXorg')).toBe(false);
    expect(a.rate_limited).toBe(false);
    const file = path.join(root, 'reg.yaml');
    writeRegistration(file, a);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(loadRegistration(file)).toEqual(a);
  });

  it('refuses the committed example (placeholders) and broken files with a clear error', () => {
    expect(() => loadRegistration(path.join(import.meta.dirname, '../../../registration.yaml'))).toThrow(/placeholder/);
    const bad = path.join(root, 'bad.yaml');
    fs.writeFileSync(bad, 'id: x\nurl: y\nsender_localpart: b\nhs_token: h\n');
    expect(() => loadRegistration(bad)).toThrow(/bad\.yaml: as_token/);
    expect(() => loadRegistration(path.join(root, 'missing.yaml'))).toThrow(/cannot read Matrix registration/);
  });
});
