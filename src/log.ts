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

/** Masks credentials that appear inside free text: URLs, query strings, JSON bodies, Bot API paths. */
export function scrubSecrets(text: string): string {
  return text
    .replace(SECRET_QUERY, '$1[redacted]')
    .replace(SECRET_JSON, '$1[redacted]')
    .replace(BOT_TOKEN_PATH, '/bot[redacted]');
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
        log(obj) {
          // Error messages and URLs are free text that may quote a request; scrub them too.
          for (const k of ['msg', 'url', 'err', 'error', 'body']) {
            const v = (obj as Record<string, unknown>)[k];
            if (typeof v === 'string') (obj as Record<string, unknown>)[k] = scrubSecrets(v);
          }
          return obj;
        },
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
