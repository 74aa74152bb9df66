/**
 * The account's send scheduler: every QQ message the account sends, to any group and through any
 * backend, passes here, one at a time.
 *
 * - Pacing: a generic cell rate algorithm with a jittered step. Sends are on average `intervalMs`
 *   apart (each step is intervalMs · (1 ± jitter), uniform, so the mean step is intervalMs), after
 *   an idle spell up to `burst` may go back to back, and in any window of W ms at most
 *   1 + (W + (burst − 1) · intervalMs) / (intervalMs · (1 − jitter)) sends start (Pacer.maxSendsIn). Regular, identical gaps are what a spam
 *   filter looks for; jitter makes the bridge look less like a bot.
 * - Fairness: one FIFO per group, served round-robin, so a busy group never starves the others and
 *   the order within a group never changes.
 * - A gate (the account state): while QQ refuses the account or it is offline, nothing starts
 *   except the single probe the state machine lets through.
 */
import { systemClock, type Clock } from './clock.js';

export interface PacingOptions {
  /** Mean gap between two sends, ms. 0 turns pacing off. */
  intervalMs: number;
  /** Fraction of the gap that is random, in [0, 1): each step is intervalMs · (1 ± jitter). */
  jitter: number;
  /** Sends that may go back to back after an idle spell (≥ 1). */
  burst: number;
}

export const DEFAULT_PACING: PacingOptions = { intervalMs: 1000, jitter: 0.3, burst: 3 };

/** Pure pacing arithmetic (no timers): when may the next send start, and note one that did. */
export class Pacer {
  /** Theoretical arrival time: when the next send would be due at the steady rate. */
  private tat = -Infinity;

  constructor(
    readonly opts: PacingOptions,
    private readonly random: () => number = Math.random,
  ) {
    if (!(opts.intervalMs >= 0)) throw new RangeError(`pacing intervalMs must be ≥ 0, got ${opts.intervalMs}`);
    if (!(opts.jitter >= 0 && opts.jitter < 1)) throw new RangeError(`pacing jitter must be within [0, 1), got ${opts.jitter}`);
    if (!(Number.isInteger(opts.burst) && opts.burst >= 1)) throw new RangeError(`pacing burst must be an integer ≥ 1, got ${opts.burst}`);
  }

  /** Ms until a send may start (0: now). */
  delay(now: number): number {
    const { intervalMs, burst } = this.opts;
    if (intervalMs === 0) return 0;
    return Math.max(0, Math.ceil(this.tat - (burst - 1) * intervalMs - now));
  }

  /** A send started at `now`. */
  take(now: number): void {
    const { intervalMs, jitter } = this.opts;
    const step = intervalMs * (1 + jitter * (2 * this.random() - 1));
    this.tat = Math.max(this.tat, now) + step;
  }

  /** The most sends that may start in a window of `windowMs` (for tests and the bench's bound). */
  static maxSendsIn(windowMs: number, o: PacingOptions): number {
    if (o.intervalMs === 0) return Infinity;
    // Each step is at least intervalMs·(1 − jitter) and the burst allowance is (burst − 1)·intervalMs.
    return 1 + Math.floor((windowMs + (o.burst - 1) * o.intervalMs) / (o.intervalMs * (1 - o.jitter)));
  }
}

export class SchedulerClosedError extends Error {
  constructor(message = 'the QQ send scheduler was stopped') {
    super(message);
    this.name = 'SchedulerClosedError';
  }
}

export interface SchedulerOptions {
  pacing: PacingOptions;
  clock?: Clock;
  random?: () => number;
  /**
   * Asked right before a send would start: 0 grants it (the caller may count it as its probe),
   * a positive number is how long to wait before asking again, Infinity waits for wake().
   */
  gate?: () => number;
  /** Told of every send as it starts (metrics, the bench). */
  onStart?: (group: string, at: number) => void;
}

interface Job {
  group: string;
  run: () => Promise<unknown>;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

export class SendScheduler {
  private readonly pacer: Pacer;
  private readonly clock: Clock;
  private readonly queues = new Map<string, Job[]>();
  /** Groups with waiting jobs, in round-robin order; `next` is where the next turn starts. */
  private ring: string[] = [];
  private next = 0;
  private driving = false;
  private closed = false;
  private wakeUp = new AbortController();

