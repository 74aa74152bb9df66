/**
 * Puts the bridge together from a validated config: store, media, routes, relay and one connector
 * per configured network. The only module that knows every part; each part knows only its own.
 */
import { IrcConnector } from './connectors/irc/connector.js';
import type { MatrixConnector } from './connectors/matrix/connector.js';
import { QqConnector } from './connectors/qq/connector.js';
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
import { openStore, type Store } from './store/store.js';

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
  qq?: { onState?: (state: string, detail?: string) => void; onCondition?: (what: string) => void };
  telegram?: { onRateLimited?: (retryAfterSec: number | undefined) => void };
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
    },
    ...(hooks.observer ? { observer: hooks.observer } : {}),
    onHalt: (e) => {
      log.fatal({ err: e.message }, 'the store failed; no more input is taken until it is fixed');
      // WebQQ keeps what the group says on its server until it is polled, and a polled message
      // that cannot be stored is gone: stop polling, so it waits there for the restart.
      qq.stop().catch((err: unknown) => log.error({ err: (err as Error).message }, 'stopping QQ after the store failure failed'));
    },
  });

  const connectors: Connector[] = [];
  const qq = new QqConnector(config.qq, {
    routes,
    ...(hooks.qq?.onState ? { onState: hooks.qq.onState } : {}),
    ...(hooks.qq?.onCondition ? { client: { onCondition: hooks.qq.onCondition } } : {}),
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
      groupInfo: async (n) => {
        const g = qq.webqq?.groups().find((x) => x.number === n);
        return g ? { name: g.name } : undefined;
      },
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
