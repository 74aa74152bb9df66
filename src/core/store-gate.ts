import type { StoreError } from '../store/errors.js';
import { backoffDelay } from './backoff.js';

/** What the bridge knows about its store, for health, metrics and notices. */
export interface StoreStatus {
  state: 'available' | 'unavailable';
  /** Epoch ms the store became unavailable. */
  since: number | undefined;
  /** The last store error while unavailable. */
  error: string | undefined;
  /** Inbound messages held in memory, waiting for the store. */
  held: number;
  /** Held messages dropped because the buffer was full, since start. */
  dropped: number;
  /**
   * The most messages held at once during this outage (once available again: the last one). Held
   * messages leave the buffer only when written or dropped, so this is what the store's return
   * relays; `held` is near 0 by then, as the first good write took them.
   */
  peakHeld: number;
}

export interface StoreGateOptions {
  /** First retry delay after a failure; doubles up to `maxRetryMs`, with jitter. */
  minRetryMs?: number;
  maxRetryMs?: number;
  /** Unavailable longer than this: `onGiveUp` (the bridge exits so its supervisor restarts it). 0 = never. */
  giveUpAfterMs?: number;
  now?: () => number;
  random?: () => number;
}

/**
 * The one place that knows whether the store answers. Every writer (intake, outbox workers)
 * reports failures here and waits for `available()`; one probe loop, with backoff and jitter,
 * decides when the store is back. The first good write reopens the gate.
 */
export class StoreGate {
  private down: { since: number; error: StoreError } | undefined;
  private attempt = 0;
  private waiters: Array<() => void> = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private giveUpTimer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<(s: StoreStatus) => void>();
  private closed = false;
  heldCount: () => number = () => 0;
  dropped = 0;
  private peakHeld = 0;

  constructor(
    private readonly opts: StoreGateOptions & {
      /** Tries the store once (a held write, or a probe write); resolves when it answered. */
      probe: () => Promise<void>;
      onGiveUp?: (e: StoreError, downForMs: number) => void;
    },
  ) {}

  get isDown(): boolean {
    return this.down !== undefined;
  }

  get error(): StoreError | undefined {
    return this.down?.error;
  }

  status(): StoreStatus {
    return {
      state: this.down ? 'unavailable' : 'available',
      since: this.down?.since,
      error: this.down?.error.message,
      held: this.heldCount(),
      dropped: this.dropped,
      peakHeld: this.peakHeld,
    };
  }

  /** Calls `fn` whenever the store becomes unavailable or available again. */
  onChange(fn: (s: StoreStatus) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The held count changed (a message was held): keeps the outage's peak. */
  noteHeld(): void {
    if (this.down) this.peakHeld = Math.max(this.peakHeld, this.heldCount());
  }

  /** A write failed with a store error. The first one closes the gate and starts the probe loop. */
  fail(e: StoreError): void {
    if (this.closed) return;
    if (this.down) {
      this.down.error = e;
      this.noteHeld();
      return;
    }
    const now = (this.opts.now ?? Date.now)();
    this.down = { since: now, error: e };
    this.peakHeld = this.heldCount();
    this.attempt = 0;
    this.scheduleRetry();
    const limit = this.opts.giveUpAfterMs ?? 0;
    if (limit > 0 && this.opts.onGiveUp) {
      this.giveUpTimer = setTimeout(() => {
        if (this.down) this.opts.onGiveUp?.(this.down.error, (this.opts.now ?? Date.now)() - this.down.since);
      }, limit);
      this.giveUpTimer.unref();
    }
    this.emit();
  }

  /** A write succeeded: the store is back. */
  ok(): void {
    if (!this.down) return;
    this.down = undefined;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.giveUpTimer) clearTimeout(this.giveUpTimer);
    this.retryTimer = this.giveUpTimer = undefined;
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
    this.emit();
  }

  /** Resolves once the store is available (at once when it is). */
  available(): Promise<void> {
    if (!this.down || this.closed) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  /** Stops probing and releases every waiter (shutdown). */
  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.giveUpTimer) clearTimeout(this.giveUpTimer);
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  /** Retries after a new error from the probe itself. */
  private scheduleRetry(): void {
    if (this.closed || !this.down) return;
    const delay = backoffDelay(this.attempt++, { minMs: this.opts.minRetryMs ?? 250, maxMs: this.opts.maxRetryMs ?? 2_000, jitter: 0.5 }, this.opts.random);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.opts.probe().then(
        () => this.ok(),
        (e: unknown) => {
          if (this.down && e instanceof Error && e.name === 'StoreError') this.down.error = e as StoreError;
          this.scheduleRetry();
        },
      );
    }, delay);
    this.retryTimer.unref?.();
  }

  private emit(): void {
    const s = this.status();
    for (const fn of this.listeners) {
      try {
        fn(s);
      } catch {
        // a listener's failure must not stop the others
      }
    }
  }
}
