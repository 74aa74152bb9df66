import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { isStoreError } from '../store/errors.js';
import type { MessageMapStore, OutboxItem, OutboxStore } from '../store/store.js';
import { backoffDelay } from './backoff.js';
import type { Connector, Delivery, MediaAccess } from './connector.js';
import { joinedSend, type JoinedSend } from './outbox-join.js';
import { DeliveredMarks, type MarkOptions, type MarkState } from './outbox-marks.js';
import { degrade, degradeDelete, degradeEdit, degradeReply } from './degrade.js';
import { isDeliveryError } from './errors.js';
import { IdMap, PendingDeliveries } from './idmap.js';
import type { BridgeMessage, RoomRef } from './message.js';
import type { RelayObserver } from './observer.js';
import type { StoreGate } from './store-gate.js';
import { roomKey } from './routes.js';
import { TokenBucket } from './token-bucket.js';
import { Signal } from './wake-signal.js';

/**
 * What the relay stores per outbox item. v2: the message as it arrived, prepared for the target
 * at send time. v1 (older queues): already degraded at enqueue; only references are resolved.
 */
export interface OutboxPayload {
  v: 1 | 2;
  message: BridgeMessage;
}

/** A delivery the operator should hear about. */
export interface DeliveryFailure {
  target: RoomRef;
  seq: number;
  sourceId: string;
  /** `rejected`: the item is dropped for good; `fatal`: the target is paused, items wait. */
  kind: 'rejected' | 'fatal';
  reason: string;
  /** The kind of the message that failed (`delete`: a deletion could not be carried out), when readable. */
  messageKind?: BridgeMessage['kind'];
}

export interface TargetStats {
  network: string;
  room: string;
  /** Pending items. */
  depth: number;
  /** Age of the oldest pending item, ms (0 when empty). */
  oldestAgeMs: number;
  /** Set while a fatal error holds the target. */
  pausedReason: string | undefined;
  waitingForConnection: boolean;
  lastError: string | undefined;
}

export interface OutboxOptions extends MarkOptions {
  store: OutboxStore & MessageMapStore;
  connectorFor(network: string): Connector | undefined;
  log?: Logger;
  onFailure?: (f: DeliveryFailure) => void;
  /** Metrics hooks (deliveries, retries, drops). */
  observer?: RelayObserver;
  /** Where store failures are reported and waited out (workers pause, never stop). */
  gate?: StoreGate;
  /** Public URLs of stored media, for targets that take pictures as links. */
  media?: MediaAccess;
  /** First retry delay; doubles per attempt up to `maxBackoffMs`, with jitter. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** How often a worker looks again at a disconnected connector. */
  connectPollMs?: number;
  /** Items read per store query. */
  batchSize?: number;
  now?: () => number;
  random?: () => number;
}

interface Worker extends MarkState {
  key: string;
  signal: Signal;
  /** A kick arrived since the worker last read the queue. */
  kicked: boolean;
  done: Promise<void>;
  /** Items of the current read already delivered as part of a joined send (Connector.join). */
  carried: Set<number>;
  /** The last read was sent to the end (not cut short by a failure or a stop). */
  drained: boolean;
  bucket: TokenBucket | undefined;
  pausedReason: string | undefined;
  waitingForConnection: boolean;
  lastError: string | undefined;
}

function isPayload(p: unknown): p is OutboxPayload {
  const m = (p as OutboxPayload | null)?.message;
  return typeof m === 'object' && m !== null && typeof m.id === 'string' && Array.isArray(m.parts);
}

/**
 * Durable per-target delivery. One worker per target room sends that room's items strictly in
 * queue order, at least once (with an idempotency key), paced by a token bucket; a retryable
 * failure holds the head item (and so everything behind it) until its backoff ends. Targets are
 * independent: one slow or dead room never delays another. State lives in the store, so a
 * restart picks up where the last run stopped.
 */
export class Outbox {
  private readonly workers = new Map<string, Worker>();
  private readonly paused = new Map<string, string>();
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly lastErrors = new Map<string, string>();
  /** Per queued item, how many of its failed attempts were server-imposed waits (429 retry-after); in memory. */
  private readonly rateLimitedAttempts = new Map<number, number>();
  private readonly store: OutboxStore & MessageMapStore;
  private readonly ids: IdMap;
  /** Delivered items whose message_map rows are not committed yet; the relay's lookups share it. */
  readonly pendingIds = new PendingDeliveries();
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly marks: DeliveredMarks<Worker>;
  private stopped = false;

