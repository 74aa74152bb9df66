import pino, { type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Every key that can hold a credential, wherever it sits in a log object. pino's redaction works
 * by path, so secrets are listed at the depths where our code puts them; `scrubSecrets` below
 * covers free text (URLs and error messages), which paths cannot reach.
 */
const SECRET_KEYS = [
  'password', 'passwd', 'p', 'token', 'accessToken', 'as_token', 'hs_token', 'asToken', 'hsToken',
  'ptwebqq', 'vfwebqq', 'psessionid', 'skey', 'p_skey', 'pt4_token', 'supertoken', 'superkey',
  'cookie', 'cookies', 'Cookie', 'set-cookie', 'authorization', 'Authorization', 'secret', 'secretToken',
  'qrsig', 'verifysession', 'sig', 'gface_sig', 'key',
];

const seg = (k: string) => (/^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `["${k}"]`);
export const REDACT_PATHS = [
  ...SECRET_KEYS.map((k) => seg(k).replace(/^\./, '')),
  ...SECRET_KEYS.map((k) => `*${seg(k)}`),
  ...SECRET_KEYS.map((k) => `*.*${seg(k)}`),
];

const SECRET_QUERY = /([?&;\s](?:ptwebqq|vfwebqq|psessionid|skey|p_skey|pt4_token|supertoken|superkey|qrsig|verifysession|p|password|token|access_token|secret|login_sig|ptsigx|auth_token|pt4_hkey|sig)=)[^&;\s"']+/gi;
const SECRET_JSON = /("(?:ptwebqq|vfwebqq|psessionid|skey|password|token|as_token|hs_token|secret|gface_sig|sig|key)"\s*:\s*")[^"]*/gi;
const BOT_TOKEN_PATH = /\/bot\d+:[A-Za-z0-9_-]+/g;
const BEARER = /(\bBearer\s+)[^\s"',;]+/gi;

/** Masks credentials that appear inside free text: URLs, query strings, JSON bodies, Bot API paths, bearer tokens. */
export function scrubSecrets(text: string): string {
  return text
    .replace(SECRET_QUERY, '$1[redacted]')
    .replace(SECRET_JSON, '$1[redacted]')
    .replace(BOT_TOKEN_PATH, '/bot[redacted]')
    .replace(BEARER, '$1[redacted]');
}

const isPlain = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

/**
 * A copy of a log object with every string scrubbed, however deep in plain objects and arrays:
 * any free-text field (`reason`, `lastError`, `detail`, …) can quote a request. The caller's
 * object is not changed.
 */
export function scrubFields(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return scrubSecrets(v);
  if (depth > 6) return v;
  if (Array.isArray(v)) return v.map((x) => scrubFields(x, depth + 1));
  if (!isPlain(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = scrubFields(x, depth + 1);
  return out;
}

export interface LogOptions {
  level?: string;
  destination?: DestinationStream;
}

export function createLogger(opts: LogOptions = {}): Logger {
  const level = opts.level ?? process.env.QQBRIDGE_LOG_LEVEL ?? 'info';
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: {
        // Every string field is free text that may quote a request (an error, a URL, a reason).
        log: (obj) => scrubFields(obj) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? scrubSecrets(a) : a)) as typeof args;
          method.apply(this, scrubbed);
        },
      },
      serializers: {
        err: (e: unknown) => {
          const s = pino.stdSerializers.err(e as Error);
          if (s && typeof s.message === 'string') s.message = scrubSecrets(s.message);
          if (s && typeof s.stack === 'string') s.stack = scrubSecrets(s.stack);
          return s;
        },
      },
    },
    opts.destination ?? pino.destination({ dest: 2, sync: true }),
  );
}

/** A logger that writes nothing, for library code used without a configured logger. */
export const silentLogger: Logger = pino({ level: 'silent' });
