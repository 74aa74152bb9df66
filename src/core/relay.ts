import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { StoreError, isStoreError } from '../store/errors.js';
import type { EnqueueItem, Store } from '../store/store.js';
import type { Connector, ConnectorContext, MediaAccess } from './connector.js';
import { Dedupe, dedupeKeyOf } from './dedupe.js';
import { degrade, type Quote } from './degrade.js';
import { IdMap, originEntryOf } from './idmap.js';
import type { BridgeMessage, RoomRef } from './message.js';
import type { RelayObserver } from './observer.js';
import { Outbox, type DeliveryFailure, type OutboxOptions, type OutboxPayload, type TargetStats } from './outbox.js';
import { roomKey, type RouteTable } from './routes.js';

export type ReceiveOutcome =
  | { status: 'queued'; targets: number }
  | { status: 'duplicate' }
  | { status: 'loop' }
  | { status: 'unrouted' };

export interface RelayOptions {
  store: Store;
  routes: RouteTable;
  log?: Logger;
  media?: MediaAccess;
  /** A delivery was rejected for good, or a target paused: tell the operator. */
  onFailure?: (f: DeliveryFailure) => void;
  /** The store failed; the relay has stopped taking input. */
  onHalt?: (e: StoreError) => void;
  /** Metrics hooks (see observer.ts). */
  observer?: RelayObserver;
  /** Outbox tuning (backoff, polling, clock). */
  outbox?: Pick<OutboxOptions, 'baseBackoffMs' | 'maxBackoffMs' | 'connectPollMs' | 'batchSize' | 'now' | 'random'>;
  /** How long delivered/seen bookkeeping is kept (ms). */
  retention?: { dedupeMs?: number; outboxMs?: number; messageMapMs?: number };
  /** How often retention runs; 0 disables (default: hourly). */
  pruneIntervalMs?: number;
}

/** Stands in when no media store is configured: pictures keep only the URL they came with. */
const noMedia: MediaAccess = {
  async put() {
    throw new Error('no media store configured');
  },
  async putText() {
    throw new Error('no media store configured');
  },
  async get() {
    return undefined;
  },
  urlFor() {
    return undefined;
  },
};

/**
 * Routes every inbound message: persisted dedupe → loop guard → routes → degrade for each
 * target's capabilities → that target's durable outbox. Knows connectors only through the
 * Connector interface.
 */
export class Relay {
  readonly outbox: Outbox;
  private readonly connectors = new Map<string, Connector>();
  private readonly store: Store;
  private readonly ids: IdMap;
  private readonly dedupe: Dedupe;
  private readonly log: Logger;
  private readonly media: MediaAccess;
  /** Per origin room, so messages from one room are queued in the order they arrived. */
  private readonly chains = new Map<string, Promise<unknown>>();
  private haltedBy: StoreError | undefined;
  private stopping = false;
  private pruneTimer: NodeJS.Timeout | undefined;
  private readonly warnedNoConnector = new Set<string>();

  constructor(private readonly opts: RelayOptions) {
    this.store = opts.store;
    this.ids = new IdMap(opts.store);
    this.dedupe = new Dedupe(opts.store, opts.retention?.dedupeMs);
    this.log = opts.log ?? silentLogger;
    this.media = opts.media ?? noMedia;
    this.outbox = new Outbox({
      ...opts.outbox,
      store: opts.store,
      log: this.log,
      connectorFor: (n) => this.connectors.get(n),
      onFailure: opts.onFailure,
      ...(opts.observer ? { observer: opts.observer } : {}),
      onStoreError: (e) => this.halt(e),
    });
  }

  /** The store error that stopped the relay, if any. */
  get halted(): StoreError | undefined {
    return this.haltedBy;
  }

  register(connector: Connector): void {
    if (this.connectors.has(connector.network)) throw new Error(`a connector for network "${connector.network}" is already registered`);
    this.connectors.set(connector.network, connector);
  }

