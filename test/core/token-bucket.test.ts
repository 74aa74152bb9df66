import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/core/token-bucket.js';

describe('TokenBucket', () => {
  it('allows a burst, then paces at the configured rate', () => {
    let t = 0;
    const b = new TokenBucket({ perSecond: 2, burst: 3 }, () => t);
    expect([b.tryTake(), b.tryTake(), b.tryTake()]).toEqual([0, 0, 0]);
    expect(b.tryTake()).toBe(500); // next token in 1/2 s
    t = 250;
    expect(b.tryTake()).toBe(250);
    t = 500;
    expect(b.tryTake()).toBe(0);
    expect(b.tryTake()).toBe(500);
  });

  it('refills up to the burst only, however long it was idle', () => {
    let t = 0;
    const b = new TokenBucket({ perSecond: 10, burst: 2 }, () => t);
    b.tryTake();
    b.tryTake();
    t = 60_000;
    expect(b.available()).toBe(2);
    expect([b.tryTake(), b.tryTake()]).toEqual([0, 0]);
    expect(b.tryTake()).toBe(100);
  });

  it('a failed take consumes nothing', () => {
    let t = 0;
    const b = new TokenBucket({ perSecond: 1, burst: 1 }, () => t);
    b.tryTake();
    for (let i = 0; i < 5; i++) expect(b.tryTake()).toBe(1000);
    t = 1000;
    expect(b.tryTake()).toBe(0);
  });

  it('perSecond 0 or Infinity is unlimited', () => {
    for (const perSecond of [0, Infinity]) {
      const b = new TokenBucket({ perSecond, burst: 1 }, () => 0);
      for (let i = 0; i < 1000; i++) expect(b.tryTake()).toBe(0);
    }
  });
});
