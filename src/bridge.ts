/**
 * Puts the bridge together from a validated config: store, media, routes, relay and one connector
 * per configured network, each built from its definition in the network registry. It names no
 * network: what a network needs (its section, rooms, hooks) comes from its definition.
 */
import type { NetworkDeps, NetworkEvent, NetworkInstance } from './connectors/network.js';
import { canonicalRoom, isAnchorNetwork, NETWORKS } from './connectors/registry.js';
import type { Config } from './config.js';
import type { LoginPrompt } from './connectors/qq/webqq/login-prompt.js';
import type { Connector } from './core/connector.js';
import type { RoomRef } from './core/message.js';
import type { RelayObserver } from './core/observer.js';
import type { DeliveryFailure } from './core/outbox.js';
import { Relay } from './core/relay.js';
import type { Logger } from './log.js';
import { roomKey, type MappingLink } from './mappings/config.js';
import { MappingRouteTable } from './mappings/routes.js';
import { createMedia, type MediaService } from './media/index.js';
import type { StoreStatus } from './core/store-gate.js';
import { holdOptions } from './store/config.js';
import { openStore, type Store } from './store/store.js';

export interface RunningBridge {
  relay: Relay;
  store: Store;
  media: MediaService;
  routes: MappingRouteTable;
  connectors: Connector[];
  /**
   * Replaces the config's links (SIGHUP reload). The links come from a config that validated
   * whole, so every room is known good: the route table swaps in one assignment, then each
   * network joins what the new links add.
   */
  reloadMappings(links: MappingLink[]): void;
  stop(): Promise<void>;
}

/** Operations hooks (metrics, status notices); every one optional. */
export interface BridgeHooks {
  observer?: RelayObserver;
  onFailure?: (f: DeliveryFailure) => void;
  /** A network's connection state, a condition worth counting, its account's episodes (see NetworkEvent). */
  onNetworkEvent?: (network: string, event: NetworkEvent) => void;
  /** Who answers a login that needs a person (captchas, QR codes): the CLI's terminal. */
  loginPrompt?: LoginPrompt;
  onStoreState?: (s: StoreStatus) => void;
  onHeldDropped?: (count: number, total: number, rooms: RoomRef[]) => void;
}

export async function startBridge(config: Config, log: Logger, hooks: BridgeHooks = {}): Promise<RunningBridge> {
  const sections = config as unknown as Record<string, unknown>;
  const configuredNetworks = NETWORKS.filter((d) => sections[d.id] !== undefined);
  // Only configured networks load their connector and its libraries. Loading comes first: what a
  // network needs at start (QQ's face table) fails here, before the store or a port is open.
  const factories = await Promise.all(configuredNetworks.map((d) => d.load()));
  const store = await openStore({ stateDir: config.stateDir, ...(config.store.url ? { url: config.store.url } : {}) }, log);
  const media = createMedia({ stateDir: config.stateDir, media: config.media }, log);
  const routes = new MappingRouteTable(config.mappings);
  const instances = new Map<string, NetworkInstance>();
  const relay = new Relay({
    store,
    routes,
    log,
    media: media.access,
    onFailure: (f) => {
      log.error({ net: f.target.network, room: f.target.room, kind: f.kind, reason: f.reason, id: f.sourceId }, 'a message could not be delivered');
      hooks.onFailure?.(f);
      for (const [id, instance] of instances) {
        Promise.resolve(instance.deliveryFailed?.(f)).catch((err: unknown) => log.warn({ net: id, err: (err as Error).message }, 'telling the author about a failed delivery failed'));
      }
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

  // The config's links (replaced on reload) and the latest runtime links, merged into the routes.
  let configured: readonly MappingLink[] = config.mappings;
  let runtimeLinks: readonly MappingLink[] = [];
  const connectors: Connector[] = [];
  configuredNetworks.forEach((d, i) => {
    const deps: NetworkDeps = {
      log,
      store,
      rooms: () => routes.rooms(d.id),
      links: () => routes.links(),
      paste: async (text) => (await media.access.putText(text)).url ?? '',
      onLinksChanged: (runtime) => {
        runtimeLinks = runtime;
        routes.replace(mergeLinks(configured, runtime));
      },
      roomInfo: async (network, room) => (await instances.get(network)?.roomInfo?.(room)) ?? undefined,
      emit: (event) => {
        hooks.onNetworkEvent?.(d.id, event);
        // An account episode's alert also goes to the admins directly, on every network that can reach them.
        if (event.type === 'account' && event.alert && event.from === undefined) {
          for (const [id, instance] of instances) {
            instance.alertAdmins?.(event.alert).catch((err: unknown) => log.warn({ net: id, err: (err as Error).message }, 'alerting the admins failed'));
          }
        }
      },
      linkedRooms: (room) => routes.targetsFor(room),
      ...(hooks.loginPrompt ? { loginPrompt: hooks.loginPrompt } : {}),
    };
    const create = factories[i] as (config: unknown, deps: NetworkDeps) => NetworkInstance;
    const instance = create(sections[d.id], deps);
    instances.set(d.id, instance);
    connectors.push(instance.connector);
  });
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
      for (const [id, instance] of instances) {
        try {
          instance.linksChanged?.();
        } catch (e) {
          log.error({ net: id, err: (e as Error).message }, 'joining the rooms of the reloaded mappings failed; the links apply, the network retries at its next connect');
        }
      }
    },
    async stop() {
      await relay.stop();
      await media.server.stop();
      await store.close();
    },
  };
}

/**
 * The config's links plus those made at runtime. A runtime link to an anchor room (a QQ group)
 * the config already links adds its rooms to that link (a room belongs to one link only); the
 * config's rooms win. Sharing any other room does not join two links: that would relay one QQ
 * group into another.
 */
export function mergeLinks(configured: readonly MappingLink[], runtime: readonly MappingLink[]): MappingLink[] {
  const key = (r: { network: string; room: string }) => roomKey(r.network, canonicalRoom(r.network, r.room));
  const out = configured.map((l) => ({ ...l, rooms: [...l.rooms] }));
  const taken = new Set(out.flatMap((l) => l.rooms.map(key)));
  for (const link of runtime) {
    const anchor = link.rooms.find((r) => isAnchorNetwork(r.network));
    const host = anchor && out.find((l) => l.rooms.some((r) => key(r) === key(anchor)));
    const extra = link.rooms.filter((r) => !taken.has(key(r)));
    for (const r of extra) taken.add(key(r));
    if (host) host.rooms.push(...extra);
    else if (extra.length === link.rooms.length) out.push({ ...link, rooms: extra });
  }
  return out;
}
