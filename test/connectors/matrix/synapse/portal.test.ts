/**
 * Portal rooms against a real Synapse 1.67: an alias query for a group the config already bridges
 * names that room (no second room); a new portal gives the admins power 100, carries the group's
 * name, topic and avatar, follows them when they change (written only on change) and relays both
 * ways. Skipped with one line where synapse.sh is missing.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeLinks } from '../../../../src/bridge.js';
import { matrixConfigSchema } from '../../../../src/connectors/matrix/config.js';
import { MatrixConnector } from '../../../../src/connectors/matrix/connector.js';
import type { GroupInfo } from '../../../../src/connectors/matrix/links.js';
import { Relay } from '../../../../src/core/relay.js';
import { silentLogger } from '../../../../src/log.js';
import type { MappingLink } from '../../../../src/mappings/config.js';
import { MappingRouteTable } from '../../../../src/mappings/routes.js';
import { openStore, type Store } from '../../../../src/store/store.js';
import { LoopbackConnector, LoopbackNetwork } from '../../../support/loopback.js';
import { memoryMedia } from '../../../support/memory-media.js';
import { waitFor } from '../../../support/wait.js';
import { DOMAIN, GROUP, Human, haveSynapse, startSynapse, type Homeserver } from './harness.js';

const PNG1 = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');
const PNG2 = Buffer.from('89504e470d0a1a0a0000000d49484452000000020000000208060000001f15c489', 'hex');
const PORTAL_GROUP = 654321;
const SYNC_MS = 300;

describe.skipIf(!haveSynapse)('portal rooms against Synapse', () => {
  let hs: Homeserver;
  let alice: Human;
  let mapped: string;
  let store: Store;
  let relay: Relay;
  let matrix: MatrixConnector;
  let qq: LoopbackConnector;
  let avatars: http.Server;
  let picture = PNG1;
  const remote = new LoopbackNetwork();
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-synapse-portal-'));
  const groups = new Map<number, GroupInfo>();

  beforeAll(async () => {
    avatars = http.createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'image/png' }).end(picture));
    await new Promise<void>((r) => avatars.listen(0, '127.0.0.1', r));
    const avatarUrl = `http://127.0.0.1:${(avatars.address() as AddressInfo).port}/group.png`;
    groups.set(Number(GROUP.slice('group:'.length)), { name: 'Configured group' });
    groups.set(PORTAL_GROUP, { name: 'Portal group', topic: 'memo 1', avatarUrl });

    hs = await startSynapse();
    alice = await Human.register(hs, 'alice');
    mapped = (await alice.api<{ room_id: string }>('POST', '/_matrix/client/v3/createRoom', { name: 'configured', preset: 'private_chat' })).room_id;
    const configured: MappingLink[] = [{ rooms: [{ network: 'qq', room: GROUP, readOnly: false }, { network: 'matrix', room: mapped, readOnly: false }] }];
    const routes = new MappingRouteTable(configured);
    store = await openStore({ stateDir }, silentLogger);
    const config = matrixConfigSchema.parse({ homeserverUrl: hs.url, domain: DOMAIN, registration: '/unused', port: hs.bridgePort, admins: [alice.userId], portals: true });
    matrix = new MatrixConnector(config, {
      store, registration: hs.reg, rooms: [mapped], portalSyncMs: SYNC_MS,
      onLinksChanged: (runtime) => routes.replace(mergeLinks(configured, runtime)),
      groupInfo: async (n) => groups.get(n),
      mappedRoom: (n) => (`group:${n}` === GROUP ? mapped : undefined),
      groupOf: (r) => (r === mapped ? Number(GROUP.slice('group:'.length)) : undefined),
    });
    qq = new LoopbackConnector('qq', { remote });
    relay = new Relay({ store, media: memoryMedia(), log: silentLogger, routes, outbox: { baseBackoffMs: 20, maxBackoffMs: 500, connectPollMs: 20 } });
    relay.register(qq);
    relay.register(matrix);
    await relay.start();
    await alice.api('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(mapped)}/invite`, { user_id: matrix.botUserId });
    await waitFor(async () => (await alice.state<{ membership: string }>(mapped, 'm.room.member', matrix.botUserId).catch(() => ({ membership: '' }))).membership === 'join', 'bot joins the configured room', 20_000);
  }, 180_000);

  afterAll(async () => {
    await relay?.stop();
    await store?.close();
    await hs?.stop();
    avatars?.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const resolve = async (alias: string) => (await alice.api<{ room_id: string }>('GET', `/_matrix/client/v3/directory/room/${encodeURIComponent(alias)}`)).room_id;
  const download = async (mxc: string) => Buffer.from(await (await fetch(`${hs.url}/_matrix/media/v3/download/${mxc.slice('mxc://'.length)}`)).arrayBuffer());

  it('the alias of a group the config bridges names that room, not a second one', async () => {
    expect(await resolve(`#qq_${GROUP.slice('group:'.length)}:${DOMAIN}`)).toBe(mapped);
    const joined = await alice.api<{ joined_rooms: string[] }>('GET', '/_matrix/client/v3/joined_rooms');
    expect(joined.joined_rooms).toEqual([mapped]);
  });

  it('a new portal: admins at power 100, the group\'s name, topic and avatar, both directions', async () => {
    const portal = await resolve(`#qq_${PORTAL_GROUP}:${DOMAIN}`);
    expect(portal).not.toBe(mapped);
    await alice.api('POST', `/_matrix/client/v3/join/${encodeURIComponent(portal)}`, {});
    const pl = await alice.state<{ users: Record<string, number> }>(portal, 'm.room.power_levels');
    expect(pl.users[alice.userId]).toBe(100);
    expect(pl.users[matrix.botUserId]).toBe(100);
    expect(await alice.state(portal, 'm.room.name')).toEqual({ name: 'Portal group' });
    expect(await alice.state(portal, 'm.room.topic')).toEqual({ topic: 'memo 1' });
    await waitFor(async () => (await alice.state(portal, 'm.room.avatar').catch(() => undefined)) !== undefined, 'portal avatar', 20_000);
    const avatar = await alice.state<{ url: string }>(portal, 'm.room.avatar');
    expect((await download(avatar.url)).equals(PNG1)).toBe(true);
    expect(await alice.state(portal, 'm.bridge', `qqbridge://qq/group/${PORTAL_GROUP}`)).toMatchObject({ channel: { id: String(PORTAL_GROUP), displayname: 'Portal group' } });

    await qq.inject(`group:${PORTAL_GROUP}`, { sender: { id: '10009', displayName: 'Member', puppet: true }, text: 'hello portal' });
    await waitFor(async () => (await alice.messages(portal)).some((e) => e.content.body === 'hello portal'), 'QQ → portal', 20_000);
    await alice.send(portal, { msgtype: 'm.text', body: 'hello group' });
    await waitFor(() => remote.texts(`group:${PORTAL_GROUP}`).includes('hello group'), 'portal → QQ', 20_000);
    // Asked again, the alias still names the same room.
    expect(await resolve(`#qq_${PORTAL_GROUP}:${DOMAIN}`)).toBe(portal);
  });

  it('the portal follows the group\'s new name, memo and picture, and writes nothing when nothing changed', async () => {
    const portal = await resolve(`#qq_${PORTAL_GROUP}:${DOMAIN}`);
    const info = groups.get(PORTAL_GROUP)!;
    groups.set(PORTAL_GROUP, { ...info, name: 'Portal group (renamed)', topic: 'memo 2' });
    picture = PNG2;
    await waitFor(async () => (await alice.state<{ topic: string }>(portal, 'm.room.topic')).topic === 'memo 2', 'topic follows the group', 20_000);
    expect(await alice.state(portal, 'm.room.name')).toEqual({ name: 'Portal group (renamed)' });
    await waitFor(async () => (await download((await alice.state<{ url: string }>(portal, 'm.room.avatar')).url)).equals(PNG2), 'avatar follows the group', 20_000);

    const changes = async () => (await alice.timeline(portal)).filter((e) => ['m.room.name', 'm.room.topic', 'm.room.avatar'].includes(e.type)).length;
    const before = await changes();
    expect(before, JSON.stringify((await alice.timeline(portal)).filter((e) => ['m.room.name', 'm.room.topic', 'm.room.avatar'].includes(e.type)))).toBe(6); // name, topic, avatar at creation; each once more for the change
    await new Promise((r) => setTimeout(r, SYNC_MS * 4));
    expect(await changes()).toBe(before);
  });
});
