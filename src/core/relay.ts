import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { StoreError, isStoreError } from '../store/errors.js';
import type { CoreStore, EnqueueItem } from '../store/store.js';
import type { Connector, ConnectorContext, MediaAccess } from './connector.js';
import { Dedupe, dedupeKeyOf } from './dedupe.js';
import { IdMap, originEntryOf } from './idmap.js';
import { Intake, InputPausedError } from './intake.js';
import type { BridgeMessage, RoomRef } from './message.js';
import type { RelayObserver } from './observer.js';
import { Outbox, type DeliveryFailure, type OutboxOptions, type OutboxPayload, type TargetStats } from './outbox.js';
import { roomKey, type RouteTable } from './routes.js';
import { StoreGate, type StoreStatus } from './store-gate.js';

export type ReceiveOutcome =
  | { status: 'queued'; targets: number }
  | { status: 'duplicate' }
  | { status: 'loop' }
  | { status: 'unrouted' };

/** How the relay rides out a store outage (issue 15): hold, retry, and at last give up. */
export interface HoldOptions {
  /** Inbound messages held in memory while the store is unavailable (default 10,000). */
  maxMessages?: number;
  /** …and their size bound (default 32 MiB). Past either, the oldest are dropped and counted. */
  maxBytes?: number;
  /** Unavailable longer than this: `onStoreGiveUp` (default 10 minutes; 0 never). */
  exitAfterMs?: number;
  /** Store retry backoff: first step and cap (with jitter). */
  retryMinMs?: number;
  retryMaxMs?: number;
}

export interface RelayOptions {
  store: CoreStore;
  routes: RouteTable;
  log?: Logger;
  media?: MediaAccess;
  /** A delivery was rejected for good, or a target paused: tell the operator. */
  onFailure?: (f: DeliveryFailure) => void;
  /** The store became unavailable (input paused, messages held) or available again. */
  onStoreState?: (s: StoreStatus) => void;
  /** Held messages were dropped because the hold buffer was full: `count` now, `total` since start. */
  onHeldDropped?: (count: number, total: number, rooms: RoomRef[]) => void;
  /** The store stayed unavailable past `hold.exitAfterMs`: the bridge should exit non-zero. */
  onStoreGiveUp?: (e: StoreError, downForMs: number) => void;
  hold?: HoldOptions;
  /** Metrics hooks (see observer.ts). */
  observer?: RelayObserver;
  /** Outbox tuning (backoff, polling, clock, pipeline depth). */
  outbox?: Pick<OutboxOptions, 'baseBackoffMs' | 'maxBackoffMs' | 'connectPollMs' | 'batchSize' | 'maxUnconfirmed' | 'markIdleMs' | 'now' | 'random'>;
  /**
   * How long delivered/seen bookkeeping is kept (ms). `dedupeMs` must not exceed `outboxMs`: a
   * replay whose dedupe key is still claimed is kept out by its outbox rows' keys as well.
   */
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
 * Routes every inbound message: loop guard → routes → that target's durable outbox, through the
 * intake (group commit; hold while the store is unavailable). Persisted dedupe is claimed in the
 * same transaction. What each target gets is prepared at send time by the outbox (resolve
 * references, then degrade). Knows connectors only through the Connector interface.
 *
 * Owners, one each: order per origin room — `chains` here, then the intake's queue, then the
 * outbox's per-target worker; dedupe — the store's claim inside the enqueue transaction; echo
 * suppression — `fromBridge` (set by the connector that knows its own account) and the id map
 * (a message whose native id the bridge itself created in that room); rate limit and "prepare
 * for this target" — the outbox worker.
 */
export class Relay {
  readonly outbox: Outbox;
  readonly gate: StoreGate;
  private readonly intake: Intake;
  private readonly connectors = new Map<string, Connector>();
  private readonly store: CoreStore;
  private readonly ids: IdMap;
  private readonly dedupe: Dedupe;
  private readonly log: Logger;
  private readonly media: MediaAccess;
  /** Per origin room, so messages from one room reach the intake in the order they arrived. */
  private readonly chains = new Map<string, Promise<unknown>>();
  private stopping = false;
  private pruneTimer: NodeJS.Timeout | undefined;
  private readonly warnedNoConnector = new Set<string>();

