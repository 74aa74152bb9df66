/**
 * A token bucket: `burst` tokens, refilled at `perSecond`. Pure apart from the injected clock, so
 * tests drive time by hand. `perSecond` ≤ 0 or Infinity means unlimited.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  readonly unlimited: boolean;

  constructor(
    readonly rate: { perSecond: number; burst: number },
    private readonly now: () => number = Date.now,
  ) {
    this.unlimited = !(rate.perSecond > 0) || rate.perSecond === Infinity;
    this.tokens = Math.max(1, rate.burst);
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    if (t > this.last) {
      this.tokens = Math.min(Math.max(1, this.rate.burst), this.tokens + ((t - this.last) / 1000) * this.rate.perSecond);
    }
    this.last = t;
  }

  /** Takes a token if one is there and returns 0; else takes nothing and returns the ms until one is. */
  tryTake(): number {
    if (this.unlimited) return 0;
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / this.rate.perSecond) * 1000);
  }

  /** Tokens available now (for status). */
  available(): number {
    if (this.unlimited) return Infinity;
    this.refill();
    return Math.floor(this.tokens);
  }
}