  /** The context a connector is started with. */
  contextFor(connector: Connector): ConnectorContext {
    const network = connector.network;
    return {
      log: this.log.child({ net: network }),
      receive: async (msg) => {
        await this.receive(network, msg);
      },
      media: this.media,
      remoteIdsFor: (sourceId, room) => this.ids.remoteIdsFor(sourceId, { network, room }),
      sourceIdFor: (room, remoteId) => this.ids.sourceIdFor({ network, room }, remoteId),
    };
  }

  /** Resumes pending deliveries, then starts every connector. */
  async start(): Promise<void> {
    this.stopping = false;
    await this.outbox.start();
    await Promise.all([...this.connectors.values()].map((c) => c.start(this.contextFor(c))));
    const every = this.opts.pruneIntervalMs ?? 3_600_000;
    if (every > 0) {
      this.pruneTimer = setInterval(() => void this.prune().catch((e) => this.log.warn({ err: (e as Error).message }, 'prune failed')), every);
      this.pruneTimer.unref();
    }
  }

  /**
   * Asks every connector to stop fetching input (an update refused from here on could be lost:
   * networks that take it as delivered would not send it again), then stops taking input, lets
   * in-flight sends finish and be recorded, then stops the connectors.
   */
  async stop(): Promise<void> {
    await this.stopInput();
    this.stopping = true;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await Promise.allSettled([...this.chains.values()]);
    await this.outbox.stop();
    await Promise.all([...this.connectors.values()].map((c) => c.stop()));
  }

  /** Deletes bookkeeping older than the retention windows. */
  async prune(now = Date.now()): Promise<void> {
    const r = this.opts.retention ?? {};
    await this.dedupe.prune(now);
    await this.store.pruneOutbox(now - (r.outboxMs ?? 7 * 24 * 3600_000));
    await this.store.pruneMessageMap(now - (r.messageMapMs ?? 30 * 24 * 3600_000));
  }

  async stats(): Promise<TargetStats[]> {
    return this.outbox.stats();
  }

  /** The registered connectors (health checks, status notices). */
  registered(): Connector[] {
    return [...this.connectors.values()];
  }

  /**
   * Queues a message the bridge itself says (a status notice) straight to `rooms`' outboxes:
   * no routes, no dedupe, never relayed on. Rooms whose network has no connector are skipped.
   */
  async notify(msg: BridgeMessage, rooms: readonly RoomRef[]): Promise<number> {
    if (this.haltedBy) throw this.haltedBy;
    const items: EnqueueItem[] = [];
    for (const t of rooms) {
      const conn = this.connectors.get(t.network);
      if (!conn) continue;
      const message = degrade({ ...msg, fromBridge: true }, conn.capabilities, { mediaUrl: (id) => this.media.urlFor(id) });
      items.push({ network: t.network, room: t.room, key: `${msg.id}>${t.network}:${t.room}`, payload: { v: 1, message } satisfies OutboxPayload });
    }
    if (items.length === 0) return 0;
    try {
      const res = await this.store.enqueue(items);
      for (const it of items) this.outbox.kick(it);
      return res.inserted;
    } catch (e) {
      if (isStoreError(e)) this.halt(e);
      throw e;
    }
  }

  /** Asks every connector to stop fetching input; what arrives meanwhile is still taken, durably. */
  async stopInput(): Promise<void> {
    await Promise.all([...this.connectors.values()].map((c) => c.stopInput?.().catch((e: unknown) => this.log.warn({ net: c.network, err: (e as Error).message }, 'stopping input failed'))));
  }

