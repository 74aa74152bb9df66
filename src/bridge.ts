/**
 * Puts the bridge together from a validated config: store, media, routes, relay and one connector
 * per configured network. The only module that knows every part; each part knows only its own.
 */
import type { AccountEvent } from './connectors/qq/account/state.js';
import { IrcConnector } from './connectors/irc/connector.js';
import type { MatrixConnector } from './connectors/matrix/connector.js';
import { QqConnector } from './connectors/qq/connector.js';
import type { LoginPrompt } from './connectors/qq/webqq/login-prompt.js';
import { TelegramConnector } from './connectors/telegram/connector.js';
import type { Config } from './config.js';
import type { Connector } from './core/connector.js';
import { loadFaces } from './core/faces.js';
import type { RelayObserver } from './core/observer.js';
import type { DeliveryFailure } from './core/outbox.js';
import { Relay } from './core/relay.js';
import type { Logger } from './log.js';
import type { MappingLink } from './mappings/config.js';
import { MappingRouteTable } from './mappings/routes.js';
import { createMedia, type MediaService } from './media/index.js';
import { holdOptions } from './store/config.js';
import { openStore, type Store } from './store/store.js';
import type { StoreStatus } from './core/store-gate.js';
import type { RoomRef } from './core/message.js';

export interface RunningBridge {
  relay: Relay;
  store: Store;
  media: MediaService;
  routes: MappingRouteTable;
  connectors: Connector[];
  /** Replaces the config's links (SIGHUP reload): routes change at once, new IRC channels are joined, new QQ rooms bound. */
  reloadMappings(links: MappingLink[]): void;
  stop(): Promise<void>;
}

/** Operations hooks (metrics, status notices); every one optional. */
export interface BridgeHooks {
  observer?: RelayObserver;
  onFailure?: (f: DeliveryFailure) => void;
  qq?: {
    onState?: (state: string, detail?: string) => void;
    onCondition?: (what: string) => void;
    /** The QQ account's episodes (refused, offline) and recoveries, once each, with their texts. */
    onAccountEvent?: (e: AccountEvent, text: { notice: string; alert?: string }) => void;
    /** Who reads captchas and scans QR codes when a backend's login needs a person (WebQQ). */
    loginPrompt?: LoginPrompt;
  };
  telegram?: { onRateLimited?: (retryAfterSec: number | undefined) => void };
  onStoreState?: (s: StoreStatus) => void;
  onHeldDropped?: (count: number, total: number, rooms: RoomRef[]) => void;
}