  constructor(private readonly opts: SchedulerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.pacer = new Pacer(opts.pacing, opts.random);
  }

  /** Queues one send for `group`; resolves or rejects with what `run` does once its turn came. */
  run<T>(group: string, run: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new SchedulerClosedError());
    return new Promise<T>((resolve, reject) => {
      const q = this.queues.get(group);
      const job: Job = { group, run, resolve: resolve as (v: unknown) => void, reject };
      if (q) q.push(job);
      else {
        this.queues.set(group, [job]);
        this.ring.push(group);
      }
      this.wake();
      void this.drive();
    });
  }

  /** The gate may have opened (account state changed): look again now. */
  wake(): void {
    this.wakeUp.abort();
  }

  /**
   * Resolves once pacing would let a send start (sends already waiting have gone first), so a
   * caller can decide what that send carries at the last moment. Does not take the turn.
   */
  async paced(): Promise<void> {
    for (;;) {
      const wait = this.waiting() > 0 ? this.opts.pacing.intervalMs : this.pacer.delay(this.clock.now());
      if (wait <= 0 || this.closed) return;
      await this.clock.sleep(wait);
    }
  }

  /** Sends waiting, in all groups or in one. */
  waiting(group?: string): number {
    if (group !== undefined) return this.queues.get(group)?.length ?? 0;
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  /** Groups with sends waiting. */
  groupsWaiting(): string[] {
    return [...this.ring];
  }

  /** Rejects every waiting send (they stay in the durable outbox); the one in flight finishes. */
  close(error: Error = new SchedulerClosedError()): void {
    this.closed = true;
    for (const q of this.queues.values()) for (const job of q) job.reject(error);
    this.queues.clear();
    this.ring = [];
    this.next = 0;
    this.wake();
  }

  /** Rejects the sends waiting now (the account stopped sending: they wait in the outbox instead). */
  rejectWaiting(error: () => Error): void {
    for (const q of this.queues.values()) for (const job of q) job.reject(error());
    this.queues.clear();
    this.ring = [];
    this.next = 0;
  }

  /** Accepts sends again after close(). Pacing state is kept: a restart cannot burst twice. */
  reopen(): void {
    this.closed = false;
  }

  private async drive(): Promise<void> {
    if (this.driving) return;
    this.driving = true;
    try {
      while (!this.closed && this.ring.length > 0) {
        // Pacing first, the gate last: a send the gate grants (the state machine's probe) must
        // start at once, or the probe would be counted and never made.
        const pace = this.pacer.delay(this.clock.now());
        if (pace > 0) {
          await this.pause(pace);
          continue;
        }
        const wait = Math.max(this.opts.gate?.() ?? 0, 0);
        if (wait > 0) {
          await this.pause(wait);
          continue;
        }
        const job = this.take();
        if (!job) break;
        this.pacer.take(this.clock.now());
        this.opts.onStart?.(job.group, this.clock.now());
        try {
          job.resolve(await job.run());
        } catch (e) {
          job.reject(e);
        }
      }
    } finally {
      this.driving = false;
    }
    // A job queued while the loop was finishing must not wait for the next run() call.
    if (!this.closed && this.ring.length > 0) void this.drive();
  }

  private async pause(ms: number): Promise<void> {
    if (this.wakeUp.signal.aborted) this.wakeUp = new AbortController();
    const signal = this.wakeUp.signal;
    // Infinity: until wake(); sleep() takes a finite number.
    await this.clock.sleep(Number.isFinite(ms) ? ms : 2 ** 31 - 1, signal);
  }

  /** The head job of the next group in turn. */
  private take(): Job | undefined {
    if (this.ring.length === 0) return undefined;
    if (this.next >= this.ring.length) this.next = 0;
    const group = this.ring[this.next]!;
    const q = this.queues.get(group)!;
    const job = q.shift()!;
    if (q.length === 0) {
      this.queues.delete(group);
      this.ring.splice(this.next, 1);
      // `next` now already points at the following group.
    } else {
      this.next++;
    }
    return job;
  }
}
