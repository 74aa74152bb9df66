import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
/** Shared setup of the Matrix connector tests: a fake homeserver, a real Relay and SQLite store, a loopback QQ. */
import { matrixConfigSchema } from '../../../src/connectors/matrix/config.js';
import { MatrixConnector } from '../../../src/connectors/matrix/connector.js';
import { buildRegistration, type Registration } from '../../../src/connectors/matrix/registration.js';
import type { MediaAccess } from '../../../src/core/connector.js';
import { Relay } from '../../../src/core/relay.js';
import { StaticRoutes } from '../../../src/core/routes.js';
import { silentLogger } from '../../../src/log.js';
import type { MappingLink } from '../../../src/mappings/config.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { FakeHomeserver } from '../../fakes/homeserver.js';
import { LoopbackConnector, LoopbackNetwork } from '../../support/loopback.js';
import { waitFor } from '../../support/wait.js';
import { memoryMedia } from '../../support/memory-media.js';
export { memoryMedia };

export const root = fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-matrix-'));

export const DOMAIN = 'test.hs';
export const ALICE = '@alice:test.hs';
export const BOB = '@bob:test.hs';
export const ADMIN = '@admin:test.hs';
export const GROUP = 'group:346167134';
export const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');


/** The shared polling helper, re-exported for the Matrix tests that import it from here. */
export { waitFor };

const cleanups: (() => Promise<void>)[] = [];
/** Stops what the last test started (call from afterEach). */
export async function cleanup(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
}
/** Removes the state directories (call from afterAll). */
export function removeRoot(): void {
  fs.rmSync(root, { recursive: true, force: true });
}

let n = 0;

export interface SetupOptions {
  redactions?: 'notice' | 'ignore';
  /** QQ groups the account is in (for portal rooms). */
  groups?: Record<number, { name?: string; topic?: string }>;
  /** `matrix.portals` and `matrix.portalGroups`. */
  portals?: boolean;
  portalGroups?: number[];
  /** How the fake homeserver reaches the bridge (default: the v1 paths with a header). */
  pushPaths?: 'v1' | 'legacy';
}

/** One run of the bridge (relay + Matrix + loopback QQ) on the SQLite store in `stateDir`. */
export async function startBridge(hs: FakeHomeserver, reg: Registration, room: string, stateDir: string, remote: LoopbackNetwork, media: MediaAccess, o: SetupOptions = {}) {
  const store: Store = await openStore({ stateDir }, silentLogger);
  const config = matrixConfigSchema.parse({ homeserverUrl: hs.url, domain: DOMAIN, registration: '/unused', port: 0, admins: [ADMIN], ...(o.redactions ? { redactions: o.redactions } : {}),
    ...(o.portals !== undefined ? { portals: o.portals } : {}), ...(o.portalGroups ? { portalGroups: o.portalGroups } : {}) });
  const links: MappingLink[][] = [];
  const groups = o.groups;
  const matrix = new MatrixConnector(config, {
    store, registration: reg, rooms: [room], onLinksChanged: (l) => links.push(l),
    ...(groups ? { groupInfo: async (g: number) => groups[g] } : {}),
    mappedRoom: (g: number) => (`group:${g}` === GROUP ? room : undefined),
    groupOf: (r: string) => (r === room ? Number(GROUP.slice('group:'.length)) : undefined),
  });
  const qq = new LoopbackConnector('qq', { remote });
  const relay = new Relay({
    store,
    media,
    routes: new StaticRoutes([[{ network: 'qq', room: GROUP }, { network: 'matrix', room }]]),
    log: silentLogger,
    outbox: { baseBackoffMs: 5, maxBackoffMs: 40, connectPollMs: 10 },
    onFailure: (f) => void matrix.deliveryFailed(f),
  });
  relay.register(qq);
  relay.register(matrix);
  await relay.start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await relay.stop();
    await store.close();
  };
  cleanups.push(stop);
  hs.setAppserviceUrl(`http://127.0.0.1:${matrix.port}`);
  return { store, matrix, qq, relay, links, stop };
}

export async function setup(o: SetupOptions = {}) {
  const reg = buildRegistration({ id: 'qqbridge', url: '', domain: DOMAIN, userPrefix: 'qq_', senderLocalpart: 'qqbridge' });
  const hs = new FakeHomeserver({
    domain: DOMAIN, asToken: reg.as_token, hsToken: reg.hs_token, senderLocalpart: 'qqbridge',
    userNamespace: reg.namespaces.users[0]!.regex, aliasNamespace: reg.namespaces.aliases[0]!.regex,
    ...(o.pushPaths ? { pushPaths: o.pushPaths } : {}),
  });
  await hs.start();
  cleanups.push(() => hs.stop());
  // The bridged room gives the bot moderator power, as a room set up for bridging does.
  const room = hs.createRoomAs(ALICE, { name: 'bridged', powerLevels: { [hs.botUserId]: 50 } });
  hs.joinAs(BOB, room, 'Bob');
  const stateDir = path.join(root, `s${++n}`);
  const media = memoryMedia();
  const remote = new LoopbackNetwork();
  const run = await startBridge(hs, reg, room, stateDir, remote, media, o);
  const { store, matrix, qq, relay, links } = run;
  // Alice invites the bot, as someone bridging a room would; the bot accepts.
  hs.inviteAs(ALICE, room, hs.botUserId);
  await waitFor(() => hs.membership(room, hs.botUserId) === 'join', 'bot joins on invite');
  /** Stops this run and starts the bridge again on the same store, homeserver and QQ side. */
  const restart = async () => {
    await run.stop();
    return startBridge(hs, reg, room, stateDir, remote, media, o);
  };
  return { hs, reg, room, store, media, matrix, qq, relay, links, stateDir, run, restart };
}

export const ghost = (qq: string) => `@qq_${qq}:${DOMAIN}`;

