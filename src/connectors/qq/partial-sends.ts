/**
 * Deliveries that failed part-way: a long message goes to QQ as several pieces, and when a later
 * piece fails retryably the outbox retries the whole delivery. Keeping the remote ids of the pieces
 * already in the room (by the delivery's idempotency key) lets the retry send only the rest.
 *
 * In memory only: after a restart a retried delivery is sent whole again. The fingerprint of the
 * items guards against resuming a message that renders differently on the retry (a picture whose
 * bytes are gone by then): such a retry starts over rather than skipping the wrong pieces.
 */
import { createHash } from 'node:crypto';
import type { QqOutItem } from './backend.js';

/** Entries kept at most; each is a delivery waiting for its retry, so few exist at a time. */
const MAX_ENTRIES = 1000;

export function itemsFingerprint(room: string, items: readonly QqOutItem[]): string {
  const h = createHash('sha256').update(room).update('\0');
  for (const it of items) {
    if (it.type === 'image') h.update(JSON.stringify({ type: 'image', mime: it.mime, name: it.name ?? null, fallbackText: it.fallbackText ?? null })).update(it.data);
    else h.update(JSON.stringify(it));
    h.update('\0');
  }
  return h.digest('hex');
}

export class PartialSends {
  private readonly byKey = new Map<string, { fingerprint: string; sent: string[] }>();

  /** Remembers the remote ids of the pieces a failed attempt got out. */
  keep(key: string, fingerprint: string, sent: readonly string[]): void {
    this.byKey.delete(key);
    this.byKey.set(key, { fingerprint, sent: [...sent] });
    // Oldest first out: a delivery that was never retried (dropped, restarted) must not pin memory.
    while (this.byKey.size > MAX_ENTRIES) this.byKey.delete(this.byKey.keys().next().value!);
  }

  /** The remote ids already sent for this delivery when it renders the same as before; forgets them. */
  take(key: string, fingerprint: string): string[] {
    const e = this.byKey.get(key);
    this.byKey.delete(key);
    return e && e.fingerprint === fingerprint ? e.sent : [];
  }

  get size(): number {
    return this.byKey.size;
  }
}
