/**
 * Exponential backoff with jitter, shared by every retry loop (outbox, connectors' reconnects,
 * QQ mapping re-binding) so their delays grow and spread the same way.
 */

export interface BackoffOptions {
  /** Step of attempt 0, ms; each later attempt doubles it. */
  minMs: number;
  /** Cap of the step, ms; no delay is ever longer. */
  maxMs: number;
  /**
   * Fraction of the step that is random, in [0, 1]: the delay is uniform in
   * [(1 − jitter) · step, step]. Default 0.5, "equal jitter": never less than half the step,
   * yet enough spread that many clients failing together do not retry in lockstep. 0 is no
   * jitter, 1 "full jitter". Jitter only ever shortens a delay, so `maxMs` stays a hard bound.
   */
  jitter?: number;
}

/** Doubling stops here: 2^30 × any sane minMs is far past any cap, and larger powers overflow. */
const MAX_EXPONENT = 30;

/**
 * Delay in ms before retry `attempt` (0-based): step = min(maxMs, minMs · 2^attempt), then
 * jittered downwards per `jitter` (default: equal jitter), rounded to whole ms. Pure; `random` (in [0, 1)) is injectable.
 */
export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const { minMs, maxMs, jitter = 0.5 } = opts;
  if (!(jitter >= 0 && jitter <= 1)) throw new RangeError(`backoff jitter must be within [0, 1], got ${jitter}`);
  const exponent = Math.min(MAX_EXPONENT, Math.max(0, Math.floor(attempt)));
  const step = Math.min(maxMs, minMs * 2 ** exponent);
  return Math.round(step * (1 - jitter + jitter * random()));
}
