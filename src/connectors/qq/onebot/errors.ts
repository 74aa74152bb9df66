/** The OneBot client's own errors: each says whether trying again later can help. */

export class OneBotError extends Error {
  /** True when the same call may succeed later (connection, timeout, server-side failure). */
  readonly retryable: boolean;
  constructor(message: string, retryable: boolean, opts: { cause?: unknown } = {}) {
    super(message, opts);
    this.name = 'OneBotError';
    this.retryable = retryable;
  }
}

/** An action answered `status: failed` (or an unexpected status). */
export class OneBotActionError extends OneBotError {
  constructor(
    readonly action: string,
    readonly retcode: number | undefined,
    readonly detail: string,
    retryable: boolean,
  ) {
    super(`${action} failed: retcode ${retcode ?? '?'}${detail ? ` (${detail})` : ''}`, retryable);
    this.name = 'OneBotActionError';
  }
}

/** No answer within the action timeout: it may or may not have been carried out. */
export class OneBotTimeoutError extends OneBotError {
  constructor(readonly action: string, readonly timeoutMs: number) {
    super(`${action}: no answer within ${timeoutMs} ms`, true);
    this.name = 'OneBotTimeoutError';
  }
}

/** The socket was not open, or closed while the action was in flight. */
export class OneBotConnectionError extends OneBotError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, true, opts);
    this.name = 'OneBotConnectionError';
  }
}

/** The implementation refused the access token (HTTP 401/403 at the upgrade, or retcode 1403). */
export class OneBotAuthError extends OneBotError {
  constructor(message: string) {
    super(message, false);
    this.name = 'OneBotAuthError';
  }
}

/**
 * Retcodes that mean "this request itself is wrong" (onebot-11 api/README.md: 1400 bad request,
 * 1404 action not supported; 1401/1403 are token problems): sending it again cannot help.
 */
export const BAD_REQUEST_RETCODES: ReadonlySet<number> = new Set([1400, 1404]);
