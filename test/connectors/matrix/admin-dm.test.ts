/**
 * The bridge admins (`matrix.admins`) hear of a QQ account episode in a direct room: one room per
 * admin, reused for the next alert (across restarts too), a new one when the admin left it. Over
 * real HTTP to the fake homeserver; the first test runs the whole bridge (WebQQ simulator kicked).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AdminDirectMessages } from '../../../src/connectors/matrix/admin-dm.js';
import { MatrixClient } from '../../../src/connectors/matrix/client.js';
import { buildRegistration, writeRegistration } from '../../../src/connectors/matrix/registration.js';
import type { RunningBridge } from '../../../src/bridge.js';
import { silentLogger } from '../../../src/log.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { startHarness, tempDir, waitUntil, type Harness } from '../../e2e/harness.js';
import { FakeHomeserver } from '../../fakes/homeserver.js';

const DOMAIN = 'test.hs';
const ADMIN = '@admin:test.hs';
const OTHER = '@ops:test.hs';

const dirs: string[] = [];
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function homeserver() {
  const reg = buildRegistration({ id: 'qqbridge', url: '', domain: DOMAIN, userPrefix: 'qq_', senderLocalpart: 'qqbridge' });
  const hs = new FakeHomeserver({
    domain: DOMAIN, asToken: reg.as_token, hsToken: reg.hs_token, senderLocalpart: 'qqbridge',
    userNamespace: reg.namespaces.users[0]!.regex, aliasNamespace: reg.namespaces.aliases[0]!.regex,
  });
  await hs.start();
  cleanups.push(() => hs.stop());
  return { hs, reg };
}

/** Rooms the bot created for `admin`, with the notices in each. */
function dmRooms(hs: FakeHomeserver, admin: string): Array<{ id: string; notices: string[] }> {
  return [...hs.rooms.values()]
    .filter((r) => r.members.get(hs.botUserId) === 'join' && r.members.has(admin) && r.state.get('m.room.name\u0000')?.name === 'qqbridge alerts')
    .map((r) => ({ id: r.id, notices: hs.messages(r.id).filter((e) => e.sender === hs.botUserId && e.content.msgtype === 'm.notice').map((e) => String(e.content.body)) }));
}

describe('alerts to the Matrix admins', () => {
  it('a QQ account episode (WebQQ kick) reaches each admin once, in a direct room the admin is invited to', async () => {
    const { hs, reg } = await homeserver();
    const regDir = tempDir('qqbridge-admin-dm-');
    dirs.push(regDir);
    const regFile = join(regDir, 'registration.yaml');
    writeRegistration(regFile, reg);
    const room = hs.createRoomAs('@alice:test.hs', { name: 'bridged' });
    const h: Harness = await startHarness({
      channel: '#qq-admin',
      extraYaml: {
        top: ['matrix:', `  homeserverUrl: ${JSON.stringify(hs.url)}`, `  domain: ${DOMAIN}`, `  registration: ${JSON.stringify(regFile)}`, '  port: 0', `  admins: [${JSON.stringify(ADMIN)}, ${JSON.stringify(OTHER)}]`],
        link: [`    matrix: ${JSON.stringify(room)}`],
      },
      onBridgeStarted: (b: RunningBridge) => {
        const matrix = b.connectors.find((c) => c.network === 'matrix') as unknown as { port: number };
        hs.setAppserviceUrl(`http://127.0.0.1:${matrix.port}`);
      },
    });
    cleanups.push(() => h.close());
    await h.qq.fault({ kick: true });
    for (const admin of [ADMIN, OTHER]) {
      await waitUntil(`the alert for ${admin}`, () => (dmRooms(hs, admin).some((r) => r.notices.length > 0) ? true : undefined), 15_000);
    }
    // Nothing more follows for the same episode.
    await new Promise((r) => setTimeout(r, 1000));
    for (const admin of [ADMIN, OTHER]) {
      const rooms = dmRooms(hs, admin);
      expect(rooms).toHaveLength(1);
      expect(hs.membership(rooms[0]!.id, admin)).toBe('invite');
      expect(rooms[0]!.notices).toHaveLength(1);
      expect(rooms[0]!.notices[0]).toMatch(/^The bridge's QQ account is offline since \d\d:\d\d UTC: .+ What to do: log the account in again/);
    }
    // Each admin has a room of their own.
    expect(dmRooms(hs, ADMIN)[0]!.id).not.toBe(dmRooms(hs, OTHER)[0]!.id);
  }, 60_000);

  it('reuses the admin\'s room for the next alert, after a restart too; opens a new one when the admin left', async () => {
    const { hs, reg } = await homeserver();
    const dir = tempDir('qqbridge-admin-dm-store-');
    dirs.push(dir);
    const client = new MatrixClient(hs.url, reg.as_token);
    const open = async () => {
      const store: Store = await openStore({ stateDir: dir }, silentLogger);
      cleanups.push(() => store.close());
      return { store, dms: new AdminDirectMessages({ client, store, botUserId: hs.botUserId, admins: [ADMIN], log: () => silentLogger }) };
    };
    const first = await open();
    await first.dms.send('episode one');
    await first.dms.send('episode two');
    expect(dmRooms(hs, ADMIN)).toEqual([{ id: expect.any(String), notices: ['episode one', 'episode two'] }]);
    const roomId = dmRooms(hs, ADMIN)[0]!.id;
    await first.store.close();

    const second = await open();
    await second.dms.send('after a restart');
    expect(dmRooms(hs, ADMIN)).toEqual([{ id: roomId, notices: ['episode one', 'episode two', 'after a restart'] }]);

    // The admin accepted, then left: the next alert opens a room the admin is invited to again.
    hs.joinAs(ADMIN, roomId);
    hs.kickAs(hs.botUserId, roomId, ADMIN);
    await second.dms.send('after leaving');
    const rooms = dmRooms(hs, ADMIN);
    expect(rooms).toHaveLength(2);
    const fresh = rooms.find((r) => r.id !== roomId)!;
    expect(fresh.notices).toEqual(['after leaving']);
    expect(hs.membership(fresh.id, ADMIN)).toBe('invite');
    expect(hs.requests.filter((r) => r.path === '/_matrix/client/v3/createRoom')).toHaveLength(2);
  }, 30_000);
});
