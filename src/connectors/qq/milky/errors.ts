/**
 * The Milky client's own errors. The bridge maps them to delivery errors in one place; here they
 * only say what the implementation (or the wire) said, and whether asking again can help.
 */

export type MilkyErrorKind =
  /** retcode -403: the implementation is up but its QQ account is not logged in. */
  | 'offline'
  /** retcode -400, or parameters our own schema check refused: never worth retrying. */
  | 'bad_request'
  /** HTTP 401: the access token is missing or wrong. */
  | 'unauthorized'
  /** HTTP 404: the implementation has no such API. */
  | 'not_found'
  /** HTTP 415: the implementation refused the Content-Type. */
  | 'unsupported_media_type'
  /** status "failed" with any other retcode: the implementation's own reason. */
  | 'failed'
  /** The call did not answer within the per-call timeout. */
  | 'timeout'
  /** Connection refused/reset, DNS, other HTTP statuses. */
  | 'network'
  /** An answer that is not the spec's envelope, or data that fails the protocol's schema. */
  | 'protocol';

const RETRYABLE: Record<MilkyErrorKind, boolean> = {
  offline: true,
  bad_request: false,
  unauthorized: false,
  not_found: false,
  unsupported_media_type: false,
  failed: true,
  timeout: true,
  network: true,
  protocol: false,
};

export class MilkyError extends Error {
  readonly kind: MilkyErrorKind;
  readonly endpoint: string;
  readonly retcode: number | undefined;
  readonly httpStatus: number | undefined;
  /** Asking again later may succeed (the outbox retries these). */
  readonly retryable: boolean;

  constructor(kind: MilkyErrorKind, endpoint: string, message: string, opts: { retcode?: number; httpStatus?: number; cause?: unknown } = {}) {
    super(`milky ${endpoint}: ${message}`, { cause: opts.cause });
    this.name = 'MilkyError';
    this.kind = kind;
    this.endpoint = endpoint;
    this.retcode = opts.retcode;
    this.httpStatus = opts.httpStatus;
    this.retryable = RETRYABLE[kind];
  }
}

export function isMilkyError(e: unknown): e is MilkyError {
  return e instanceof MilkyError;
}

/** Classifies a `status: failed` answer by its retcode, as the spec defines the two fixed ones. */
export function kindOfRetcode(retcode: number): MilkyErrorKind {
  if (retcode === -403) return 'offline';
  if (retcode === -400) return 'bad_request';
  return 'failed';
}
