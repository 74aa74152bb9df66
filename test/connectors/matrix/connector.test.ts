import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
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
    await b.qq.inject(GROUP, { sender: { id: '10001', displayName: 'Card A', nickname: 'Nick', puppet: true }, parts: [{ type: 'text', text: 'hello <b>', style: { bold: true } }] });
    await waitFor(() => b.hs.messages(b.room).length === 1, 'first message');
    const [m] = b.hs.messages(b.room);
    expect(m!.sender).toBe(ghost('10001'));
    expect(m!.content).toMatchObject({ msgtype: 'm.text', body: 'hello <b>', formatted_body: '<strong>hello &lt;b&gt;</strong>' });
    expect(b.hs.memberName(b.room, ghost('10001'))).toBe('Card A');
    // The card is this group's name only: the global profile carries the nickname.
    expect(b.hs.profiles.get(ghost('10001'))).toBe('Nick');
    // Without a known nickname, the global name is the QQ number, never the card.
    await b.qq.inject(GROUP, { sender: { id: '10009', displayName: 'Card Z', puppet: true }, text: 'z' });
    await waitFor(() => b.hs.messages(b.room).length === 2, 'message from a member without nickname');
    expect(b.hs.profiles.get(ghost('10009'))).toBe('QQ 10009');
    expect(b.hs.memberName(b.room, ghost('10009'))).toBe('Card Z');

    await b.qq.inject(GROUP, { sender: { id: '10001', displayName: 'Card B', nickname: 'Nick', puppet: true }, text: 'renamed' });
    await waitFor(() => b.hs.messages(b.room).length === 3, 'second message');
    expect(b.hs.memberName(b.room, ghost('10001'))).toBe('Card B');
    expect(b.hs.profiles.get(ghost('10001'))).toBe('Nick');
    const renames = () => b.hs.requests.filter((r) => r.method === 'PUT' && (r.path.includes('/state/m.room.member/') || r.path.includes('/profile/'))).length;
    const before = renames();
    await b.qq.inject(GROUP, { sender: { id: '10001', displayName: 'Card B', nickname: 'Nick', puppet: true }, text: 'same name' });
    await waitFor(() => b.hs.messages(b.room).length === 4, 'third message');
    expect(renames()).toBe(before); // name unchanged: no profile/state call
    expect((await b.store.getGhost(ghost('10001')))?.roomNames[b.room]).toBe('Card B');
    // Our ghosts' messages are never relayed back to QQ.
    await new Promise((r) => setTimeout(r, 100));
    expect(b.qq.remote.sent(GROUP)).toHaveLength(0);
  });

  it('ghost avatars come from the QQ avatar: uploaded once per content, set once, replaced when it changes', async () => {
    const b = await setup();
    let picture = PNG;
    let fetches = 0;
    const server = http.createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { 'Content-Type': 'image/png' }).end(picture);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const src = (n: string) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/avatar/${n}`;
      const say = async (id: string, avatar: string, text: string) => {
        const count = b.hs.messages(b.room).length;
        await b.qq.inject(GROUP, { sender: { id, displayName: `M${id}`, puppet: true, avatarUrl: avatar }, text });
        await waitFor(() => b.hs.messages(b.room).length === count + 1, text);
      };
      await say('10011', src('a'), 'one');
      const mxc = b.hs.avatars.get(ghost('10011'));
      expect(mxc).toMatch(/^mxc:\/\/test\.hs\//);
      expect(b.hs.media.get(mxc!.split('/').pop()!)?.data.equals(PNG)).toBe(true);
      await say('10011', src('a'), 'two');
      // A second member with the same picture: no second upload.
      await say('10012', src('b'), 'three');
      expect(b.hs.avatars.get(ghost('10012'))).toBe(mxc);
      expect(b.hs.uploads).toHaveLength(1);
      expect(fetches).toBe(2);
      const avatarSets = () => b.hs.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/avatar_url')).length;
      expect(avatarSets()).toBe(2);
      // The member changes their picture (a new source URL): a new upload, set once.
      picture = Buffer.concat([PNG, Buffer.from([0])]);
      await say('10011', src('a2'), 'four');
      expect(b.hs.avatars.get(ghost('10011'))).not.toBe(mxc);
      expect(b.hs.uploads).toHaveLength(2);
      expect(avatarSets()).toBe(3);
    } finally {
      server.close();
    }
  });

  it('QQ join/leave become ghost membership changes', async () => {
    const b = await setup();
    await b.qq.inject(GROUP, { kind: 'join', sender: { id: '10002', displayName: 'Newbie', puppet: true }, parts: [] });
    await waitFor(() => b.hs.membership(b.room, ghost('10002')) === 'join', 'ghost joined');
    // Joined under the global name (the QQ number here), then named as in the group.
    await waitFor(() => b.hs.memberName(b.room, ghost('10002')) === 'Newbie', 'ghost named as in the group');
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
    const other = b.hs.createRoomAs(ALICE, { powerLevels: { [b.hs.botUserId]: 50 } });
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
    // Admins may promote others in rooms the bridge creates.
    expect((r.state.get('m.room.power_levels\0') as { users: Record<string, number> }).users[ADMIN]).toBe(100);
    expect(r.members.get(ALICE)).toBeUndefined();
    expect(((await b.store.getLink(`matrix:${roomId}`))?.link as MappingLink | undefined)?.rooms.filter((r) => r.network === 'qq')).toEqual([{ network: 'qq', room: 'group:654321', readOnly: false }]);
    // A group the account is in but the config does not list, and a malformed alias: 404.
    expect(await b.hs.resolveAlias('#qq_777777:test.hs')).toBeUndefined();
    expect(await b.hs.resolveAlias('#qq_notanumber:test.hs')).toBeUndefined();
    expect(await b.store.listLinks()).toHaveLength(1);
  });

  it('a portal room follows its QQ group\'s name and topic (checked at start, written only on change)', async () => {
    const groups: Record<number, { name?: string; topic?: string }> = { 654321: { name: 'Lobby', topic: 'memo 1' } };
    const b = await setup({ groups, portals: true });
    const roomId = (await b.hs.resolveAlias('#qq_654321:test.hs'))!;
    const r = b.hs.rooms.get(roomId)!;
    expect(r.state.get('m.room.name\0')).toEqual({ name: 'Lobby' });
    groups[654321] = { name: 'Lobby (renamed)', topic: 'memo 2' };
    const run2 = await b.restart();
    await waitFor(() => r.state.get('m.room.topic\0')?.topic === 'memo 2', 'topic follows the group');
    expect(r.state.get('m.room.name\0')).toEqual({ name: 'Lobby (renamed)' });
    const changes = () => r.events.filter((e) => e.type === 'm.room.name' || e.type === 'm.room.topic').length;
    const before = changes();
    await run2.stop();
    await b.restart();
    await waitFor(() => b.hs.requests.filter((q) => q.method === 'GET' && q.path.endsWith('/state/m.room.topic/')).length >= 2, 'checked again');
    await b.hs.settled();
    expect(changes()).toBe(before);
    // A plumbed room keeps the name its owners gave it.
    expect(b.hs.rooms.get(b.room)!.state.get('m.room.name\0')).toEqual({ name: 'bridged' });
  });

  it('a portal alias for a group already bridged (config or earlier link) names that room, never a second one', async () => {
    const b = await setup({ groups: { 346167134: {}, 654321: {} }, portals: true });
    const roomsBefore = b.hs.rooms.size;
    expect(await b.hs.resolveAlias('#qq_346167134:test.hs')).toBe(b.room);
    // A portal made once, then asked for again under the same group, stays one room too.
    const portal = await b.hs.resolveAlias('#qq_654321:test.hs');
    expect(b.hs.rooms.size).toBe(roomsBefore + 1);
    b.hs.aliases.delete('#qq_654321:test.hs'); // say an admin removed the alias
    expect(await b.hs.resolveAlias('#qq_654321:test.hs')).toBe(portal);
    expect(b.hs.rooms.size).toBe(roomsBefore + 1);
    expect(await b.store.listLinks()).toHaveLength(1);
  });
});

describe('Matrix conventions', () => {
  const KEY = 'qqbridge://qq/group/346167134';

  it('every bridged room carries m.bridge and uk.half-shot.bridge, written once across restarts', async () => {
    const b = await setup({ groups: { 346167134: { name: 'Lobby' } } });
    const r = () => b.hs.rooms.get(b.room)!;
    await waitFor(() => r().state.has(`uk.half-shot.bridge\0${KEY}`), 'bridge info');
    const info = r().state.get(`m.bridge\0${KEY}`);
    expect(info).toEqual({ bridgebot: b.hs.botUserId, protocol: { id: 'qq', displayname: 'QQ' }, network: { id: 'group', displayname: 'QQ groups' }, channel: { id: '346167134', displayname: 'Lobby' } });
    expect(r().state.get(`uk.half-shot.bridge\0${KEY}`)).toEqual(info);
    const count = () => r().events.filter((e) => e.type === 'm.bridge' || e.type === 'uk.half-shot.bridge').length;
    expect(count()).toBe(2);
    await b.restart();
    await waitFor(() => b.hs.requests.filter((q) => q.method === 'GET' && q.path.includes('/state/uk.half-shot.bridge/')).length >= 2, 'checked again after the restart');
    await b.hs.settled();
    expect(count()).toBe(2);
  });

  it('in a plumbed room where the bot lacks the power to write it, the room is told once, across restarts too', async () => {
    const b = await setup();
    const other = b.hs.createRoomAs(ALICE, {});
    b.hs.joinAs(ADMIN, other, 'Admin');
    b.hs.inviteAs(ADMIN, other, b.hs.botUserId);
    await waitFor(() => b.hs.membership(other, b.hs.botUserId) === 'join', 'bot in room');
    const notices = () => b.hs.messages(other).filter((e) => e.sender === b.hs.botUserId).map((e) => String(e.content.body));
    b.hs.sendAs(ADMIN, other, { msgtype: 'm.text', body: '!qq link 123456' });
    await waitFor(() => notices().length === 2, 'link confirmation and power notice');
    b.hs.sendAs(ADMIN, other, { msgtype: 'm.text', body: '!qq link 123456' });
    await waitFor(() => notices().length === 3, 'second confirmation');
    await b.hs.settled();
    expect(notices().filter((n) => /power level is too low/.test(n))).toHaveLength(1);
    expect(b.hs.rooms.get(other)!.state.has(`m.bridge\0qqbridge://qq/group/123456`)).toBe(false);
    // Once ever: a restart tries the bridge info again, finds the room told (the bot's room account data) and says nothing.
    const asked = () => b.hs.requests.filter((q) => q.method === 'GET' && q.path.endsWith('/account_data/net.qqbridge.room_notes')).length;
    const before = asked();
    await b.restart();
    await waitFor(() => asked() > before, 'the room notes read again after the restart');
    await b.hs.settled();
    expect(notices().filter((n) => /power level is too low/.test(n))).toHaveLength(1);
  });

  it('a Matrix message QQ refuses for good: its author sees a notice in reply to it', async () => {
    const b = await setup();
    b.qq.rejectWhen((d) => (d.message.parts.some((p) => p.type === 'text' && p.text.includes('refused')) ? 'QQ refused the message' : undefined));
    const ev = b.hs.sendAs(BOB, b.room, { msgtype: 'm.text', body: 'this is refused' });
    b.hs.sendAs(BOB, b.room, { msgtype: 'm.text', body: 'this is fine' });
    await waitFor(() => b.hs.messages(b.room).some((e) => e.sender === b.hs.botUserId), 'status notice');
    const notice = b.hs.messages(b.room).find((e) => e.sender === b.hs.botUserId)!;
    expect(notice.content).toMatchObject({ msgtype: 'm.notice', 'm.relates_to': { 'm.in_reply_to': { event_id: ev } } });
    expect(String(notice.content.body)).toMatch(/could not be delivered to QQ/);
    await waitFor(() => b.qq.remote.texts(GROUP).includes('this is fine'), 'the next message');
    expect(b.hs.messages(b.room).filter((e) => e.sender === b.hs.botUserId)).toHaveLength(1);
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
    expect(() => loadRegistration(path.join(import.meta.dirname, '../../../registration.example.yaml'))).toThrow(/placeholder/);
    const bad = path.join(root, 'bad.yaml');
    fs.writeFileSync(bad, 'id: x\nurl: y\nsender_localpart: b\nhs_token: h\n');
    expect(() => loadRegistration(bad)).toThrow(/bad\.yaml: as_token/);
    expect(() => loadRegistration(path.join(root, 'missing.yaml'))).toThrow(/cannot read Matrix registration/);
  });
});
