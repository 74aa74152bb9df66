/**
 * Delivered-marks: what the outbox writes once a send got out, so that a restart does not send it
 * again. Marks are gathered per target and written in groups that share a commit, within a bound
 * on how many delivered items may be without a committed mark (what a crash can send again).
 */
import type { Logger } from '../log.js';
import type { OutboxItem, OutboxStore } from '../store/store.js';
import type { PendingDeliveries } from './idmap.js';
import type { BridgeMessage, RoomRef } from './message.js';
import type { JoinedSend } from './outbox-join.js';

export interface MarkOptions {
  /**
   * Sends per target whose delivered-mark may still be uncommitted when the next send starts
   * (marks are written in groups, and the marks of all targets share a commit). A crash can resend
   * at most this many items per target, plus the sends in flight (the connector's `pipeline`,
   * default 1). Default 16.
   */
  maxUnconfirmed?: number;
  /**
   * A worker that sent everything queued for its target keeps the last delivered-marks this long
   * (ms) before committing them alone: a message arriving meanwhile writes them in its own intake
   * transaction (`issueWaitingMarks`), so a steady trickle costs one commit a message, not two.
   * The crash bound is unchanged (`maxUnconfirmed`), but the last message of a quiet room stays
   * unconfirmed that much longer: a store lost (or a crash) in that window resends it. Default 0
   * (committed at once); the bridge keeps the default, as a store outage right after a message
   * then showed it twice (test/connectors/matrix/durability.test.ts).
   */
  markIdleMs?: number;
}

export interface Mark {
  seq: number;
  sourceId: string;
  remoteIds: string[];
}

/** A worker's marks. */
export interface MarkState {
  target: RoomRef;
  log: Logger;
  /** Delivered-marks sent to the store and not yet committed, oldest first. */
  unconfirmed: Array<Promise<void>>;
  /** Delivered items whose marks are not yet sent to the store (written as one group). */
  marks: Mark[];
  /** Everything read was sent and nothing else is queued: its marks wait for a group to join. */
  lingering: boolean;
}

/** What the marks need of the outbox. */
export interface MarkHost<W extends MarkState> {
  store: OutboxStore;
  pendingIds: PendingDeliveries;
  now(): number;
  /** A store call that waits out an unavailable store (Outbox.storeCall). */
  storeCall<T>(fn: () => Promise<T>): Promise<T>;
  /** A delivery is recorded: the outbox clears its failure state and tells the observer. */
  recorded(w: W, item: OutboxItem, message: BridgeMessage): void;
  recordedJoined(w: W, joined: JoinedSend): void;
}

export class DeliveredMarks<W extends MarkState> {
  private readonly max: number;
  /** How long a drained worker lingers with its marks (MarkOptions.markIdleMs). */
  readonly idleMs: number;

  constructor(
    private readonly host: MarkHost<W>,
    opts: MarkOptions,
  ) {
    this.max = Math.max(1, opts.maxUnconfirmed ?? 16);
    this.idleMs = opts.markIdleMs ?? 0;
  }

  /** Sends the worker's gathered delivered-marks to the store; they share one commit. */
  issue(w: W): void {
    const marks = w.marks.splice(0);
    if (marks.length === 0) return;
    const issued: Array<Promise<void>> = [];
    for (const m of marks) {
      const mark = this.host.storeCall(() => this.host.store.markDelivered(m.seq, { sourceId: m.sourceId, network: w.target.network, room: w.target.room, remoteIds: m.remoteIds }, this.host.now())).catch(
        (e: unknown) => w.log.warn({ seq: m.seq, err: (e as Error).message }, 'delivered-mark not recorded before the outbox stopped; the item may be sent again after a restart'),
      );
      issued.push(mark);
      w.unconfirmed.push(mark);
    }
    // The group's lookups go back to the store once all its marks settled (they never reject):
    // one callback a group, not one a mark.
    void Promise.all(issued).then(() => this.host.pendingIds.delete(w.target, marks));
  }

  /** A delivery to be marked: its ids are looked up from memory until the mark is committed. */
  private push(w: W, m: Mark): void {
    this.host.pendingIds.add(w.target, m.sourceId, m.remoteIds);
    w.marks.push(m);
  }

  /** The marks of lingering workers, issued in the caller's turn (see Outbox.issueWaitingMarks). */
  issueWaiting(workers: Iterable<W>): void {
    for (const w of workers) if (w.lingering && w.marks.length > 0) this.issue(w);
  }

  /** Waits until every delivered-mark of the worker is committed. */
  async settle(w: W): Promise<void> {
    this.issue(w);
    while (w.unconfirmed.length > 0) await w.unconfirmed.shift();
  }

  /**
   * Records a delivery. Marks are gathered and written in groups (half the unconfirmed bound at
   * a time, or whenever the worker is about to wait), and no more than `maxUnconfirmed` delivered
   * items may be without a committed mark: that is what a crash can send again.
   */
  async delivered(w: W, item: OutboxItem, message: BridgeMessage, remoteIds: string[]): Promise<void> {
    const max = this.max;
    this.push(w, { seq: item.seq, sourceId: message.id, remoteIds });
    if (w.marks.length >= Math.max(1, max >> 1)) this.issue(w);
    while (w.unconfirmed.length + w.marks.length >= max && w.unconfirmed.length > 0) await w.unconfirmed.shift();
    if (w.marks.length >= max) await this.settle(w);
    this.host.recorded(w, item, message);
  }

  /**
   * A joined send's items: their marks are queued in one turn, so one group commit records them
   * all; the remote ids map back to the head (a remote id stands for one bridge message).
   */
  async deliveredJoined(w: W, joined: JoinedSend, remoteIds: string[]): Promise<void> {
    const head = joined.items[0];
    for (const [i, it] of joined.items.entries()) {
      const m = joined.deliveries[i]!.message;
      this.push(w, { seq: it.seq, sourceId: m.id, remoteIds: it === head ? remoteIds : [] });
    }
    this.issue(w);
    while (w.unconfirmed.length >= this.max) await w.unconfirmed.shift();
    this.host.recordedJoined(w, joined);
  }
}
