import type { RoomRef } from './message.js';

/**
 * What the outbox reports as it works, for metrics. Optional everywhere: the relay runs the same
 * without one. Implementations must not throw (a throw is caught and logged, never retried).
 */
export interface RelayObserver {
  /** An item reached its target; `latencyMs` counts from its arrival at the relay. */
  onDelivered?(d: { target: RoomRef; originNetwork: string; kind: string; latencyMs: number }): void;
  /** One attempt failed and will be retried. `error` is what the connector threw. */
  onRetry?(d: { target: RoomRef; error: unknown; attempts: number }): void;
  /** An item was given up on for good (rejected or unreadable). */
  onDropped?(d: { target: RoomRef; reason: string; error?: unknown }): void;
}
