/**
 * The store could not read or write (disk full, read-only file, PostgreSQL down). The relay
 * stops taking input when it sees one: refusing a message is recoverable (the network or the
 * connector's replay brings it back), accepting one we cannot persist loses it.
 */
export class StoreError extends Error {
  /** The driver's code when there is one (`SQLITE_FULL`, `ECONNREFUSED`, `57P01`, …). */
  readonly code: string | undefined;

  constructor(message: string, opts: { cause?: unknown; code?: string } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'StoreError';
    this.code = opts.code;
  }
}

export function isStoreError(e: unknown): e is StoreError {
  return e instanceof StoreError;
}