export async function startBridge(config: Config, log: Logger, hooks: BridgeHooks = {}): Promise<RunningBridge> {
  // Every codec needs the face table: a missing data file stops start-up here, not the first message.
  loadFaces();
  const store = await openStore({ stateDir: config.stateDir, ...(config.store.url ? { url: config.store.url } : {}) }, log);
  const media = createMedia({ stateDir: config.stateDir, media: config.media }, log);
  const routes = new MappingRouteTable(config.mappings);
  const relay = new Relay({
    store,
    routes,
    log,
    media: media.access,
    onFailure: (f) => {
      log.error({ net: f.target.network, room: f.target.room, kind: f.kind, reason: f.reason, id: f.sourceId }, 'a message could not be delivered');
      hooks.onFailure?.(f);
      void matrix?.deliveryFailed(f);
    },
    ...(hooks.observer ? { observer: hooks.observer } : {}),
    // The store going away pauses input and holds what is in memory (core/intake.ts); only past
    // the configured bound does the bridge exit non-zero, so its service manager restarts it.
    hold: holdOptions(config.store),
    ...(hooks.onStoreState ? { onStoreState: hooks.onStoreState } : {}),
    ...(hooks.onHeldDropped ? { onHeldDropped: hooks.onHeldDropped } : {}),
    onStoreGiveUp: (e, downForMs) => {
      log.fatal({ err: e.message, downForMs }, 'the store stayed unavailable past store.outage.exitAfterSeconds; exiting (status 75) so the service manager restarts the bridge');
      const exit = () => process.exit(75);
      setTimeout(exit, 10_000).unref();
      void relay.stop().catch(() => undefined).finally(exit);
    },
  });

  const connectors: Connector[] = [];
  const qq = new QqConnector(config.qq, {
    routes,
    ...(hooks.qq?.onState ? { onState: hooks.qq.onState } : {}),
    ...(hooks.qq?.onCondition ? { onCondition: hooks.qq.onCondition } : {}),
    ...(hooks.qq?.onAccountEvent ? { onAccountEvent: hooks.qq.onAccountEvent } : {}),
    // The store keeps what a backend must not lose across a crash (WebQQ: poll answers not yet relayed).
    backend: { kv: store, ...(hooks.qq?.loginPrompt ? { loginPrompt: hooks.qq.loginPrompt } : {}) },
  });
  connectors.push(qq);
  // The config's links (replaced on reload) and the latest runtime links, merged into the routes.
  let configured: readonly MappingLink[] = config.mappings;
  let runtimeLinks: readonly MappingLink[] = [];
  let irc: IrcConnector | undefined;
  let matrix: MatrixConnector | undefined;
  if (config.irc) {
    irc = new IrcConnector(config.irc, routes.rooms('irc'), {
      overflow: async (text) => (await media.access.putText(text)).url ?? '',
    });
    connectors.push(irc);
  }
  if (config.matrix) {
    // Links made from Matrix (plumbing commands, portal rooms) live in the store and join the
    // config's links in the route table whenever they change.
    // Loaded only when configured: its SDK pulls in native crypto that an install may lack.
    const { MatrixConnector } = await import('./connectors/matrix/connector.js');
    matrix = new MatrixConnector(config.matrix, {
      store,
      rooms: routes.rooms('matrix'),
      onLinksChanged: (runtime: MappingLink[]) => {
        runtimeLinks = runtime;
        routes.replace(mergeLinks(configured, runtime));
      },
      // Portal rooms exist only for groups this QQ account is in.
      groupOf: (room) => Number(/^group:(\d+)$/.exec(routes.targetsFor({ network: 'matrix', room }).find((t) => t.network === 'qq')?.room ?? '')?.[1]) || undefined,
      mappedRoom: (n) => routes.targetsFor({ network: 'qq', room: `group:${n}` }).find((t) => t.network === 'matrix')?.room,
      groupInfo: async (n) => qq.groupInfo(n),
    });
    connectors.push(matrix);
  }
  if (config.telegram) {
    const onRateLimited = hooks.telegram?.onRateLimited;
    connectors.push(new TelegramConnector(config.telegram, onRateLimited ? { onRateLimited } : {}));
  }
  for (const c of connectors) relay.register(c);

  try {
    await media.server.start();
    await relay.start();
  } catch (e) {
    await relay.stop().catch(() => undefined);
    await media.server.stop().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw e;
  }
  log.info({ networks: connectors.map((c) => c.network), links: config.mappings.length }, 'bridge running');

  return {
    relay,
    store,
    media,
    routes,
    connectors,
    reloadMappings(links) {
      configured = links;
      routes.replace(mergeLinks(configured, runtimeLinks));
      if (irc) for (const ch of routes.rooms('irc')) irc.addChannel(ch);
      if (matrix) for (const room of routes.rooms('matrix')) matrix.addRoom(room);
      qq.refreshBindings();
    },
    async stop() {
      await relay.stop();
      await media.server.stop();
      await store.close();
    },
  };
}

/**
 * The config's links plus those made at runtime. A runtime link to a QQ group the config already
 * links adds its rooms to that link (a room belongs to one link only); the config's rooms win.
 */
export function mergeLinks(configured: readonly MappingLink[], runtime: readonly MappingLink[]): MappingLink[] {
  const key = (r: { network: string; room: string }) => `${r.network}\u0000${r.room}`;
  const out = configured.map((l) => ({ ...l, rooms: [...l.rooms] }));
  const taken = new Set(out.flatMap((l) => l.rooms.map(key)));
  for (const link of runtime) {
    const qqRoom = link.rooms.find((r) => r.network === 'qq');
    const host = qqRoom && out.find((l) => l.rooms.some((r) => key(r) === key(qqRoom)));
    const extra = link.rooms.filter((r) => !taken.has(key(r)));
    for (const r of extra) taken.add(key(r));
    if (host) host.rooms.push(...extra);
    else if (extra.length === link.rooms.length) out.push({ ...link, rooms: extra });
  }
  return out;
}
