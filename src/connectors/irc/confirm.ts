/**
 * Delivery confirmation for one IRC connection. A line written to the socket is not a line the
 * server has processed: if the server dies or the link drops, whatever sat in buffers is gone.
 * IRC servers handle one client's commands in order, so a PONG to a PING written after some
 * PRIVMSGs proves those PRIVMSGs were processed.
 *
 * Confirmations are batched: every send written while a PING is outstanding shares the next
 * one. At most one PING is outstanding and PINGs
 * are at least `intervalMs` apart, so PINGs never outnumber sends and number at most one per
 * round trip (or per interval). A waiter is only ever settled by a PONG to a PING written after
 * its own lines.
 */

import { DeliveryError } from '../../core/errors.js';

export interface PingConfirmerOptions {
  /** Writes `PING :<token>` on the connection. */
  sendPing(token: string): void;
  /**
   * Called once when a confirmation times out, after every waiter has failed: the connection
   * cannot be trusted any more and should be dropped (the caller reconnects).
   */
  onTimeout(err: DeliveryError): void;
  /** Minimum spacing between two PINGs, ms. */
  intervalMs: number;
  /** A waiter not confirmed this many ms after its lines were written fails. */
  timeoutMs: number;
  /** Distinguishes this connection's tokens from irc-framework's own lag PINGs. */
  tokenPrefix: string;
  now?: () => number;
}

interface Waiter {
  resolve(): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class PingConfirmer {
  /** Sends whose lines were written after the outstanding PING (or when none was out). */
  private unsent: Waiter[] = [];
  /** The outstanding PING and the sends it covers. */
  private inflight: { token: string; waiters: Waiter[] } | undefined;
  private lastPingAt = -Infinity;
  private cancelFlush: (() => void) | undefined;
  private seq = 0;
  private failed: Error | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: PingConfirmerOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Call right after writing lines: resolves once the server has provably processed them. */
  confirm(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: setTimeout(() => this.timedOut(), this.opts.timeoutMs) };
      this.unsent.push(waiter);
      this.schedule();
    });
  }

  /** A PONG arrived; settles the sends its PING covered. Other tokens are ignored. */
  pong(token: string | undefined): void {
    if (!this.inflight || token !== this.inflight.token) return;
    const { waiters } = this.inflight;
    this.inflight = undefined;
    for (const w of waiters) {
      clearTimeout(w.timer);
      w.resolve();
    }
    this.schedule();
  }

  /** The connection is gone: every waiting send fails with `err`, and so do later ones. */
  fail(err: Error): void {
    if (this.failed) return;
    this.failed = err;
    this.cancelFlush?.();
    this.cancelFlush = undefined;
    const all = [...(this.inflight?.waiters ?? []), ...this.unsent];
    this.inflight = undefined;
    this.unsent = [];
    for (const w of all) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }

  /** Sends waiting for a PONG. */
  get pending(): number {
    return this.unsent.length + (this.inflight?.waiters.length ?? 0);
  }

  private timedOut(): void {
    if (this.failed) return;
    const err = new DeliveryError('retryable', `IRC server did not confirm delivery within ${this.opts.timeoutMs} ms`);
    this.fail(err);
    this.opts.onTimeout(err);
  }

  private schedule(): void {
    if (this.failed || this.inflight || this.unsent.length === 0 || this.cancelFlush) return;
    const wait = Math.max(0, this.lastPingAt + this.opts.intervalMs - this.now());
    if (wait === 0) {
      // Idle link: the PING goes out right behind the lines, so the server usually reads both
      // at once and the window in which a crash leaves a processed message unconfirmed (and
      // so repeated) is as small as it can be. It waits for the end of this tick so that every
      // send written in it (a pipelined window refilled after a PONG) shares it; sends arriving
      // later share the next PING.
      let cancelled = false;
      process.nextTick(() => {
        if (cancelled) return;
        this.cancelFlush = undefined;
        this.flush();
      });
      this.cancelFlush = () => (cancelled = true);
      return;
    }
    const t = setTimeout(() => {
      this.cancelFlush = undefined;
      this.flush();
    }, wait);
    this.cancelFlush = () => clearTimeout(t);
  }

  private flush(): void {
    if (this.failed || this.inflight || this.unsent.length === 0) return;
    this.seq += 1;
    const token = `${this.opts.tokenPrefix}${this.seq}`;
    this.inflight = { token, waiters: this.unsent };
    this.unsent = [];
    this.lastPingAt = this.now();
    this.opts.sendPing(token);
  }
}
