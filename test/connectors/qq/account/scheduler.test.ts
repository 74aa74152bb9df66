import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../../src/connectors/qq/account/clock.js';
import { Pacer, SchedulerClosedError, SendScheduler, type PacingOptions } from '../../../../src/connectors/qq/account/scheduler.js';

/** A deterministic random in [0, 1) (xorshift), so jittered runs are repeatable. */
function seeded(seed = 42): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function setup(pacing: PacingOptions, gate?: () => number) {
  const clock = new ManualClock(0);
  const starts: { group: string; at: number; label: string }[] = [];
  const s = new SendScheduler({ pacing, clock, random: seeded(), ...(gate ? { gate } : {}) });
  const send = (group: string, label: string) => s.run(group, async () => {
    starts.push({ group, at: clock.now(), label });
    return label;
  });
  return { clock, starts, s, send };
}

describe('Pacer', () => {
  it('lets a burst through, then one send per interval', () => {
    const p = new Pacer({ intervalMs: 1000, jitter: 0, burst: 3 });
    const at: number[] = [];
    let now = 0;
    while (at.length < 6) {
      const d = p.delay(now);
      if (d > 0) now += d;
      else {
        at.push(now);
        p.take(now);
      }
    }
    expect(at).toEqual([0, 0, 0, 1000, 2000, 3000]);
  });

  it('jitters each step within ±jitter and keeps the mean at intervalMs', () => {
    const p = new Pacer({ intervalMs: 1000, jitter: 0.3, burst: 1 }, seeded(7));
    const at: number[] = [];
    let now = 0;
    while (at.length < 2001) {
      const d = p.delay(now);
      if (d > 0) now += d;
      else {
        at.push(now);
        p.take(now);
      }
    }
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(700);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(1301);
    expect(new Set(gaps).size).toBeGreaterThan(100);
    const mean = (at.at(-1)! - at[0]!) / gaps.length;
    expect(mean).toBeGreaterThan(980);
    expect(mean).toBeLessThan(1020);
  });

  it('rejects nonsense options', () => {
    expect(() => new Pacer({ intervalMs: 1000, jitter: 1, burst: 3 })).toThrow(/jitter/);
    expect(() => new Pacer({ intervalMs: 1000, jitter: 0.3, burst: 0 })).toThrow(/burst/);
    expect(() => new Pacer({ intervalMs: -1, jitter: 0.3, burst: 3 })).toThrow(/intervalMs/);
  });
});

describe('SendScheduler', () => {
  it('paces one busy group: burst, then the interval, in order', async () => {
    const { clock, starts, send } = setup({ intervalMs: 1000, jitter: 0, burst: 3 });
    const done = Array.from({ length: 8 }, (_, i) => send('group:1', `m${i}`));
    await clock.advance(10_000);
    expect(await Promise.all(done)).toEqual(done.map((_, i) => `m${i}`));
    expect(starts.map((s) => s.at)).toEqual([0, 0, 0, 1000, 2000, 3000, 4000, 5000]);
    expect(starts.map((s) => s.label)).toEqual(done.map((_, i) => `m${i}`));
  });

  it('never exceeds the window bound with jitter, across groups', async () => {
    const pacing = { intervalMs: 500, jitter: 0.3, burst: 3 };
    const { clock, starts, send } = setup(pacing);
    const all: Promise<string>[] = [];
    for (let i = 0; i < 60; i++) all.push(send(`group:${i % 3}`, `m${i}`));
    await clock.advance(60_000);
    await Promise.all(all);
    expect(starts).toHaveLength(60);
    const at = starts.map((s) => s.at);
    for (let i = 0; i < at.length; i++) {
      for (let j = i; j < at.length; j++) {
        expect(j - i + 1).toBeLessThanOrEqual(Pacer.maxSendsIn(at[j]! - at[i]!, pacing));
      }
    }
    // On average at least the interval apart (after the burst).
    expect((at.at(-1)! - at[2]!) / (at.length - 3)).toBeGreaterThan(450);
  });

  it('serves groups round-robin: a busy group never starves a quiet one', async () => {
    const { clock, starts, send } = setup({ intervalMs: 1000, jitter: 0, burst: 1 });
    const busy = Array.from({ length: 10 }, (_, i) => send('group:busy', `b${i}`));
    await clock.advance(0);
    const quiet = [send('group:quiet', 'q0'), send('group:quiet', 'q1')];
    await clock.advance(20_000);
    await Promise.all([...busy, ...quiet]);
    const order = starts.map((s) => s.label);
    // b0 went at once; then the two groups alternate until the quiet one is empty.
    expect(order.slice(0, 5)).toEqual(['b0', 'b1', 'q0', 'b2', 'q1']);
    expect(order.filter((l) => l.startsWith('b'))).toEqual(busy.map((_, i) => `b${i}`));
    expect(starts.find((s) => s.label === 'q1')!.at).toBe(4000);
  });

  it('holds everything while the gate is shut and resumes on wake, in order', async () => {
    let open = false;
    const { clock, starts, s, send } = setup({ intervalMs: 100, jitter: 0, burst: 1 }, () => (open ? 0 : Infinity));
    const all = [send('group:1', 'a'), send('group:2', 'b'), send('group:1', 'c')];
    await clock.advance(60_000);
    expect(starts).toEqual([]);
    expect(s.waiting()).toBe(3);
    open = true;
    s.wake();
    await clock.advance(1000);
    expect(await Promise.all(all)).toEqual(['a', 'b', 'c']);
    expect(starts.map((x) => x.label)).toEqual(['a', 'b', 'c']);
  });

  it('a gate granting one probe lets exactly one send through', async () => {
    let grants = 1;
    const { clock, starts, s, send } = setup({ intervalMs: 0, jitter: 0, burst: 1 }, () => (grants-- > 0 ? 0 : Infinity));
    void send('group:1', 'a');
    const b = send('group:1', 'b').catch((e: unknown) => e);
    await clock.advance(10_000);
    expect(starts.map((x) => x.label)).toEqual(['a']);
    expect(s.waiting()).toBe(1);
    s.close();
    expect(await b).toBeInstanceOf(SchedulerClosedError);
  });

  it('a failed send rejects only its caller', async () => {
    const clock = new ManualClock();
    const s = new SendScheduler({ pacing: { intervalMs: 10, jitter: 0, burst: 1 }, clock });
    const bad = s.run('g', async () => { throw new Error('nope'); });
    const good = s.run('g', async () => 'ok');
    const badResult = bad.catch((e: Error) => e.message);
    await clock.advance(100);
    expect(await badResult).toBe('nope');
    expect(await good).toBe('ok');
  });

  it('close() rejects what waits, so callers retry from the durable outbox', async () => {
    const { clock, s, send } = setup({ intervalMs: 1000, jitter: 0, burst: 1 });
    const first = send('g', 'a');
    const second = send('g', 'b').catch((e: unknown) => e);
    await clock.advance(0);
    expect(await first).toBe('a');
    s.close();
    expect(await second).toBeInstanceOf(SchedulerClosedError);
    await expect(send('g', 'c')).rejects.toBeInstanceOf(SchedulerClosedError);
  });
});
