/**
 * Every error the WebQQ client throws on purpose. One base, `WebQqError`, says whether trying
 * again later can work (`retryable`), which endpoint answered and with what retcode, so callers
 * branch on fields rather than on messages. The client knows nothing of the bridge: mapping these
 * to delivery outcomes is the caller's job (the WebQQ backend's `delivery-errors.ts`).
 */
import { scrubSecrets } from '../../../log.js';
import type { LoginErrorKind } from './ptlogin.js';

export type { LoginErrorKind } from './ptlogin.js';

export class WebQqError extends Error {
  /** Trying the same thing again later can succeed without anyone changing anything. */
  readonly retryable: boolean;
  /** The server's numeric answer code (JSON `retcode`, ptlogin's ptuiCB code), when it gave one. */
  readonly retcode: number | undefined;
  /** Which call failed: an endpoint name (`send_qun_msg2`, `ptlogin/login`) or host + path. */
  readonly endpoint: string;

  constructor(endpoint: string, message: string, opts: { retryable: boolean; retcode?: number | undefined; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'WebQqError';
    this.endpoint = endpoint;
    this.retryable = opts.retryable;
    this.retcode = opts.retcode;
  }
}

/** The request never got an HTTP answer (refused, reset, timed out). Worth retrying. */
export class TransportError extends WebQqError {
  /** The network error code (`ECONNREFUSED`, `ETIMEDOUT`, …). */
  readonly code: string | undefined;
  readonly url: string;
  constructor(url: string, message: string, code: string | undefined, cause?: unknown) {
    const safe = scrubSecrets(url);
    super(endpointOfUrl(url), `${safe}: ${message}`, { retryable: true, cause });
    this.name = 'TransportError';
    this.code = code;
    this.url = safe;
  }

  /** Our own timeout fired (the long poll held longer than we wait). */
  get timedOut(): boolean {
    return this.code === 'ETIMEDOUT';
  }
}

/** A malformed server answer: says which endpoint, and shows a short (scrubbed) excerpt. */
export class ProtocolError extends WebQqError {
  readonly excerpt: string;
  constructor(endpoint: string, problem: string, body: string) {
    const excerpt = scrubSecrets(body.slice(0, 200));
    // A garbled answer is usually a proxy or a server hiccup, not a refusal.
    super(endpoint, `${endpoint}: ${problem}${excerpt ? `: ${JSON.stringify(excerpt)}` : ' (empty body)'}`, { retryable: true });
    this.name = 'ProtocolError';
    this.excerpt = excerpt;
  }
}

/** A well-formed answer whose retcode says no. */
export class RetcodeError extends WebQqError {
  declare readonly retcode: number;
  constructor(endpoint: string, retcode: number, detail = '', opts: { retryable?: boolean } = {}) {
    super(endpoint, `${endpoint}: retcode ${retcode}${detail ? ` (${detail})` : ''}`, { retryable: opts.retryable ?? false, retcode });
    this.name = 'RetcodeError';
  }
}

/** ptlogin or login2 refused the login, or a login step could not be completed. */
export class LoginError extends WebQqError {
  readonly kind: LoginErrorKind;
  /** ptlogin's code (e.g. '3') or `login2:<retcode>`; the kind when the server gave none. */
  readonly code: string;
  /** The server's own text (Chinese), when it sent one. */
  readonly serverMessage: string | undefined;
  constructor(kind: LoginErrorKind, message: string, opts: { code?: string; serverMessage?: string; retryable?: boolean; endpoint?: string; cause?: unknown } = {}) {
    const code = opts.code ?? kind;
    const numeric = /^(?:[a-z0-9]+:)?(-?\d+)$/.exec(code)?.[1];
    super(opts.endpoint ?? 'ptlogin', opts.serverMessage ? `${message} (server said: ${opts.serverMessage})` : message, {
      retryable: opts.retryable ?? false,
      retcode: numeric !== undefined ? Number(numeric) : undefined,
      cause: opts.cause,
    });
    this.name = 'LoginError';
    this.kind = kind;
    this.code = code;
    this.serverMessage = opts.serverMessage;
  }
}

export class RelinkError extends WebQqError {
  /**
   * False only when the relink never got an answer (network down): then relinking again later
   * can still work. Otherwise (103 "not relogin", 100, 108, 112/113/115, …) only a full relogin helps.
   */
  readonly needsRelogin: boolean;
  constructor(message: string, retcode?: number, opts: { cause?: unknown; needsRelogin?: boolean } = {}) {
    const needsRelogin = opts.needsRelogin ?? true;
    super('login2', message, { retryable: !needsRelogin, retcode, cause: opts.cause });
    this.name = 'RelinkError';
    this.needsRelogin = needsRelogin;
  }
}

/** A send that did not (entirely) go out; `sentMsgIds` are the pieces that did. */
export class SendError extends WebQqError {
  constructor(
    endpoint: string,
    retcode: number | undefined,
    message: string,
    /** msg_ids of the pieces that went out before the failure. */
    readonly sentMsgIds: number[],
    retryable: boolean,
    cause?: unknown,
  ) {
    super(endpoint, message, { retryable, retcode, cause });
    this.name = 'SendError';
  }
}

/** No usable session right now (not started, logging in, session being replaced). */
export class NotReadyError extends WebQqError {
  constructor(message: string, cause?: unknown) {
    super('session', message, { retryable: true, cause });
    this.name = 'NotReadyError';
  }
}

/** The account cannot reach this target: not in the group, not a friend, number unresolvable. */
export class UnknownTargetError extends WebQqError {
  constructor(endpoint: string, message: string) {
    super(endpoint, message, { retryable: false });
    this.name = 'UnknownTargetError';
  }
}

function endpointOfUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.host}${u.pathname}`;
  } catch {
    return 'http';
  }
}
