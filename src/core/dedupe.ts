import type { DedupeStore } from '../store/store.js';
import type { BridgeMessage } from './message.js';

/** What identifies an inbound message for dedupe: its origin network and its bridge id. */
export function dedupeKeyOf(msg: BridgeMessage): { network: string; key: string } {
  return { network: msg.origin.network, key: msg.id };
}

/**
 * Persisted "seen before?" for inbound messages, so a reconnect replay or a restart does not
 * relay a message twice. The key is claimed by `store.enqueue({ dedupe })` in the same
 * transaction that queues the message (Relay.accept → intake), so a crash between the two cannot
 * lose it; that claim is the only dedupe check (a read before it could never say more).
 */
export class Dedupe {
  constructor(
    private readonly store: DedupeStore,
    readonly maxAgeMs: number = 7 * 24 * 3600_000,
  ) {}

  prune(now = Date.now()): Promise<number> {
    return this.store.pruneDedupe(now - this.maxAgeMs);
  }
}
