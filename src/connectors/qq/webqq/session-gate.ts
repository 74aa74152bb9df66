/**
 * Whether the WebQQ session may be used right now, and which session it is.
 *
 * A relink or relogin replaces the session piece by piece (cookie jar, clientid/psessionid,
 * vfwebqq, then every gid/did/uin in the contact tables). A request built in the middle of that
 * mixes two sessions, which the server refuses and counts against the account. The gate is closed
 * for the whole replacement; `epoch` changes whenever the session (or its ptwebqq) changes, so a
 * request can tell afterwards whether the session it was built from is still the current one.
 */
export class SessionGate {
  private openNow = false;
  private epochNow = 0;
  private waiters: (() => void)[] = [];
  private changeWaiters: (() => void)[] = [];

  get isOpen(): boolean {
    return this.openNow;
  }

  get epoch(): number {
    return this.epochNow;
  }

  /** The session is complete and consistent: requests may be built from it. */
  open(): void {
    if (this.openNow) return;
    this.openNow = true;
    for (const w of this.waiters.splice(0)) w();
  }

  /** The session is being replaced (or is gone): hold every request. */
  close(): void {
    if (!this.openNow) return;
    this.openNow = false;
    this.bump();
  }

  /** Same session, but a part of it changed (ptwebqq rotation): answers to older requests are stale. */
  bump(): void {
    this.epochNow++;
    for (const w of this.changeWaiters.splice(0)) w();
  }

  /** Resolves when the gate is open; rejects with `signal.reason` or after `timeoutMs`. */
  ready(signal?: AbortSignal, timeoutMs?: number): Promise<void> {
    if (this.openNow) return Promise.resolve();
    return this.wait(this.waiters, signal, timeoutMs).then((ok) => {
      if (!ok) throw new Error(`the WebQQ session was not back within ${timeoutMs} ms`);
    });
  }

  /** True once the epoch is no longer `epoch` (now or within `timeoutMs`), false on timeout. */
  async changedSince(epoch: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.epochNow !== epoch) return true;
    await this.wait(this.changeWaiters, signal, timeoutMs).catch(() => false);
    return this.epochNow !== epoch;
  }

  private wait(list: (() => void)[], signal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      let timer: NodeJS.Timeout | undefined;
      const finish = (ok: boolean, err?: unknown) => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const i = list.indexOf(waiter);
        if (i >= 0) list.splice(i, 1);
        if (err !== undefined) reject(err);
        else resolve(ok);
      };
      const waiter = () => finish(true);
      const onAbort = () => finish(false, signal!.reason);
      list.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined) timer = setTimeout(() => finish(false), timeoutMs);
    });
  }
}
