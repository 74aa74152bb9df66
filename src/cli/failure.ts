/**
 * Turns a start-up failure into one line a person can act on — what failed, why, what to do —
 * and says whether waiting and trying again can help. Errors are recognised by name and fields,
 * not by class, so a protocol library stays free to move without this module following it.
 */
import { scrubSecrets } from '../log.js';

export interface StartupFailure {
  /** `what failed: why; what to do`, one line, secrets scrubbed. */
  line: string;
  /** True when the cause can go away by itself (a server not up yet, the network down). */
  retry: boolean;
}

export interface FailureContext {
  /** `qq.endpoint`: set when the bridge talks to a simulator or another WebQQ-compatible server. */
  qqEndpoint?: string | undefined;
}

/** Connection-level codes: the other side may come back, so a daemon keeps trying. */
const TRANSIENT = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'ENOTFOUND',
  'EPIPE', 'ESOCKETTIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', '57P01', '57P03',
]);

interface ErrorLike {
  name?: string;
  message?: string;
  code?: unknown;
  url?: unknown;
  kind?: unknown;
  retryable?: unknown;
  address?: unknown;
  port?: unknown;
  syscall?: unknown;
  cause?: unknown;
}

const firstLine = (s: string) => (s.split('\n')[0] ?? '').trim();

/** A URL shortened to its host: the path and query of a login request say nothing to a reader. */
function shortenUrls(s: string): string {
  return s.replace(/\bhttps?:\/\/([^/\s:]+)(:\d+)?[^\s:]*/g, (_m, host: string, port: string | undefined) => `${host}${port ?? ''}`);
}

function codeOf(e: ErrorLike): string | undefined {
  for (let cur: unknown = e, i = 0; cur && typeof cur === 'object' && i < 5; cur = (cur as ErrorLike).cause, i++) {
    const c = (cur as ErrorLike).code;
    if (typeof c === 'string' && c) return c;
  }
  return undefined;
}

function hostOf(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

export function explainStartupFailure(err: unknown, ctx: FailureContext = {}): StartupFailure {
  const e: ErrorLike = err && typeof err === 'object' ? (err as ErrorLike) : { message: String(err) };
  const name = e.name ?? 'Error';
  const message = scrubSecrets(firstLine(e.message ?? String(err)));
  const code = codeOf(e);
  const line = (what: string, why: string, todo: string) => `${what}: ${why}; ${todo}`;

  if (name === 'ConfigError') return { line: message, retry: false };

  if (name === 'TransportError') {
    // With qq.endpoint every request goes there, though the error names the real host it stands for.
    const host = hostOf(ctx.qqEndpoint) ?? hostOf(e.url) ?? 'the QQ server';
    const why = `cannot reach ${host} (${code ?? shortenUrls(message)})`;
    if (!ctx.qqEndpoint && /(^|\.)qq\.com(:\d+)?$/.test(host)) {
      return {
        line: line(
          'QQ login failed',
          why,
          "WebQQ's own servers closed on 2019-01-01, so this backend cannot reach real QQ: set qq.endpoint to the WebQQ simulator (docs/simulator.md) or use a OneBot v11 / Milky backend for a real account (docs/qq-onebot.md, docs/qq-milky.md)",
        ),
        retry: false,
      };
    }
    return { line: line('QQ login failed', why, `check that the server at ${ctx.qqEndpoint ?? host} is running and reachable`), retry: true };
  }

  if (name === 'LoginError') {
    const retry = e.retryable === true;
    const todo =
      e.kind === 'wrong-password' || e.kind === 'invalid-account'
        ? 'check qq.uin and qq.password'
        : retry
          ? 'the server may accept a later try'
          : 'check qq.login (password or qrcode) and the account, then start again';
    return { line: line('QQ login failed', shortenUrls(message), todo), retry };
  }

  if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    const where = e.port !== undefined ? `${typeof e.address === 'string' ? e.address : ''}:${String(e.port)}` : '';
    const why = code === 'EADDRINUSE' ? `${where || 'the address'} is already in use` : code === 'EACCES' ? `no permission to listen on ${where || 'that port'}` : `${where || 'the address'} is not an address of this machine`;
    return {
      line: line(`cannot listen${where ? ` on ${where}` : ''}`, why, 'stop the other program, or change media.port / metrics.port / matrix.port (and their bindAddress) in the config'),
      retry: false,
    };
  }

  if (name === 'StoreError') {
    return {
      line: line('the store failed', shortenUrls(message), 'check store.url (PostgreSQL) or that stateDir is writable and has free space'),
      retry: code !== undefined && TRANSIENT.has(code),
    };
  }

  if (code && TRANSIENT.has(code)) {
    return { line: line('start-up failed', `a server could not be reached (${code}): ${shortenUrls(message)}`, 'check the host and port in the config and the network'), retry: true };
  }

  return {
    line: line('start-up failed', `${name === 'Error' ? '' : `${name}: `}${shortenUrls(message)}`, 'run with log.level: debug (or QQBRIDGE_LOG_LEVEL=debug) to see where'),
    retry: false,
  };
}
