import type { Logger } from '../log.js';
import { isStoreError, StoreError } from '../store/errors.js';
import type { EnqueueItem, EnqueueResult, KvStore, OriginEntry, OutboxStore } from '../store/store.js';
import type { StoreGate } from './store-gate.js';

/**
 * The store is unavailable and the caller asked not to be held (`receive(msg, { hold: false })`):
 * the source keeps the message and offers it again (Matrix: 503; Telegram webhook: 503).
 */
export class InputPausedError extends StoreError {
  constructor(cause: StoreError) {
    super(`input paused: the bridge's database is unavailable (${cause.message})`, { cause, ...(cause.code ? { code: cause.code } : {}) });
    this.name = 'InputPausedError';
  }
}

/** A held message was dropped because the hold buffer was full (counted and reported). */
export class HeldMessageDroppedError extends Error {
  constructor(id: string, limit: string) {
    super(`message ${id} dropped: the store is unavailable and the hold buffer is full (${limit})`);
    this.name = 'HeldMessageDroppedError';
  }
}

export interface IntakeEntry {
  id: string;
  items: EnqueueItem[];
  dedupe?: { network: string; key: string };
  origin?: OriginEntry;
  /** Size of what is held, for the byte bound. */
  bytes: number;
  /** False: refuse rather than hold when the store is unavailable. */
  hold: boolean;
  /** A write of this entry failed before; its "already seen" on a retry is our own first try. */
  tried: boolean;
  done(res: EnqueueResult, retried: boolean): void;
  fail(e: unknown): void;
}

export interface IntakeOptions {
  store: Pick<OutboxStore, 'enqueue'> & Pick<KvStore, 'kvSet'>;
  gate: StoreGate;
  log: Logger;
  /** Hold-buffer bounds; past either, the oldest held messages are dropped and counted. */
  maxHeld: number;
  maxHeldBytes: number;
  /** Entries written in one transaction at most. */
  maxGroup?: number;
  /**
   * Called in the turn a group's writes are issued, so other writes asked for now (the outbox's
   * waiting delivered-marks) share its transaction: one commit instead of two.
   */
  beforeGroup?(): void;
  onDropped?(dropped: IntakeEntry[], total: number): void;
}

/**
 * The relay's write path, and the one owner of "accepted ⇒ durable before acknowledged":
 * everything accepted in one turn of the event loop is written in one transaction (group commit;
 * the store's driver shares the COMMIT), and each source's promise resolves only after it.
 * While one group is being written (PostgreSQL: a round trip) the next gathers. When the store
 * fails, entries stay here, in order, bounded; the store gate's probe writes them when it answers.
 */
export class Intake {
  private queue: IntakeEntry[] = [];
  private heldBytes = 0;
  /**
   * The group being written. While `open` (its transaction has not run yet) new entries join it
   * at once: the driver gathers every write asked for in one turn into one transaction. Once it
   * closed, entries wait in `queue` for the next group, so a failed group is retried before
   * anything that came after it (order per room survives an outage).
   */
  private group: { entries: IntakeEntry[]; calls: Array<Promise<EnqueueResult>>; open: boolean; done: Promise<StoreError | undefined> } | undefined;
  private stopped = false;

  constructor(private readonly opts: IntakeOptions) {
    opts.gate.heldCount = () => this.queue.length;
    opts.gate.onChange((s) => {
      if (s.state === 'available') this.pump();
    });
  }

  get held(): number {
    return this.queue.length;
  }

  push(e: IntakeEntry): void {
    if (this.stopped) {
      e.fail(new Error('relay is stopping; message not taken'));
      return;
    }
    const down = this.opts.gate.error;
    if (down && !e.hold) {
      e.fail(new InputPausedError(down));
      return;
    }
    this.queue.push(e);
    this.heldBytes += e.bytes;
    this.enforceBound();
    this.opts.gate.noteHeld();
    this.pump();
  }

