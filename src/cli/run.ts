import { loadConfig, type Config } from '../config.js';
import { backoffDelay } from '../core/backoff.js';
import { createLogger } from '../log.js';
import { startService, type Service } from '../ops/service.js';
import { explainStartupFailure } from './failure.js';
import { terminalLoginPrompt } from './login-prompt.js';
import { prettyStream } from './pretty.js';

export interface RunOptions {
  /** Log lines for a person (see pretty.ts) instead of JSON. */
  pretty?: boolean;
}

/** A failed start that can heal by itself is tried again after this backoff (a daemon keeps trying). */
const START_RETRY = { minMs: 2_000, maxMs: 300_000 };

/**
 * `qqbridge run`: starts the bridge. SIGINT/SIGTERM stop taking input, deliver what can be
 * delivered within `shutdownTimeoutMs`, leave the rest queued and exit 0; SIGHUP reloads
 * `mappings:` from the config file. A failed start is one line on stderr (the stack at debug
 * level); when the cause can go away (a server not up yet, the network down) it is retried.
 */
export async function runBridgeFromConfig(file: string, opts: RunOptions = {}): Promise<void> {
  const config = loadConfig(file, process.env, { checkFiles: true });
  const log = createLogger({ level: config.log.level, ...(opts.pretty ? { destination: prettyStream(process.stderr) } : {}) });
  let service: Service | undefined;
  let stopping = false;
  let wakeRetry: (() => void) | undefined;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'stopping');
    // The drain is bounded by shutdownTimeoutMs; this only catches a stop that hangs.
    const force = setTimeout(() => {
      log.error('stop did not finish in time; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + 15_000);
    force.unref();
    if (!service) {
      // Still starting (or waiting to retry): nothing was taken yet.
      wakeRetry?.();
      process.exit(0);
    }
    service.shutdown().then(
      () => process.exit(0),
      (e: unknown) => {
        log.error({ err: (e as Error).message }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGHUP', () => {
    if (!service || stopping) return;
    log.info('SIGHUP: reloading mappings');
    service.reload();
  });
  // Only WebQQ's login can need a person at the terminal (captchas, QR codes).
  const qq = config.qq;
  const extra = qq.protocol === 'webqq' ? { loginPrompt: terminalLoginPrompt({ codeFile: qq.captchaCodeFile }) } : {};

  for (let attempt = 0; !stopping; attempt++) {
    try {
      service = await startService(file, config, log, extra);
      if (attempt > 0) log.info({ attempts: attempt + 1 }, 'started after earlier failures');
      return;
    } catch (e) {
      if (stopping) return;
      log.debug({ err: e }, 'start-up failure (details)');
      const failure = explainStartupFailure(e, { qqEndpoint: qqEndpoint(config.qq) });
      if (!failure.retry) {
        process.stderr.write(`qqbridge: ${failure.line}\n`);
        process.exit(1);
      }
      const waitMs = backoffDelay(attempt, START_RETRY);
      log.warn({ attempt: attempt + 1, retryInS: Math.round(waitMs / 1000) }, `${failure.line}; retrying in ${Math.round(waitMs / 1000)} s`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, waitMs);
        wakeRetry = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }
}

/** Where the QQ backend is reached, for a start-up failure's one line. */
function qqEndpoint(qq: Config['qq']): string | undefined {
  if (qq.protocol === 'webqq') return qq.endpoint;
  if (qq.protocol === 'onebot') return qq.onebot.url;
  return qq.milky.url;
}
