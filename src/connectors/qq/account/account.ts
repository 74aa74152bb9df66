/**
 * The QQ account, once for every backend: the adapter's single send path runs each send through
 * here. The scheduler paces it; a failure is classified by the table; the state machine decides
 * whether the account goes on sending. While QQ refuses the account (or it is offline) a send
 * other than the step's probe fails at once with a retryable error carrying the time of the next
 * probe, so the message waits in the durable outbox, in order, and costs QQ nothing.
 */
import { DeliveryError } from '../../../core/errors.js';
import { systemClock, type Clock } from './clock.js';
import type { ResolvedPacing } from './config.js';
import { classifySendFailure, type SendFailure, type Verdict } from './failures.js';
import { SendScheduler } from './scheduler.js';
import { AccountState, type AccountEvent, type AccountStatus } from './state.js';

export interface QqAccountOptions {
  pacing: ResolvedPacing;
  clock?: Clock;
  random?: () => number;
  suspectLimit?: number;
  onEvent?: (e: AccountEvent) => void;
  /** Every send as it starts (metrics, the bench). */
  onSendStart?: (room: string, at: number) => void;
}

/** How long a held send asks the outbox to wait while a probe is in flight. */
const PROBE_IN_FLIGHT_RETRY_MS = 2_000;

export class AccountHeldError extends DeliveryError {
  constructor(status: Exclude<AccountStatus, { state: 'online' }>, retryAfterMs: number) {
    super('retryable', status.state === 'refused' ? `QQ is refusing this account's messages (${status.reason}); held until the next probe` : `QQ account offline (${status.reason}); held`, { retryAfterMs });
    this.name = 'AccountHeldError';
  }
}

/** A send that failed, with what it means. */
export class ClassifiedSendError extends DeliveryError {
  constructor(readonly verdict: Verdict, message: string, cause: unknown) {
    super(verdict.class === 'bad_request' ? 'rejected' : 'retryable', message, { cause });
    this.name = 'ClassifiedSendError';
  }
}

export class QqAccount {
  readonly state: AccountState;
  readonly scheduler: SendScheduler;
  private readonly clock: Clock;
  private uncertain: Verdict | undefined;

  constructor(opts: QqAccountOptions) {
    this.clock = opts.clock ?? systemClock;
    this.state = new AccountState({
      clock: this.clock,
      backoffMinMs: opts.pacing.backoffMinMs,
      backoffMaxMs: opts.pacing.backoffMaxMs,
      ...(opts.random ? { random: opts.random } : {}),
      ...(opts.suspectLimit !== undefined ? { suspectLimit: opts.suspectLimit } : {}),
      onEvent: (e) => {
        opts.onEvent?.(e);
        this.scheduler?.wake();
      },
    });
    this.scheduler = new SendScheduler({
      pacing: opts.pacing,
      clock: this.clock,
      ...(opts.random ? { random: opts.random } : {}),
      gate: () => this.state.permit(),
      ...(opts.onSendStart ? { onStart: opts.onSendStart } : {}),
    });
  }

  get status(): AccountStatus {
    return this.state.status;
  }

  /**
   * Runs one QQ send for `room` in its turn. `describe` turns the backend's error into what its
   * implementation said, for the table; `fallback` is the class the backend itself gave, used
   * when the table only has its catch-all for that answer.
   */
  async send<T>(room: string, run: () => Promise<T>, describe: (e: unknown) => { failure: SendFailure; fallback?: Verdict['class'] }): Promise<T> {
    this.holdIfNotSending();
    return this.scheduler.run(room, async () => {
      this.uncertain = undefined;
      const probe = this.state.status.state !== 'online';
      try {
        const r = await run();
        // WebQQ's 1202: "sent" (often delivered, never resent) yet a sign of the spam filter. Once
        // the account is known to be refused, a probe answered so was refused: it is sent again.
        const u = this.uncertain as Verdict | undefined;
        if (u) {
          this.failed(u);
          if (probe) throw new ClassifiedSendError({ ...u, class: 'refused' }, `probe answered as refused (${u.reason})`, undefined);
        } else this.state.onSuccess();
        return r;
      } catch (e) {
        if (e instanceof ClassifiedSendError) throw e;
        const { failure, fallback } = describe(e);
        let v = classifySendFailure(failure);
        if (fallback && fallback !== v.class && v.rule.endsWith('.other')) v = { ...v, class: fallback, rule: `${v.rule}+backend` };
        this.failed(v);
        throw new ClassifiedSendError(v, `${(e as Error).message ?? String(e)} [${v.class}: ${v.rule}]`, e);
      }
    });
  }

  /** A send answered in a way that counts against the account though it was not an error. */
  noteUncertain(v: Verdict): void {
    this.uncertain = v;
  }

  private failed(v: Verdict): void {
    const wasOnline = this.state.status.state === 'online';
    this.state.onFailure(v);
    const s = this.state.status;
    // The account stopped sending (a new episode, or a failed probe): what waits behind this
    // send goes back to the outbox rather than waiting here for the next step.
    if (s.state !== 'online' && (wasOnline || !s.probing)) {
      this.scheduler.rejectWaiting(() => new AccountHeldError(s, this.retryAfter()));
    }
  }

  /** Rejects at once when the account may not send now and no probe is due. */
  private holdIfNotSending(): void {
    const s = this.state.status;
    if (s.state === 'online') return;
    const wait = this.state.peek();
    if (wait === 0 && this.scheduler.waiting() === 0) return; // this send may be the probe
    throw new AccountHeldError(s, this.retryAfter());
  }

  private retryAfter(): number {
    const wait = this.state.peek();
    return Number.isFinite(wait) ? Math.max(wait, 100) : PROBE_IN_FLIGHT_RETRY_MS;
  }

  /** The backend says the account is logged out / back. */
  setOffline(reason: string): void {
    this.state.setOffline(reason);
    const s = this.state.status;
    if (s.state !== 'online') this.scheduler.rejectWaiting(() => new AccountHeldError(s, this.retryAfter()));
  }

  setOnline(): void {
    this.state.setOnline();
    this.scheduler.wake();
  }

  close(): void {
    this.scheduler.close();
  }

  reopen(): void {
    this.scheduler.reopen();
  }

  /** For /health and metrics. */
  snapshot(): { state: AccountStatus['state']; reason?: string; since?: number; nextProbeAt?: number; waiting: number; episodes: { offline: number; refused: number } } {
    const s = this.state.status;
    return {
      state: s.state,
      ...(s.state !== 'online' ? { reason: s.reason, since: s.since, nextProbeAt: s.nextProbeAt } : {}),
      waiting: this.scheduler.waiting(),
      episodes: { ...this.state.episodes },
    };
  }

  now(): number {
    return this.clock.now();
  }
}
