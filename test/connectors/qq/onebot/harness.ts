/**
 * A bridge with the OneBot QQ backend over a real WebSocket to the OneBot simulator, a real
 * SQLite store and relay, and a loopback network (`irc`) on the other side of the link.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QqConnector } from '../../../../src/connectors/qq/connector.js';
import type { OnebotConfig } from '../../../../src/connectors/qq/config.js';
import { OneBotSimulator, type OneBotSimulatorOptions } from '../../../../src/connectors/qq/onebot/simulator/simulator.js';
import type { DeliveryFailure } from '../../../../src/core/outbox.js';
import { Relay } from '../../../../src/core/relay.js';
import { StaticRoutes } from '../../../../src/core/routes.js';
import type { Logger } from '../../../../src/log.js';
import type { MappingLink } from '../../../../src/mappings/config.js';
import { openStore, type Store } from '../../../../src/store/store.js';
import { freePort } from '../../../support/ngircd.js';
import { LoopbackConnector } from '../../../support/loopback.js';
import { memoryMedia } from '../../../support/memory-media.js';
import { capturedLogger } from '../../../support/log-capture.js';

export const GROUP = 346167134;
export const BOT = 2769546520;
export const MEMBERS = { huxi: 2440652742, robot: 2899268194, ops: 2041084648 } as const;
export const QQ_ROOM = `group:${GROUP}`;
export const IRC_ROOM = '#qq';

export interface Harness {
  sim: OneBotSimulator;
  qq: QqConnector;
  irc: LoopbackConnector;
  relay: Relay;
  store: Store;
  log: ReturnType<typeof capturedLogger>;
  failures: DeliveryFailure[];
  states: string[];
  /** Conditions the backend reported for metrics. */
  conditions: string[];
  /** The QQ account's episodes and recoveries, with the notice text of each. */
  accountEvents: Array<{ type: string; notice: string }>;
  media: ReturnType<typeof memoryMedia>;
  /** Texts the loopback side got, in order. */
  ircTexts(): string[];
  stop(): Promise<void>;
}

export interface HarnessOptions {
  mode?: 'forward' | 'reverse';
  /** The token the simulator wants / the bridge sends (`bridgeToken` overrides the latter). */
  token?: string;
  bridgeToken?: string;
  sim?: OneBotSimulatorOptions;
  heartbeatTimeoutMs?: number;
  uin?: number;
  /** Reuse a simulator (and a state dir) across a restart. */
  reuse?: { sim: OneBotSimulator; dir: string };
  /** qq.pacing (the account's pacing and back-off). */
  pacing?: Record<string, number>;
  /** Backend tuning on top of the harness's short timings. */
  tuning?: Record<string, unknown>;
}

const roots: string[] = [];
export function cleanupDirs(): void {
  for (const d of roots.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

export async function startHarness(o: HarnessOptions = {}): Promise<Harness & { dir: string }> {
  const dir = o.reuse?.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-onebot-'));
  if (!o.reuse) roots.push(dir);
  const sim = o.reuse?.sim ?? new OneBotSimulator({ heartbeatIntervalMs: 200, ...(o.token ? { accessToken: o.token } : {}), ...o.sim });
  const mode = o.mode ?? 'forward';
  let onebot: OnebotConfig['onebot'];
  const token = 'bridgeToken' in o ? o.bridgeToken : o.token;
  if (mode === 'forward') {
    const url = o.reuse ? (sim as unknown as { lastUrl: string }).lastUrl : await sim.listen(0);
    (sim as unknown as { lastUrl: string }).lastUrl = url;
    onebot = { mode, url, ...(token ? { accessToken: token } : {}), heartbeatTimeoutMs: o.heartbeatTimeoutMs ?? 1500 };
  } else {
    const port = await freePort();
    onebot = { mode, reverse: { bindAddress: '127.0.0.1', port, path: '/onebot/v11/ws' }, ...(token ? { accessToken: token } : {}), heartbeatTimeoutMs: o.heartbeatTimeoutMs ?? 1500 };
  }
  const config = { protocol: 'onebot', onebot, ...(o.uin !== undefined ? { uin: o.uin } : {}), ...(o.pacing ? { pacing: o.pacing } : {}) } as OnebotConfig;
  const accountEvents: Array<{ type: string; notice: string }> = [];
  const log = capturedLogger('debug');
  const store = await openStore({ stateDir: dir }, log.log as Logger);
  const media = memoryMedia({ publicUrls: true });
  const failures: DeliveryFailure[] = [];
  const states: string[] = [];
  const conditions: string[] = [];
  const link: MappingLink = { rooms: [{ network: 'qq', room: QQ_ROOM, readOnly: false }, { network: 'irc', room: IRC_ROOM, readOnly: false }] };
  const qq = new QqConnector(config, {
    routes: { links: () => [link] },
    backend: { tuning: { actionTimeoutMs: 2000, backoffMinMs: 20, backoffMaxMs: 200, authRetryMs: 400, ...o.tuning } },
    onState: (s) => states.push(s),
    onCondition: (c) => conditions.push(c),
    onAccountEvent: (e, text) => accountEvents.push({ type: e.type, notice: text.notice }),
  });
  const irc = new LoopbackConnector('irc');
  const relay = new Relay({
    store,
    routes: new StaticRoutes([[{ network: 'qq', room: QQ_ROOM }, { network: 'irc', room: IRC_ROOM }]]),
    log: log.log as Logger,
    media,
    onFailure: (f) => failures.push(f),
    outbox: { baseBackoffMs: 20, maxBackoffMs: 200, connectPollMs: 20 },
  });
  relay.register(qq);
  relay.register(irc);
  await relay.start();
  if (mode === 'reverse') sim.connectReverse(`ws://127.0.0.1:${onebot.reverse!.port}${onebot.reverse!.path}`, 50);
  let stopped = false;
  return {
    dir, sim, qq, irc, relay, store, log, failures, states, conditions, accountEvents, media,
    ircTexts: () => irc.remote.texts(IRC_ROOM),
    async stop() {
      if (stopped) return;
      stopped = true;
      await relay.stop();
      await store.close();
    },
  };
}