  constructor(private readonly opts: OutboxOptions) {
    this.store = opts.store;
    this.ids = new IdMap(opts.store, this.pendingIds);
    this.log = opts.log ?? silentLogger;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.marks = new DeliveredMarks<Worker>(
      {
        store: opts.store,
        pendingIds: this.pendingIds,
        now: this.now,
        storeCall: (fn) => this.storeCall(fn),
        recorded: (w, item, message) => {
          this.rateLimitedAttempts.delete(item.seq);
          this.lastErrors.delete(w.key);
          const latencyMs = Math.max(0, this.now() - item.createdAt);
          this.observe((o) => o.onDelivered?.({ target: w.target, originNetwork: message.origin.network, kind: message.kind, latencyMs }));
        },
        recordedJoined: (w, joined) => {
          this.rateLimitedAttempts.delete(joined.items[0]!.seq);
          this.lastErrors.delete(w.key);
          for (const [i, it] of joined.items.entries()) {
            const m = joined.deliveries[i]!.message;
            this.observe((o) => o.onDelivered?.({ target: w.target, originNetwork: m.origin.network, kind: m.kind, latencyMs: Math.max(0, this.now() - it.createdAt) }));
          }
        },
      },
      opts,
    );
  }

  /** Resumes every target that has pending items (after a restart). */
  async start(): Promise<void> {
    this.stopped = false;
    for (const t of await this.store.pendingTargets()) this.kick(t);
  }

  /** Stops all workers; resolves once in-flight sends have finished and been recorded. */
  async stop(): Promise<void> {
    this.stopped = true;
    const running = [...this.workers.values()];
    for (const w of running) w.signal.notify();
    await Promise.all(running.map((w) => w.done));
  }

  /** New items for `target`: start its worker, or wake it. */
  kick(target: RoomRef): void {
    if (this.stopped) return;
    const key = roomKey(target);
    const w = this.workers.get(key);
    if (w) {
      w.kicked = true;
      w.signal.notify();
      return;
    }
    const worker: Worker = {
      target: { network: target.network, room: target.room },
      key,
      log: this.log.child({ net: target.network, room: target.room }),
      signal: new Signal(),
      kicked: false,
      done: Promise.resolve(),
      unconfirmed: [],
      marks: [],
      carried: new Set(),
      lingering: false,
      drained: false,
      bucket: undefined,
      pausedReason: undefined,
      waitingForConnection: false,
      lastError: undefined,
    };
    this.workers.set(key, worker);
    worker.done = this.run(worker);
  }

  /** Wakes every worker of a network, e.g. when its connector (re)connects. */
  kickNetwork(network: string): void {
    for (const w of this.workers.values()) if (w.target.network === network) w.signal.notify();
  }

  /** Lets a target paused by a fatal error try again (after the operator fixed its config). */
  resume(target: RoomRef): void {
    const key = roomKey(target);
    this.paused.delete(key);
    const w = this.workers.get(key);
    if (w) w.signal.notify();
    else this.kick(target);
  }

  isPaused(target: RoomRef): boolean {
    return this.paused.has(roomKey(target));
  }

  /** Depth, oldest age and worker state per target with pending items. */
  async stats(): Promise<TargetStats[]> {
    const now = this.now();
    return (await this.store.pendingDepths()).map((d) => {
      const key = roomKey(d);
      const w = this.workers.get(key);
      return {
        network: d.network,
        room: d.room,
        depth: d.depth,
        oldestAgeMs: Math.max(0, now - d.oldestCreatedAt),
        pausedReason: this.paused.get(key),
        waitingForConnection: w?.waitingForConnection ?? false,
        lastError: this.lastErrors.get(key),
      };
    });
  }

  /** Delay before retry number `attempts` (1-based) of an item. */
  private backoff(attempts: number): number {
    const minMs = this.opts.baseBackoffMs ?? 1_000;
    const maxMs = this.opts.maxBackoffMs ?? 300_000;
    // Equal jitter: never less than half the step, so retries of many targets spread out.
    return backoffDelay(attempts - 1, { minMs, maxMs, jitter: 0.5 }, this.random);
  }

