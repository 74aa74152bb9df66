/**
 * The QQ account's state, the one thing /health, metrics and the room notices read:
 * online · offline(reason) · refused since T.
 *
 * - Refused (risk control, blocked, rate limited — or repeated suspected refusals): the whole
 *   account backs off, exponentially from 30 s to at most 30 min, jittered, and lets exactly one
 *   send through per step as a probe. The probe succeeding ends the episode.
 * - Offline (the implementation says the account is logged out, or a send says so): no sends
 *   but one probe per back-off step (same steps); an online signal or a successful probe ends it.
 * - Each episode is announced once when it starts and once when it ends, never per message.
 */
import { backoffDelay } from '../../../core/backoff.js';
import { systemClock, type Clock } from './clock.js';
import type { Verdict } from './failures.js';

export type AccountStatus =
  | { state: 'online' }
  | { state: 'offline'; reason: string; since: number; step: number; nextProbeAt: number; probing: boolean }
  | { state: 'refused'; reason: string; since: number; step: number; nextProbeAt: number; probing: boolean };

export type AccountEvent =
  | { type: 'episode'; status: Exclude<AccountStatus, { state: 'online' }> }
  | { type: 'recovered'; from: 'offline' | 'refused'; since: number; at: number };

export interface AccountStateOptions {
  clock?: Clock;
  random?: () => number;
  /** First back-off step (default 30 s) and its cap (default 30 min). */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** Suspected refusals in a row (no success between) that make a refusal; default 3. */
  suspectLimit?: number;
  onEvent?: (e: AccountEvent) => void;
}

export class AccountState {
  private status_: AccountStatus = { state: 'online' };
  private suspects = 0;
  private readonly clock: Clock;
  private readonly random: () => number;
  readonly episodes = { offline: 0, refused: 0 };

  constructor(private readonly opts: AccountStateOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
  }

  get status(): AccountStatus {
    return this.status_;
  }

  /** Delay before back-off step `step` (0-based): 30 s · 2^step, capped, equal jitter. */
  backoff(step: number): number {
    return backoffDelay(step, { minMs: this.opts.backoffMinMs ?? 30_000, maxMs: this.opts.backoffMaxMs ?? 30 * 60_000, jitter: 0.5 }, this.random);
  }

  /**
   * The scheduler's gate: 0 grants one send now (while refused, that send is the step's probe and
   * no other goes until it is answered), else how long to wait (Infinity: until told).
   */
  permit(): number {
    const s = this.status_;
    if (s.state === 'online') return 0;
    if (s.probing) return Infinity;
    const wait = s.nextProbeAt - this.clock.now();
    if (wait > 0) return wait;
    this.status_ = { ...s, probing: true };
    return 0;
  }

  /** A send went through. */
  onSuccess(): void {
    this.suspects = 0;
    const s = this.status_;
    if (s.state !== 'online') this.recover(s);
  }

  /** A send failed, classified. */
  onFailure(v: Verdict): void {
    const now = this.clock.now();
    const s = this.status_;
    if (v.class === 'offline' && !(s.state === 'offline' && s.probing)) return this.setOffline(v.reason);
    const refusal = v.class === 'refused' || (v.suspectRefusal && ++this.suspects >= (this.opts.suspectLimit ?? 3));
    if (s.state !== 'online' && s.probing) {
      // A bad request says nothing about the account: the next message may probe at once.
      if (v.class === 'bad_request') this.status_ = { ...s, probing: false, nextProbeAt: now };
      else {
        const step = s.step + 1;
        this.status_ = { ...s, probing: false, step, nextProbeAt: now + this.backoff(step) };
      }
      return;
    }
    if (refusal && s.state === 'online') {
      this.episodes.refused++;
      this.status_ = { state: 'refused', reason: v.reason, since: now, step: 0, nextProbeAt: now + this.backoff(0), probing: false };
      this.emit({ type: 'episode', status: this.status_ });
    }
  }

  /** The implementation says the account is logged out (bot_offline, lifecycle disable, -403, a kick). */
  setOffline(reason: string): void {
    const s = this.status_;
    if (s.state === 'offline') return;
    const now = this.clock.now();
    this.episodes.offline++;
    this.status_ = { state: 'offline', reason, since: now, step: 0, nextProbeAt: now + this.backoff(0), probing: false };
    this.emit({ type: 'episode', status: this.status_ });
  }

  /** The implementation says the account is logged in again (lifecycle enable/connect, heartbeat or get_status online). */
  setOnline(): void {
    const s = this.status_;
    if (s.state === 'offline') this.recover(s);
  }

  /** Ms until the next probe may go (0: due now; Infinity: one is in flight), without taking it. */
  peek(): number {
    const s = this.status_;
    if (s.state === 'online') return 0;
    if (s.probing) return Infinity;
    return Math.max(0, s.nextProbeAt - this.clock.now());
  }

  private recover(s: Exclude<AccountStatus, { state: 'online' }>): void {
    this.status_ = { state: 'online' };
    this.suspects = 0;
    this.emit({ type: 'recovered', from: s.state, since: s.since, at: this.clock.now() });
  }

  private emit(e: AccountEvent): void {
    this.opts.onEvent?.(e);
  }
}

/** "14:02" in UTC, the way notices say times. */
export function clockTime(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}

/** The room notice for an episode or a recovery (one per episode, never per message). */
export function accountNotice(e: AccountEvent, waiting: number): string {
  const msgs = `${waiting} message${waiting === 1 ? '' : 's'} waiting`;
  if (e.type === 'recovered') {
    return e.from === 'refused'
      ? `QQ accepts this account's messages again (refused since ${clockTime(e.since)} UTC); delivering ${msgs.replace(' waiting', '')} held meanwhile, in order.`
      : `QQ account back online (offline since ${clockTime(e.since)} UTC); delivering ${msgs.replace(' waiting', '')} held meanwhile, in order.`;
  }
  const s = e.status;
  if (s.state === 'refused') {
    return `QQ is refusing this account's messages since ${clockTime(s.since)} UTC (risk control?); ${msgs}; next try ${clockTime(s.nextProbeAt)} UTC.`;
  }
  return `QQ account offline: ${s.reason} (since ${clockTime(s.since)} UTC); ${msgs}; they are delivered when it is back.`;
}

/** The admins' alert: the reason and what to do. */
export function accountAlert(e: Extract<AccountEvent, { type: 'episode' }>): string {
  const s = e.status;
  if (s.state === 'refused') {
    return `QQ is refusing the bridge account's messages since ${clockTime(s.since)} UTC: ${s.reason}. Nothing is lost: messages wait in order and the bridge probes with one send per step (30 s doubling to 30 min). What to do: wait out the risk control; check in the official QQ client whether the account can send; keep traffic low (qq.pacing).`;
  }
  return `The bridge's QQ account is offline since ${clockTime(s.since)} UTC: ${s.reason}. Nothing is lost: messages wait in order. What to do: log the account in again in the implementation (NapCat/Lagrange/…); the bridge resumes by itself when it reports the account online.`;
}
