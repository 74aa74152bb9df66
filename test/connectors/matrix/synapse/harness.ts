/**
 * A real Synapse (../shared/tools/synapse/synapse.sh, v1.67.0) for the Matrix suite: one
 * homeserver per test file, the bridge (Relay + Matrix connector + loopback QQ + SQLite) on a
 * fixed free port named in the registration, and human users acting through the client API.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { matrixConfigSchema } from '../../../../src/connectors/matrix/config.js';
import { MatrixConnector } from '../../../../src/connectors/matrix/connector.js';
import { buildRegistration, writeRegistration, type Registration } from '../../../../src/connectors/matrix/registration.js';
import { Relay } from '../../../../src/core/relay.js';
import { StaticRoutes } from '../../../../src/core/routes.js';
import { freePort } from '../../../../src/demo/ngircd.js';
import { createLogger, silentLogger } from '../../../../src/log.js';
import { openStore } from '../../../../src/store/store.js';
import { LoopbackConnector, LoopbackNetwork } from '../../../support/loopback.js';
import { memoryMedia } from '../../../support/memory-media.js';

const run = promisify(execFile);
const repo = path.resolve(import.meta.dirname, '../../../..');

/** synapse.sh: $SYNAPSE_SH, or `../shared/tools/synapse/` beside the checkout (CI and worktrees). */
export const SYNAPSE_SH = process.env.SYNAPSE_SH ?? path.resolve(repo, '../shared/tools/synapse/synapse.sh');
export const haveSynapse = fs.existsSync(SYNAPSE_SH);
if (!haveSynapse) console.log(`Synapse suite skipped: no ${SYNAPSE_SH} (set SYNAPSE_SH to run it)`);

export const DOMAIN = 'localhost';
export const GROUP = 'group:346167134';

export interface Homeserver {
  url: string;
  dir: string;
  reg: Registration;
  bridgePort: number;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startSynapse(): Promise<Homeserver> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-synapse-'));
  const bridgePort = await freePort();
  const reg = buildRegistration({ id: 'qqbridge', url: `http://127.0.0.1:${bridgePort}`, domain: DOMAIN, userPrefix: 'qq_', senderLocalpart: 'qqbridge' });
  const regFile = path.join(dir, 'registration.yaml');
  writeRegistration(regFile, reg);
  const hsDir = path.join(dir, 'hs');
  const { stdout } = await run(SYNAPSE_SH, ['start', hsDir, '--appservice', regFile], { timeout: 120_000 });
  const info = JSON.parse(stdout.trim().split('\n').pop()!) as { url: string };
  return {
    url: info.url, dir, reg, bridgePort,
    restart: async () => void (await run(SYNAPSE_SH, ['restart', hsDir], { timeout: 120_000 })),
    stop: async () => {
      await run(SYNAPSE_SH, ['stop', hsDir], { timeout: 30_000 }).catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A human Matrix user with a client-API token. */
export class Human {
  private txn = 0;
  constructor(readonly hs: Homeserver, readonly userId: string, readonly token: string) {}

  static async register(hs: Homeserver, name: string): Promise<Human> {
    const res = await fetch(`${hs.url}/_matrix/client/v3/register`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: name, password: `pw-${name}-secret`, auth: { type: 'm.login.dummy' }, inhibit_login: false }),
    });
    const body = (await res.json()) as { user_id: string; access_token: string };
    if (!res.ok) throw new Error(`register ${name}: ${res.status} ${JSON.stringify(body)}`);
    return new Human(hs, body.user_id, body.access_token);
  }

  async api<T = Record<string, unknown>>(method: string, p: string, body?: unknown, raw?: { data: Buffer; type: string }): Promise<T> {
    const res = await fetch(this.hs.url + p, {
      method,
      headers: { Authorization: `Bearer ${this.token}`, 'Content-Type': raw?.type ?? 'application/json' },
      body: raw ? new Uint8Array(raw.data) : body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as T;
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  async send(room: string, content: Record<string, unknown>, type = 'm.room.message'): Promise<string> {
    const r = await this.api<{ event_id: string }>('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/${type}/h${Date.now()}.${++this.txn}`, content);
    return r.event_id;
  }

  async redact(room: string, eventId: string): Promise<string> {
    const r = await this.api<{ event_id: string }>('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/redact/${encodeURIComponent(eventId)}/r${Date.now()}.${++this.txn}`, {});
    return r.event_id;
  }

  async upload(data: Buffer, type: string): Promise<string> {
    return (await this.api<{ content_uri: string }>('POST', '/_matrix/media/v3/upload?filename=pic.png', undefined, { data, type })).content_uri;
  }

  /** The room's timeline, oldest first. */
  async timeline(room: string): Promise<{ event_id: string; type: string; sender: string; content: Record<string, unknown>; state_key?: string }[]> {
    const r = await this.api<{ chunk: { event_id: string; type: string; sender: string; content: Record<string, unknown> }[] }>('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/messages?dir=b&limit=500`);
    return r.chunk.reverse();
  }

  async messages(room: string) {
    return (await this.timeline(room)).filter((e) => e.type === 'm.room.message');
  }

  async state<T = Record<string, unknown>>(room: string, type: string, key = ''): Promise<T> {
    return this.api<T>('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/state/${type}/${encodeURIComponent(key)}`);
  }
}

/** One run of the bridge against the homeserver, on the SQLite store in `stateDir`. */
export async function startBridge(hs: Homeserver, stateDir: string, rooms: string[], remote: LoopbackNetwork, media: ReturnType<typeof memoryMedia>, admins: string[] = [], more: { avatarRefreshMs?: number } = {}) {
  const store = await openStore({ stateDir }, silentLogger);
  const config = matrixConfigSchema.parse({ homeserverUrl: hs.url, domain: DOMAIN, registration: '/unused', port: hs.bridgePort, admins });
  const matrix = new MatrixConnector(config, { store, registration: hs.reg, rooms, groupOf: (r) => (rooms.includes(r) ? Number(GROUP.slice('group:'.length)) : undefined), ...more });
  const qq = new LoopbackConnector('qq', { remote });
  const relay = new Relay({
    store, media, log: process.env.SYNAPSE_TEST_LOG ? createLogger({ level: 'debug' } as never) : silentLogger,
    routes: new StaticRoutes(rooms.map((room) => [{ network: 'qq', room: GROUP }, { network: 'matrix', room }])),
    outbox: { baseBackoffMs: 20, maxBackoffMs: 500, connectPollMs: 20 },
    onFailure: (f) => void matrix.deliveryFailed(f),
  });
  relay.register(qq);
  relay.register(matrix);
  await relay.start();
  return {
    store, matrix, qq, relay,
    stop: async () => {
      await relay.stop();
      await store.close();
    },
  };
}