  constructor(private readonly opts: RelayOptions) {
    this.store = opts.store;
    this.dedupe = new Dedupe(opts.store, opts.retention?.dedupeMs);
    this.log = opts.log ?? silentLogger;
    this.media = opts.media ?? noMedia;
    const hold = opts.hold ?? {};
    this.gate = new StoreGate({
      minRetryMs: hold.retryMinMs ?? 250,
      maxRetryMs: hold.retryMaxMs ?? 2_000,
      giveUpAfterMs: hold.exitAfterMs ?? 600_000,
      probe: () => this.intake.writeNow(),
      onGiveUp: (e, ms) => {
        this.log.fatal({ err: e.message, downForMs: ms, held: this.intake.held }, 'the store stayed unavailable past the exit bound; giving up');
        this.opts.onStoreGiveUp?.(e, ms);
      },
      ...(opts.outbox?.now ? { now: opts.outbox.now } : {}),
    });
    this.intake = new Intake({
      store: opts.store,
      gate: this.gate,
      log: this.log,
      maxHeld: hold.maxMessages ?? 10_000,
      maxHeldBytes: hold.maxBytes ?? 32 * 1024 * 1024,
      beforeGroup: () => this.outbox.issueWaitingMarks(),
      onDropped: (dropped, total) => {
        const rooms = new Map<string, RoomRef>();
        for (const e of dropped) for (const it of e.items) rooms.set(roomKey(it), { network: it.network, room: it.room });
        this.log.error({ dropped: dropped.length, total, ids: dropped.map((e) => e.id) }, 'store unavailable and the hold buffer is full: oldest held messages dropped');
        try {
          this.opts.onHeldDropped?.(dropped.length, total, [...rooms.values()]);
        } catch (err) {
          this.log.error({ err: (err as Error).message }, 'onHeldDropped callback threw');
        }
      },
    });
    this.gate.onChange((s) => {
      if (s.state === 'unavailable') this.log.error({ err: s.error, held: s.held }, 'store unavailable: input paused, messages held in memory; retrying');
      else this.log.warn({ held: s.held, dropped: s.dropped }, 'store available again: input resumed');
      for (const fn of this.pauseListeners) fn(s.state === 'unavailable');
      try {
        this.opts.onStoreState?.(s);
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'onStoreState callback threw');
      }
    });
    this.outbox = new Outbox({
      ...opts.outbox,
      store: opts.store,
      gate: this.gate,
      log: this.log,
      media: this.media,
      connectorFor: (n) => this.connectors.get(n),
      onFailure: opts.onFailure,
      ...(opts.observer ? { observer: opts.observer } : {}),
    });
    this.ids = new IdMap(opts.store, this.outbox.pendingIds);
  }

  private readonly pauseListeners = new Set<(paused: boolean) => void>();

  /** The store error input is paused on, if the store is unavailable now. */
  get halted(): StoreError | undefined {
    return this.gate.error;
  }

