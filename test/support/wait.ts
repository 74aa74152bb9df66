/** Polling for tests: wait until a condition over real components holds, or fail saying what was awaited. */

export interface WaitOptions {
  /** Pause between checks, ms. Default 10. */
  intervalMs?: number;
  /**
   * A check that throws counts as "not yet" instead of failing the wait, for probes that are
   * expected to fail until the system is up (an HTTP call to a starting server, a file being
   * written). Default false: an error fails the test at once.
   */
  ignoreErrors?: boolean;
}

/** Resolves once `cond` holds; rejects with "timed out waiting for <what>" after `timeoutMs`. */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5_000,
  opts: WaitOptions = {},
): Promise<void> {
  const { intervalMs = 10, ignoreErrors = false } = opts;
  const check = ignoreErrors ? () => Promise.resolve().then(cond).catch(() => false) : cond;
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
