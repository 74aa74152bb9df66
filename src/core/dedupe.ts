import type { Store } from '../store/store.js';
import type { BridgeMessage } from './message.js';

/** What identifies an inbound message for dedupe: its origin network and its bridge id. */
export function dedupeKeyOf(msg: BridgeMessage): { network: string; key: string } {
  return { network: msg.origin.network, key: msg.id };
}

/**
 * Persisted "seen before?" for inbound messages, so a reconnect replay or a restart does not
 * relay a message twice. The key is claimed by `store.enqueue({ dedupe })` in the same
 * transaction that queues the message (Relay.accept), so a crash between the two cannot lose it;
 * `seen` is only the cheap early exit before any routing work.
 */
export class Dedupe {
  constructor(
    private readonly store: Store,
    readonly maxAgeMs: number = 7 * 24 * 3600_000,
  ) {}

  seen(msg: BridgeMessage): Promise<boolean> {
    const { network, key } = dedupeKeyOf(msg);
    return this.store.hasSeen(network, key);
  }

  prune(now = Date.now()): Promise<number> {
    return this.store.pruneDedupe(now - this.maxAgeMs);
  }
}
