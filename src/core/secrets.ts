import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Compares a secret someone presented with the one we hold in constant time, whatever their
 * lengths: both are hashed first, so neither the content nor the length leaks through timing.
 */
export function secretMatches(given: string | undefined, expected: string): boolean {
  const a = createHash('sha256').update(given ?? '').digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && given !== undefined;
}