  /** Writes what is queued now (the gate's probe while the store is unavailable). Throws the store's error. */
  async writeNow(): Promise<void> {
    if (this.group) await this.group.done;
    if (this.queue.length === 0) {
      await this.opts.store.kvSet('store.probe', String(Date.now()));
      return;
    }
    const err = await this.startGroup().done;
    if (err) throw err;
  }

  /** Waits for the write in progress; refuses what is still held (shutdown). Returns how many were refused. */
  async stop(): Promise<number> {
    // Let what is queued while the store works be written: it was accepted.
    while (!this.opts.gate.isDown && (this.queue.length > 0 || this.group)) {
      if (this.group) await this.group.done;
      else await this.startGroup().done;
    }
    this.stopped = true;
    const left = this.queue.splice(0);
    for (const e of left) e.fail(new Error('relay stopped while the store was unavailable; message not written'));
    this.heldBytes = 0;
    return left.length;
  }

  private pump(): void {
    if (this.opts.gate.isDown || this.queue.length === 0) return;
    if (!this.group) {
      this.startGroup();
      return;
    }
    if (this.group.open) for (const e of this.queue.splice(0)) this.issue(this.group, e);
  }

  private issue(g: NonNullable<Intake['group']>, e: IntakeEntry): void {
    g.entries.push(e);
    const p = this.opts.store.enqueue(e.items, { ...(e.dedupe ? { dedupe: e.dedupe } : {}), ...(e.origin ? { origin: e.origin } : {}) });
    const close = () => {
      g.open = false;
    };
    p.then(close, close);
    g.calls.push(p);
  }

  private startGroup(): NonNullable<Intake['group']> {
    const g: NonNullable<Intake['group']> = { entries: [], calls: [], open: true, done: Promise.resolve(undefined) };
    this.group = g;
    this.opts.beforeGroup?.();
    for (const e of this.queue.splice(0, this.opts.maxGroup ?? 1000)) this.issue(g, e);
    g.done = this.settle(g);
    return g;
  }

  /** Waits for the group's transaction; hands out results. Returns the store error when it failed (the entries stay queued). */
  private async settle(g: NonNullable<Intake['group']>): Promise<StoreError | undefined> {
    let results: Array<PromiseSettledResult<EnqueueResult>> = [];
    while (results.length < g.calls.length) results = results.concat(await Promise.allSettled(g.calls.slice(results.length)));
    let storeErr: StoreError | undefined;
    const back: IntakeEntry[] = [];
    results.forEach((r, i) => {
      const e = g.entries[i]!;
      if (r.status === 'rejected' && isStoreError(r.reason)) {
        storeErr = r.reason;
        e.tried = true;
        if (e.hold) {
          back.push(e);
          return;
        }
        this.heldBytes -= e.bytes;
        e.fail(new InputPausedError(r.reason));
        return;
      }
      this.heldBytes -= e.bytes;
      if (r.status === 'fulfilled') e.done(r.value, e.tried);
      else e.fail(r.reason);
    });
    if (back.length > 0) this.queue = [...back, ...this.queue];
    this.group = undefined;
    if (storeErr) this.opts.gate.fail(storeErr);
    else this.opts.gate.ok();
    this.pump();
    return storeErr;
  }

  private enforceBound(): void {
    const dropped: IntakeEntry[] = [];
    while (this.queue.length > 1 && (this.queue.length > this.opts.maxHeld || this.heldBytes > this.opts.maxHeldBytes)) {
      const e = this.queue.shift()!;
      this.heldBytes -= e.bytes;
      dropped.push(e);
    }
    if (dropped.length === 0) return;
    this.opts.gate.dropped += dropped.length;
    const limit = `${this.opts.maxHeld} messages or ${Math.round(this.opts.maxHeldBytes / 1024 / 1024)} MiB`;
    for (const e of dropped) e.fail(new HeldMessageDroppedError(e.id, limit));
    this.opts.onDropped?.(dropped, this.opts.gate.dropped);
  }
}