  storeStatus(): StoreStatus {
    return this.gate.status();
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
      receive: async (msg, o) => {
        await this.receive(network, msg, o);
      },
      inputPaused: () => this.gate.isDown,
      inputResumed: () => this.gate.available(),
      onInputPaused: (fn) => {
        this.pauseListeners.add(fn);
        return () => this.pauseListeners.delete(fn);
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
   * networks that take it as delivered would not send it again), then stops taking input, writes
   * what was taken (when the store answers), lets in-flight sends finish and be recorded, then
   * stops the connectors.
   */
  async stop(): Promise<void> {
    await this.stopInput();
    this.stopping = true;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await Promise.race([Promise.allSettled([...this.chains.values()]), new Promise((r) => setTimeout(r, 5_000).unref())]);
    const lost = await this.intake.stop();
    if (lost > 0) this.log.error({ lost }, 'stopped while the store was unavailable: held messages were not written');
    this.gate.close();
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
   * While the store is unavailable the notice is sent directly, once, best effort: it is about
   * the store, and there is nowhere durable to keep it.
   */
  async notify(msg: BridgeMessage, rooms: readonly RoomRef[]): Promise<number> {
    const notice: BridgeMessage = { ...msg, fromBridge: true };
    const targets = rooms.filter((t) => this.connectors.has(t.network));
    if (targets.length === 0) return 0;
    if (this.gate.isDown) {
      let sent = 0;
      for (const t of targets) {
        const conn = this.connectors.get(t.network)!;
        if (!conn.isConnected()) continue;
        try {
          await conn.send(await this.outbox.prepare(t, notice, `${msg.id}>${t.network}:${t.room}`));
          sent++;
        } catch (e) {
          this.log.warn({ net: t.network, room: t.room, err: (e as Error).message }, 'a status notice could not be sent while the store is unavailable');
        }
      }
      return sent;
    }
    const items = targets.map((t) => ({ network: t.network, room: t.room, key: `${msg.id}>${t.network}:${t.room}`, payload: { v: 2, message: notice } satisfies OutboxPayload }));
    try {
      const res = await this.store.enqueue(items);
      for (const it of items) this.outbox.kick(it);
      return res.inserted;
    } catch (e) {
      if (isStoreError(e)) this.gate.fail(e);
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
      if (deliverable.length === 0 || Date.now() >= deadline || this.gate.isDown) return left;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /**
   * Takes one inbound message from `network`. Resolves once it is durably queued for every
   * target (or found to be a duplicate, an echo, or unrouted). While the store is unavailable the
   * message is held in memory (bounded) and the promise waits for the store; with
   * `{ hold: false }` it rejects at once with InputPausedError instead, for sources that keep the
   * message themselves until it is taken (an HTTP push answered 503).
   */
  receive(network: string, msg: BridgeMessage, o: { hold?: boolean } = {}): Promise<ReceiveOutcome> {
    if (this.stopping) return Promise.reject(new Error('relay is stopping; message not taken'));
    if (msg.origin?.network !== network) {
      return Promise.reject(new Error(`connector "${network}" handed over a message from network "${msg.origin?.network}" (id ${msg.id})`));
    }
    if (typeof msg.id !== 'string' || msg.id === '' || !Array.isArray(msg.parts)) {
      return Promise.reject(new Error(`connector "${network}" handed over a malformed message (id ${String(msg.id)})`));
    }
    if (msg.fromBridge) return Promise.resolve({ status: 'loop' });
    const hold = o.hold ?? true;
    if (!hold && this.gate.error) return Promise.reject(new InputPausedError(this.gate.error));
    const key = roomKey(msg.origin);
    let written!: Promise<ReceiveOutcome>;
    const prev = this.chains.get(key) ?? Promise.resolve();
    // The chain orders the hand-over to the intake (after the echo read) only; the next message
    // of the room goes on as soon as this one is in the intake, and the write is shared by the group.
    const step = async () => {
      if (await this.isEcho(msg)) {
        this.log.debug({ net: msg.origin.network, room: msg.origin.room, id: msg.id }, 'own output dropped');
        written = Promise.resolve({ status: 'loop' });
        return;
      }
      written = this.accept(msg, hold);
    };
    const next = prev.then(step, step);
    this.chains.set(key, next);
    const clear = () => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    };
    next.then(clear, clear);
    return next.then(() => written);
  }

  /** Routes `msg` and hands it to the intake, synchronously; resolves once it is written. */
  private accept(msg: BridgeMessage, hold: boolean): Promise<ReceiveOutcome> {
    // Made only when something is logged: a child logger per message is dear in a burst.
    const log = () => this.log.child({ net: msg.origin.network, room: msg.origin.room });
    const items: EnqueueItem[] = [];
    const payload: OutboxPayload = { v: 2, message: msg };
    for (const t of this.opts.routes.targetsFor(msg.origin)) {
      if (t.network === msg.origin.network && t.room === msg.origin.room) continue;
      if (t.flags.kinds && !t.flags.kinds.includes(msg.kind)) continue;
      if (!this.connectors.has(t.network)) {
        if (!this.warnedNoConnector.has(t.network)) {
          this.warnedNoConnector.add(t.network);
          log().warn({ target: t.network }, 'route to a network without a registered connector; skipped');
        }
        continue;
      }
      items.push({ network: t.network, room: t.room, key: `${msg.id}>${t.network}:${t.room}`, payload });
    }
    const origin = originEntryOf(msg);
    return new Promise<ReceiveOutcome>((resolve, reject) => {
      this.intake.push({
        id: msg.id,
        items,
        dedupe: dedupeKeyOf(msg),
        ...(origin ? { origin } : {}),
        // The payload is shared by the targets in memory; JSON size is a fair measure of it.
        bytes: 256 + msg.parts.reduce((a, p) => a + (p.type === 'text' ? p.text.length * 2 : 128), 0),
        hold,
        tried: false,
        done: (res, retried) => {
          // A retried write finding its own first try committed is not a duplicate.
          if (!res.firstSeen && !retried) {
            log().debug({ id: msg.id }, 'duplicate dropped');
            resolve({ status: 'duplicate' });
            return;
          }
          for (const it of items) this.outbox.kick(it);
          resolve(items.length > 0 ? { status: 'queued', targets: items.length } : { status: 'unrouted' });
        },
        fail: reject,
      });
    });
  }

  /**
   * Echo by id: a message whose native id is one the bridge created in that room. Only ids of
   * the `<network>:<room>:<native id>` shape can match; a read while the store is unavailable
   * counts as "not an echo" (the connectors' own-account checks still apply).
   */
  private async isEcho(msg: BridgeMessage): Promise<boolean> {
    if (this.gate.isDown) return false;
    try {
      return await this.ids.isOwnOutput(msg);
    } catch (e) {
      if (isStoreError(e)) return false;
      throw e;
    }
  }
}

export { StoreError };
