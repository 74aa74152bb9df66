import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/core/backoff.js';

describe('backoffDelay', () => {
  const r = { minMs: 1000, maxMs: 60_000 };

  it('doubles from minMs per attempt and stops at maxMs', () => {
    const steps = Array.from({ length: 8 }, (_, i) => backoffDelay(i, { ...r, jitter: 0 }));
    expect(steps).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000]);
    expect(backoffDelay(1000, { ...r, jitter: 0 })).toBe(60_000);
  });

  it('equal jitter (0.5) keeps every delay within [step / 2, step]', () => {
    const j = { ...r, jitter: 0.5 };
    expect(backoffDelay(0, j, () => 0)).toBe(500);
    expect(backoffDelay(0, j, () => 1)).toBe(1000);
    expect(backoffDelay(2, j, () => 0.5)).toBe(3000);
    expect(backoffDelay(20, j, () => 0)).toBe(30_000);
    expect(backoffDelay(20, j, () => 0.999_999)).toBe(60_000);
  });

  it('defaults to equal jitter', () => {
    expect(backoffDelay(1, r, () => 0)).toBe(1000);
    expect(backoffDelay(1, r, () => 1)).toBe(2000);
  });

  it('full jitter (1) spreads delays over [0, step]', () => {
    const j = { ...r, jitter: 1 };
    expect(backoffDelay(3, j, () => 0)).toBe(0);
    expect(backoffDelay(3, j, () => 0.25)).toBe(2000);
    expect(backoffDelay(3, j, () => 1)).toBe(8000);
  });

  it('spreads real random delays and never exceeds the cap', () => {
    const j = { ...r, jitter: 0.5 };
    const delays = Array.from({ length: 200 }, () => backoffDelay(10, j));
    expect(new Set(delays).size).toBeGreaterThan(20);
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(30_000);
      expect(d).toBeLessThanOrEqual(60_000);
    }
  });

  it('treats a negative attempt as the first and survives huge ones', () => {
    expect(backoffDelay(-3, { ...r, jitter: 0 })).toBe(1000);
    expect(backoffDelay(Number.MAX_SAFE_INTEGER, { ...r, jitter: 0 })).toBe(60_000);
  });

  it('rejects a jitter outside [0, 1] with a clear error', () => {
    expect(() => backoffDelay(0, { ...r, jitter: 1.5 })).toThrow(/jitter must be within \[0, 1\], got 1.5/);
    expect(() => backoffDelay(0, { ...r, jitter: Number.NaN })).toThrow(/jitter/);
  });
});
