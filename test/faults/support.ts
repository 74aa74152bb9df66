/**
 * What every fault scenario needs on top of the e2e harness: numbered streams, the checks on
 * what the receiving side saw (loss, duplicates, order), and a logger the test can read.
 */
import { expect } from 'vitest';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const range = (n: number, from = 1) => Array.from({ length: n }, (_, i) => i + from);

/** The numbers of the texts that carry `tag` ("<tag> <n>" anywhere in the text), in the order seen. */
export function numbersOf(texts: readonly string[], tag: string): number[] {
  const re = new RegExp(`(?:^|\\s|\\])${tag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} (\\d+)$`);
  const out: number[] = [];
  for (const t of texts) {
    const m = re.exec(t);
    if (m) out.push(Number(m[1]));
  }
  return out;
}

export interface StreamReport {
  /** Numbers in `expected` never seen. */
  missing: number[];
  /** How many times a number was seen again after its first time. */
  duplicates: number;
  /** The first occurrences, in the order seen. */
  firstSeen: number[];
}

export function analyse(seen: readonly number[], expected: readonly number[]): StreamReport {
  const got = new Set<number>();
  const firstSeen: number[] = [];
  let duplicates = 0;
  for (const n of seen) {
    if (got.has(n)) duplicates++;
    else {
      got.add(n);
      firstSeen.push(n);
    }
  }
  return { missing: expected.filter((n) => !got.has(n)), duplicates, firstSeen };
}

/** Exactly once, in order: what was seen is `expected`, nothing more. */
export function expectExactlyOnce(seen: readonly number[], expected: readonly number[], what: string): void {
  expect(seen, `${what}: every number once, in order`).toEqual(expected);
}

/**
 * At least once, in order, with at most `maxDuplicates` repeats: nothing is missing, the first
 * occurrences are in order, and a repeat is only ever a number already seen.
 */
export function expectAtLeastOnce(seen: readonly number[], expected: readonly number[], maxDuplicates: number, what: string): StreamReport {
  const r = analyse(seen, expected);
  expect(r.missing, `${what}: nothing lost`).toEqual([]);
  expect(r.firstSeen, `${what}: first occurrences in order`).toEqual(expected);
  expect(r.duplicates, `${what}: at most ${maxDuplicates} repeats (seen ${JSON.stringify(seen)})`).toBeLessThanOrEqual(maxDuplicates);
  return r;
}

/** Sends `numbers` one by one with `send`, `everyMs` apart; `before(n)` runs first (faults mid-stream). */
export async function stream(numbers: readonly number[], everyMs: number, send: (n: number) => Promise<unknown> | void, before?: (n: number) => Promise<unknown> | void): Promise<void> {
  for (const n of numbers) {
    await before?.(n);
    await send(n);
    if (everyMs > 0) await sleep(everyMs);
  }
}

export { capturedLogger } from '../support/log-capture.js';
