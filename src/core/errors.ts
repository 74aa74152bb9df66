/**
 * What a connector tells the outbox when a send fails: `retryable` (network down, 5xx, 429; try
 * again later), `rejected` (the network refused this message for good; report it, do not retry),
 * `fatal` (the connector cannot send at all until it is reconfigured).
 */
export type DeliveryErrorKind = 'retryable' | 'rejected' | 'fatal';

export class DeliveryError extends Error {
  readonly kind: DeliveryErrorKind;
  /** A server-imposed wait (429 retry_after), in milliseconds. */
  readonly retryAfterMs: number | undefined;
  /**
   * Remote ids of the message already in the room when this attempt failed (pieces of a split
   * message, those of earlier attempts included). The outbox stores them with the item, durably,
   * and hands them back as `Delivery.alreadySent`.
   */
  readonly remoteIds: readonly string[];

  constructor(kind: DeliveryErrorKind, message: string, opts: { cause?: unknown; retryAfterMs?: number; remoteIds?: readonly string[] } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'DeliveryError';
    this.kind = kind;
    this.retryAfterMs = opts.retryAfterMs;
    this.remoteIds = opts.remoteIds ?? [];
  }
}

export function isDeliveryError(e: unknown): e is DeliveryError {
  return e instanceof DeliveryError;
}

/** An error in the user's configuration, with where it is. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
