/**
 * A Milky implementation for tests and the demo: the API, the three event transports, the same
 * world as the other simulators, and a control API. As strict as the spec: it never bends to a
 * client.
 */
import type { AddressInfo } from 'node:net';
import { defaultWorld, parseWorld, type World } from '../../../../simulator/world.js';
import { createControl } from './control.js';
import { MilkyWire } from './server.js';
import { MilkySimState } from './state.js';
import { listen } from '../../../../util/listen.js';

export type { SentRecord, Violation } from './state.js';

export interface MilkySimulatorOptions {
  host?: string;
  port?: number;
  controlPort?: number;
  world?: World;
  /** Required as "Authorization: Bearer <token>" when set. */
  accessToken?: string;
  /** How long a temp resource URL works. */
  tempUrlTtlMs?: number;
  /** WebHook URLs events are POSTed to. */
  webhooks?: string[];
}

export interface RunningMilkySimulator {
  url: string;
  controlUrl: string;
  close(): Promise<void>;
}

export async function startMilkySimulator(opts: MilkySimulatorOptions = {}): Promise<RunningMilkySimulator> {
  const host = opts.host ?? '127.0.0.1';
  const world = parseWorld(structuredClone(opts.world ?? defaultWorld()), 'world option');
  const state = new MilkySimState(world, { tempUrlTtlMs: opts.tempUrlTtlMs ?? 60_000 });
  const wire = new MilkyWire(state, opts.accessToken);
  wire.webhooks = opts.webhooks ?? [];
  const control = createControl(state, wire);
  const a = await listen(wire.server, opts.port ?? 0, host);
  let c: AddressInfo;
  try {
    c = await listen(control, opts.controlPort ?? 0, host);
  } catch (e) {
    await wire.close();
    throw e;
  }
  const h = host.includes(':') ? `[${host}]` : host;
  const url = `http://${h}:${a.port}`;
  state.baseUrl = url;
  return {
    url,
    controlUrl: `http://${h}:${c.port}`,
    async close() {
      control.closeAllConnections();
      await Promise.all([wire.close(), new Promise<void>((r) => control.close(() => r()))]);
    },
  };
}
