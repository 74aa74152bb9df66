/**
 * The WebQQ simulator: every WebQQ/SmartQQ host on one HTTP port (dispatch on the Host header),
 * plus a control API on a second port. See HELPER-BRIEF.md's contract for the client's side.
 */
import type { KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { HashVersion } from '../connectors/qq/webqq/protocol-crypto.js';
import { silentLogger, type Logger } from '../log.js';
import { registerApi } from './api.js';
import { registerChannel } from './channel.js';
import { createControlServer } from './control.js';
import { registerMedia } from './media.js';
import { registerPtlogin } from './ptlogin.js';
import { createWebqqServer, type Routes } from './server.js';
import { SimState } from './sessions.js';
import { defaultWorld, parseWorld, type World } from './world.js';
import { listen } from '../util/listen.js';

export { defaultWorld, loadWorld, parseWorld } from './world.js';
export type { World, WorldAccount, WorldUser, WorldGroup, WorldDiscussion } from './world.js';
export type { Violation, SentRecord } from './sessions.js';

export interface SimulatorOptions {
  host?: string;
  port?: number;
  controlPort?: number;
  world?: World;
  hashVersion?: HashVersion;
  /** how long poll2 holds before 102 (real server ~60 s) */
  pollHoldMs?: number;
  /** poll/send before get_online_buddies2 → 103 */
  requireWarmup?: boolean;
  qrLifetimeMs?: number;
  /** SmartQQ password login: open the RSA block of `p` with this private key (the client is given its public half). */
  smartqqRsaKey?: KeyObject;
  log?: Logger;
}

export interface RunningSimulator {
  url: string;
  controlUrl: string;
  /** Requests answered so far, by path (also `GET /requests` on the control port). */
  requestCounts(): Record<string, number>;
  close(): Promise<void>;
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<RunningSimulator> {
  const host = opts.host ?? '127.0.0.1';
  const hashVersion = opts.hashVersion ?? 'P';
  if (!['P', 'O', 'Q', 'N'].includes(hashVersion)) throw new Error(`hashVersion must be P, O, Q or N, got ${String(hashVersion)}`);
  // validate a programmatic world the same way as a file, and own a copy (/member changes it)
  const world = parseWorld(structuredClone(opts.world ?? defaultWorld()), 'world option');
  const state = new SimState(world, {
    hashVersion,
    pollHoldMs: opts.pollHoldMs ?? 30_000,
    requireWarmup: opts.requireWarmup ?? true,
    qrLifetimeMs: opts.qrLifetimeMs ?? 120_000,
    smartqqRsaKey: opts.smartqqRsaKey,
    log: opts.log ?? silentLogger,
  });
  const routes: Routes = new Map();
  registerPtlogin(state, routes);
  registerChannel(state, routes);
  registerApi(state, routes);
  registerMedia(state, routes);
  const webqq = createWebqqServer(state, routes);
  const control = createControlServer(state, webqq);
  const a = await listen(webqq.server, opts.port ?? 0, host);
  let c: AddressInfo;
  try {
    c = await listen(control.server, opts.controlPort ?? 0, host);
  } catch (e) {
    await webqq.close();
    throw e;
  }
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${a.port}`,
    controlUrl: `http://${urlHost}:${c.port}`,
    requestCounts: () => Object.fromEntries(state.requestCounts),
    async close() {
      for (const s of state.current.values()) state.retire(s);
      await Promise.all([webqq.close(), control.close()]);
    },
  };
}