  /**
   * Graceful shutdown, after `stopInput`: waits (at most `timeoutMs`) until every pending item
   * that can be delivered has been; what is left stays queued in the store. Returns the number
   * of items still pending.
   */
  async drain(timeoutMs: number, pollMs = 50): Promise<number> {
    // Input is still taken while draining: a message that arrives now is stored and goes out at
    // the next start, which is better than refusing it (the network may not offer it again).
    const deadline = Date.now() + timeoutMs;
    await Promise.race([Promise.allSettled([...this.chains.values()]), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    for (;;) {
      const stats = await this.outbox.stats().catch(() => []);
      const left = stats.reduce((a, s) => a + s.depth, 0);
      // Items for a paused or disconnected target cannot go now: waiting for them is pointless.
      const deliverable = stats.filter((s) => !s.pausedReason && !s.waitingForConnection && this.connectors.get(s.network)?.isConnected());
      if (deliverable.length === 0 || Date.now() >= deadline || this.haltedBy) return left;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /**
   * Takes one inbound message from `network`. Resolves once it is durably queued for every
   * target (or found to be a duplicate, an echo, or unrouted); rejects with StoreError when the
   * store cannot take it, after which the relay refuses all input.
   */
  receive(network: string, msg: BridgeMessage): Promise<ReceiveOutcome> {
    if (this.haltedBy) return Promise.reject(this.haltedBy);
    if (this.stopping) return Promise.reject(new Error('relay is stopping; message not taken'));
    if (msg.origin?.network !== network) {
      return Promise.reject(new Error(`connector "${network}" handed over a message from network "${msg.origin?.network}" (id ${msg.id})`));
    }
    if (typeof msg.id !== 'string' || msg.id === '' || !Array.isArray(msg.parts)) {
      return Promise.reject(new Error(`connector "${network}" handed over a malformed message (id ${String(msg.id)})`));
    }
    const key = roomKey(msg.origin);
    const prev = this.chains.get(key) ?? Promise.resolve();
    const next = prev.then(
      () => this.accept(msg),
      () => this.accept(msg),
    );
    this.chains.set(key, next);
    const clear = () => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    };
    next.then(clear, clear);
    return next;
  }

  private async accept(msg: BridgeMessage): Promise<ReceiveOutcome> {
    if (this.haltedBy) throw this.haltedBy;
    const log = this.log.child({ net: msg.origin.network, room: msg.origin.room });
    try {
      if (msg.fromBridge) return { status: 'loop' };
      if (await this.dedupe.seen(msg)) {
        log.debug({ id: msg.id }, 'duplicate dropped');
        return { status: 'duplicate' };
      }
      if (await this.ids.isOwnOutput(msg)) {
        log.debug({ id: msg.id }, 'own output dropped');
        return { status: 'loop' };
      }

      let quote: Quote | undefined | null = null;
      const items: EnqueueItem[] = [];
      for (const t of this.opts.routes.targetsFor(msg.origin)) {
        if (t.network === msg.origin.network && t.room === msg.origin.room) continue;
        if (t.flags.kinds && !t.flags.kinds.includes(msg.kind)) continue;
        const conn = this.connectors.get(t.network);
        if (!conn) {
          if (!this.warnedNoConnector.has(t.network)) {
            this.warnedNoConnector.add(t.network);
            log.warn({ target: t.network }, 'route to a network without a registered connector; skipped');
          }
          continue;
        }
        if (msg.replyTo !== undefined && !conn.capabilities.replies && quote === null) quote = await this.ids.quoteFor(msg.replyTo);
        const message = degrade(msg, conn.capabilities, {
          mediaUrl: (id) => this.media.urlFor(id),
          replyQuote: quote ?? undefined,
        });
        const payload: OutboxPayload = { v: 1, message };
        items.push({ network: t.network, room: t.room, key: `${msg.id}>${t.network}:${t.room}`, payload });
      }

      const origin = originEntryOf(msg);
      const res = await this.store.enqueue(items, { dedupe: dedupeKeyOf(msg), ...(origin ? { origin } : {}) });
      if (!res.firstSeen) return { status: 'duplicate' };
      for (const it of items) this.outbox.kick(it);
      return items.length > 0 ? { status: 'queued', targets: items.length } : { status: 'unrouted' };
    } catch (e) {
      if (isStoreError(e)) {
        this.halt(e);
        throw e;
      }
      throw e;
    }
  }

  private halt(e: StoreError): void {
    if (this.haltedBy) return;
    this.haltedBy = e;
    this.log.error({ err: e.message }, 'store failed: relay stopped taking input');
    void this.outbox.stop();
    try {
      this.opts.onHalt?.(e);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'onHalt callback threw');
    }
  }
}

export { StoreError };