  /**
   * Runs a store call; while the store is unavailable, reports it to the gate and waits for it
   * to come back, then tries again. Throws only when the outbox stops meanwhile.
   */
  private async storeCall<T>(fn: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await fn();
      } catch (e) {
        if (!isStoreError(e) || !this.opts.gate) throw e;
        this.opts.gate.fail(e);
        await this.opts.gate.available();
        if (this.stopped) throw e;
      }
    }
  }

  /**
   * Issues the delivered-marks of idle workers now, in the caller's turn: the intake calls it as
   * it writes a group, so the marks share that group's commit.
   */
  issueWaitingMarks(): void {
    this.marks.issueWaiting(this.workers.values());
  }

  /** A joined send delivered: its other items are not sent again in this read. */
  private deliveredJoined(w: Worker, joined: JoinedSend, remoteIds: string[]): Promise<void> {
    for (const it of joined.items.slice(1)) w.carried.add(it.seq);
    return this.marks.deliveredJoined(w, joined, remoteIds);
  }

  private async run(w: Worker): Promise<void> {
    const batchSize = this.opts.batchSize ?? 100;
    try {
      for (;;) {
        if (this.stopped) return;
        // Read only after the marks of what was sent are committed, or sent items come back.
        await this.marks.settle(w);
        w.kicked = false;
        const items = await this.storeCall(() => this.store.nextPending(w.target, batchSize));
        if (items.length === 0) {
          if (w.kicked) continue;
          return; // nothing queued; the next kick starts a new worker
        }
        w.carried.clear();
        w.drained = false;
        if (!(await this.deliverAll(w, items))) return;
        // Nothing else is queued (a new item kicks): give a message that may follow soon the
        // chance to carry these marks in its commit, and stay ready to send it without a read
        // waiting on a commit of our own.
        const idle = this.marks.idleMs;
        if (idle > 0 && w.drained && items.length < batchSize && !w.kicked && w.marks.length > 0 && !this.stopped) {
          w.lingering = true;
          try {
            await w.signal.wait(idle);
          } finally {
            w.lingering = false;
          }
        }
      }
    } catch (e) {
      if (isStoreError(e)) w.log.warn({ err: e.message }, 'outbox worker stopped while the store was unavailable');
      else w.log.error({ err: (e as Error).message }, 'outbox worker crashed');
    } finally {
      await this.marks.settle(w).catch(() => undefined);
      if (this.workers.get(w.key) === w) this.workers.delete(w.key);
    }
  }

  /**
   * Waits until `item` may be sent: target not paused, connector connected, its retry due, a
   * token in the bucket. Returns the connector, or undefined when the outbox stopped. With
   * `wait` false it never waits: undefined also means "not now".
   */
  private async ready(w: Worker, item: OutboxItem, wait: boolean): Promise<Connector | undefined> {
    for (;;) {
      if (this.stopped) return undefined;
      let sleep: number;
      const conn = this.opts.connectorFor(w.target.network);
      if (this.paused.get(w.key)) sleep = 3_600_000;
      else if (!conn || !conn.isConnected()) {
        // Waiting for a connection costs no attempts: nothing was tried.
        if (!wait) return undefined;
        w.waitingForConnection = true;
        sleep = this.opts.connectPollMs ?? 500;
      } else {
        w.waitingForConnection = false;
        const due = item.nextAttemptAt - this.now();
        // Backpressure: the item stays queued and everything behind it waits.
        sleep = due > 0 ? due : this.bucketFor(w, conn).tryTake();
        if (sleep <= 0) return conn;
      }
      if (!wait) return undefined;
      // About to wait: what was delivered gets its marks written meanwhile.
      this.marks.issue(w);
      await w.signal.wait(sleep);
    }
  }

  /**
   * Delivers `items` (the head of the target's queue) in order. Up to the connector's `pipeline`
   * sends are in flight at once: the next item is prepared and started while earlier ones are
   * on their way, and results are taken in queue order. When a send fails, the ones behind it are
   * let finish and recorded, the failure is handled, and the caller reads the queue again.
   * False when the outbox stopped first.
   */
  private async deliverAll(w: Worker, items: OutboxItem[]): Promise<boolean> {
    type Result = { ok: true; remoteIds: string[] } | { ok: false; error: unknown };
    const window: Array<{ item: OutboxItem; message: BridgeMessage; joined: JoinedSend | undefined; result: Promise<Result> }> = [];
    let next = 0;
    let stopped = false;
    for (;;) {
      // Fill the window: the first item may wait for its turn, the others go only if they can now.
      while (next < items.length && !stopped) {
        const item = items[next]!;
        // Already delivered inside an earlier joined send of this read.
        if (w.carried.has(item.seq)) {
          next++;
          continue;
        }
        if (!isPayload(item.payload)) {
          if (window.length > 0) break; // settled in order, once what is ahead of it is recorded
          next++;
          const reason = `outbox item ${item.seq} has an unreadable payload`;
          await this.storeCall(() => this.store.markFailed(item.seq, reason, this.now()));
          this.report(w, item, 'rejected', reason, '?');
          this.observe((o) => o.onDropped?.({ target: w.target, reason }));
          continue;
        }
        if (window.length >= Math.max(1, this.opts.connectorFor(w.target.network)?.capabilities.pipeline ?? 1)) break;
        const conn = await this.ready(w, item, window.length === 0);
        if (!conn) {
          if (this.stopped) stopped = true;
          break;
        }
        // A connector that joins a backlog plans from what waits behind the head: only alone in the window.
        if (conn.join && window.length > 0) break;
        next++;
        const payload = item.payload as OutboxPayload;
        const message = payload.message;
        const delivery = await this.storeCall(() => this.prepare(w.target, message, item.key, payload));
        if (item.sentIds.length > 0) delivery.alreadySent = [...item.sentIds];
        delivery.piecesSent = async (ids) => {
          item.sentIds = [...ids];
          await this.storeCall(() => this.store.recordSentIds(item.seq, ids, this.now()));
        };
        let result: Promise<Result>;
        let joined: JoinedSend | undefined;
        if (Outbox.isNoop(delivery)) {
          // Never reached this room (unknown, or refused here), or a target that shows nothing.
          w.log.debug({ seq: item.seq, id: message.id, deleteOf: message.deleteOf }, 'a delete with nothing to delete in this room; dropped');
          result = Promise.resolve({ ok: true, remoteIds: [] });
        } else {
          joined = conn.join
            ? await this.storeCall(() =>
                joinedSend({ conn, store: this.store, target: w.target, head: item, headDelivery: delivery, prepare: async (i) => (isPayload(i.payload) ? this.prepare(w.target, i.payload.message, i.key, i.payload) : undefined) }),
              )
            : undefined;
          result = (joined ? conn.join!.send(joined.deliveries) : conn.send(delivery)).then(
            (remoteIds) => ({ ok: true, remoteIds }),
            (error: unknown) => ({ ok: false, error }),
          );
        }
        window.push({ item, message, joined, result });
      }
      const head = window.shift();
      if (!head) {
        w.drained = !stopped && !this.stopped;
        return w.drained;
      }
      const r = await head.result;
      if (r.ok) {
        if (head.joined) await this.deliveredJoined(w, head.joined, r.remoteIds);
        else await this.marks.delivered(w, head.item, head.message, r.remoteIds);
        continue;
      }
      if (head.joined && isDeliveryError(r.error) && r.error.kind === 'rejected') {
        // A joined message refused: each of its items goes alone, so only a bad one is dropped.
        head.item.carries = [head.item.seq];
        const joinedItems = head.joined.items;
        await this.storeCall(() => Promise.all(joinedItems.map((it) => this.store.markCarries(it.seq, [it.seq]))));
        return !this.stopped; // read the queue again from the head
      }
      // Let the rest finish: what got out is recorded, so the re-read below does not send it again.
      const rest = await Promise.all(window.splice(0).map(async (x) => ({ ...x, r: await x.result })));
      const settled = await this.failed(w, head.item, head.message, r.error);
      let clean = settled;
      for (const x of rest) {
        if (x.r.ok) await this.marks.delivered(w, x.item, x.message, x.r.remoteIds);
        else {
          clean = false;
          const e = x.r.error;
          // Pieces it got out are kept with the item, so its retry does not send them again.
          if (isDeliveryError(e) && e.remoteIds.length > 0) {
            await this.storeCall(() => this.store.markAttemptFailed(x.item.seq, { error: e.message, nextAttemptAt: this.now(), sentIds: [...e.remoteIds] }, this.now()));
          }
        }
      }
      if (!clean) return !this.stopped; // read the queue again from the failed item
    }
  }

  /**
   * Handles a failed send of `item`: rejected → settled for good (true); fatal → the target
   * pauses; retryable → its attempt and backoff are recorded (false: it is tried again).
   */
  private async failed(w: Worker, item: OutboxItem, message: BridgeMessage, e: unknown): Promise<boolean> {
    // Pieces this attempt got out are kept with the item, so no attempt sends them again.
    if (isDeliveryError(e) && e.remoteIds.length > 0) item.sentIds = [...e.remoteIds];
    const reason = e instanceof Error ? e.message : String(e);
    const kind = isDeliveryError(e) ? e.kind : 'retryable';
    this.lastErrors.set(w.key, reason);
    if (kind === 'rejected') {
      await this.storeCall(() => this.store.markFailed(item.seq, reason, this.now()));
      this.rateLimitedAttempts.delete(item.seq);
      w.log.warn({ seq: item.seq, err: reason }, 'delivery rejected');
      this.report(w, item, 'rejected', reason, message.id, message.kind);
      this.observe((o) => o.onDropped?.({ target: w.target, reason, error: e }));
      return true;
    }
    if (kind === 'fatal') {
      this.paused.set(w.key, reason);
      w.log.error({ seq: item.seq, err: reason }, 'target paused after a fatal delivery error');
      this.report(w, item, 'fatal', reason, message.id, message.kind);
      return false;
    }
    const retryAfter = isDeliveryError(e) ? e.retryAfterMs : undefined;
    // A server's "wait N ms" is obeyed as given and does not escalate the backoff: after a
    // 429 storm, a plain failure starts again from the first step, not from minutes.
    const rateLimited = this.rateLimitedAttempts.get(item.seq) ?? 0;
    if (retryAfter !== undefined) this.rateLimitedAttempts.set(item.seq, rateLimited + 1);
    const delay = retryAfter !== undefined ? Math.max(0, retryAfter) : this.backoff(item.attempts + 1 - rateLimited);
    item.attempts += 1;
    item.nextAttemptAt = this.now() + delay;
    await this.storeCall(() => this.store.markAttemptFailed(item.seq, { error: reason, nextAttemptAt: item.nextAttemptAt, sentIds: item.sentIds }, this.now()));
    w.log.warn({ seq: item.seq, attempts: item.attempts, retryInMs: delay, err: reason }, 'delivery failed; will retry');
    this.observe((o) => o.onRetry?.({ target: w.target, error: e, attempts: item.attempts }));
    return false;
  }

  private observe(fn: (o: RelayObserver) => void): void {
    if (!this.opts.observer) return;
    try {
      fn(this.opts.observer);
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'relay observer threw');
    }
  }

  /**
   * "Prepare for this target", the one place it happens, at send time: resolve reply/edit
   * references to this room's remote ids, then degrade for what the target can carry. A target
   * that threads replies or edits natively still gets the text fallback when the referenced
   * message never reached it.
   */
  async prepare(target: RoomRef, message: BridgeMessage, key: string, payload: Pick<OutboxPayload, 'v'> = { v: 2 }): Promise<Delivery> {
    let msg = message;
    const caps = this.opts.connectorFor(target.network)?.capabilities;
    const d: Delivery = { room: target.room, message: msg, idempotencyKey: key };
    if (msg.replyTo !== undefined) {
      const [first] = caps && !caps.replies ? [] : await this.ids.remoteIdsFor(msg.replyTo, target);
      if (first !== undefined) d.replyToRemoteId = first;
      else msg = degradeReply(msg, await this.ids.quoteFor(msg.replyTo));
    }
    if (msg.editOf !== undefined) {
      const ids = caps && !caps.edits ? [] : await this.ids.remoteIdsFor(msg.editOf, target);
      if (ids.length > 0) d.editOfRemoteIds = ids;
      else msg = degradeEdit(msg);
    }
    if (msg.kind === 'delete') {
      // The message map says where the deleted message went; a delete waits behind it in this
      // queue, so a message still queued here is delivered first and then deleted.
      const ids = msg.deleteOf !== undefined ? await this.ids.remoteIdsFor(msg.deleteOf, target) : [];
      if (ids.length === 0) return { ...d, message: msg };
      if (!caps || caps.deletes) d.deleteOfRemoteIds = ids;
      else {
        const notice = degradeDelete(msg, caps);
        if (!notice) return { ...d, message: msg };
        msg = notice;
      }
    }
    if (payload.v === 2 && caps) msg = degrade(msg, caps, { mediaUrl: (id) => this.opts.media?.urlFor(id) });
    d.message = msg;
    return d;
  }

  /** A delete with nothing to delete in this room (see prepare): settled without a send. */
  static isNoop(d: Delivery): boolean {
    return d.message.kind === 'delete' && !d.deleteOfRemoteIds?.length;
  }

  private bucketFor(w: Worker, conn: Connector): TokenBucket {
    if (!w.bucket) {
      // Kept across worker restarts so an idle-then-busy target cannot burst twice.
      w.bucket = this.buckets.get(w.key) ?? new TokenBucket(conn.capabilities.rateLimit, this.now);
      this.buckets.set(w.key, w.bucket);
    }
    return w.bucket;
  }

  private report(w: Worker, item: OutboxItem, kind: DeliveryFailure['kind'], reason: string, sourceId: string, messageKind?: BridgeMessage['kind']): void {
    try {
      this.opts.onFailure?.({ target: w.target, seq: item.seq, sourceId, kind, reason, ...(messageKind ? { messageKind } : {}) });
    } catch (e) {
      w.log.error({ err: (e as Error).message }, 'onFailure callback threw');
    }
  }
}
