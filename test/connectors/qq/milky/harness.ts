/**
 * A bridge with the Milky QQ backend over real HTTP (and WebSocket / SSE / webhook) to the Milky
 * simulator, a real SQLite store and relay, and a loopback network (`irc`) on the other side of
 * the link. Used by the account, stall, fault and hostile tests.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QqConnector } from '../../../../src/connectors/qq/connector.js';
import { qqConfigSchema } from '../../../../src/connectors/qq/config.js';
import { startMilkySimulator, type RunningMilkySimulator } from '../../../../src/connectors/qq/milky/simulator/index.js';
import type { SendAttempt, SentRecord } from '../../../../src/connectors/qq/milky/simulator/state.js';
import type { DeliveryFailure } from '../../../../src/core/outbox.js';
import { Relay } from '../../../../src/core/relay.js';
import { StaticRoutes } from '../../../../src/core/routes.js';
import type { Logger } from '../../../../src/log.js';
import type { MappingLink } from '../../../../src/mappings/config.js';
import { openStore, type Store } from '../../../../src/store/store.js';
import { LoopbackConnector } from '../../../support/loopback.js';
import { memoryMedia } from '../../../support/memory-media.js';
import { capturedLogger } from '../../../support/log-capture.js';

export const GROUP = 346167134;
export const BOT = 2769546520;
export const ALICE = 2440652742;
export const ROBOT = 2899268194;
export const QQ_ROOM = `group:${GROUP}`;
export const IRC_ROOM = '#qq';
export const TOKEN = 'milky-token';

/** The simulator with its control API as functions. */
export interface MilkySim extends RunningMilkySimulator {
  control(route: string, body?: unknown): Promise<any>;
  sends(): Promise<SentRecord[]>;
  attempts(): Promise<SendAttempt[]>;
  /** Texts of the sends, in order. */
  sentTexts(): Promise<string[]>;
}

export async function startSim(opts: Parameters<typeof startMilkySimulator>[0] = {}): Promise<MilkySim> {
  const sim = await startMilkySimulator({ accessToken: TOKEN, ...opts });
  const control = async (route: string, body?: unknown) => {
    const res = await fetch(`${sim.controlUrl}${route}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
    const json: unknown = await res.json();
    if (res.status !== 200) throw new Error(`control ${route}: ${JSON.stringify(json)}`);
    return json as any;
  };
  return {
    ...sim,
    control,
    sends: () => control('/sent'),
    attempts: () => control('/attempts'),
    sentTexts: async () => ((await control('/sent')) as SentRecord[]).map((s) => s.text),
  };
}

export interface MilkyHarness {
  sim: MilkySim;
  qq: QqConnector;
  irc: LoopbackConnector;
  relay: Relay;
  store: Store;
  log: ReturnType<typeof capturedLogger>;
  failures: DeliveryFailure[];
  states: string[];
  conditions: string[];
  accountEvents: Array<{ type: string; notice: string }>;
  dir: string;
  ircTexts(): string[];
  stop(): Promise<void>;
}

export interface MilkyHarnessOptions {
  events?: 'websocket' | 'sse' | 'webhook';
  webhookPort?: number;
  pacing?: Record<string, number>;
  tuning?: Record<string, unknown>;
  /** A simulator to use (the caller closes it); else one is started and closed by stop(). */
  sim?: MilkySim;
  /** A state dir to reuse across a restart. */
  dir?: string;
}

const roots: string[] = [];
export function cleanupDirs(): void {
  for (const d of roots.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

export async function startMilkyHarness(o: MilkyHarnessOptions = {}): Promise<MilkyHarness> {
  const dir = o.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-milky-h-'));
  if (!o.dir) roots.push(dir);
  const sim = o.sim ?? (await startSim());
  const ownSim = !o.sim;
  const events = o.events ?? 'websocket';
  const webhook = events === 'webhook' ? { webhook: { bindAddress: '127.0.0.1', port: o.webhookPort ?? 0, path: '/milky/event' } } : {};
  const config = qqConfigSchema.parse({ protocol: 'milky', milky: { url: sim.url, accessToken: TOKEN, events, ...webhook }, ...(o.pacing ? { pacing: o.pacing } : {}) });
  const log = capturedLogger('debug');
  const store = await openStore({ stateDir: dir }, log.log as Logger);
  const failures: DeliveryFailure[] = [];
  const states: string[] = [];
  const conditions: string[] = [];
  const accountEvents: Array<{ type: string; notice: string }> = [];
  const link: MappingLink = { rooms: [{ network: 'qq', room: QQ_ROOM, readOnly: false }, { network: 'irc', room: IRC_ROOM, readOnly: false }] };
  const qq = new QqConnector(config, {
    routes: { links: () => [link] },
    backend: { tuning: { pingIntervalMs: 100, probeIntervalMs: 100, offlinePollMs: 100, backoff: { minMs: 20, maxMs: 100 }, unauthorizedRetryMs: 60_000, timeoutMs: 2000, ...o.tuning } },
    onState: (s) => states.push(s),
    onCondition: (c) => conditions.push(c),
    onAccountEvent: (e, text) => accountEvents.push({ type: e.type, notice: text.notice }),
  });
  const irc = new LoopbackConnector('irc');
  const relay = new Relay({
    store,
    routes: new StaticRoutes([[{ network: 'qq', room: QQ_ROOM }, { network: 'irc', room: IRC_ROOM }]]),
    log: log.log as Logger,
    media: memoryMedia({ publicUrls: true }),
    onFailure: (f) => failures.push(f),
    outbox: { baseBackoffMs: 20, maxBackoffMs: 200, connectPollMs: 20 },
    pruneIntervalMs: 0,
  });
  relay.register(qq);
  relay.register(irc);
  await relay.start();
  let stopped: Promise<void> | undefined;
  return {
    sim, qq, irc, relay, store, log, failures, states, conditions, accountEvents, dir,
    ircTexts: () => irc.remote.texts(IRC_ROOM),
    stop: () => (stopped ??= (async () => {
      await relay.stop();
      await store.close();
      if (ownSim) await sim.close();
    })()),
  };
}
