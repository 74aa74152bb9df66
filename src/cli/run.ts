import { loadConfig } from '../config.js';
import { createLogger } from '../log.js';
import { startService, type Service } from '../ops/service.js';
import { terminalLoginPrompt } from './login-prompt.js';

/**
 * `qqbridge run`: starts the bridge. SIGINT/SIGTERM stop taking input, deliver what can be
 * delivered within `shutdownTimeoutMs`, leave the rest queued and exit 0; SIGHUP reloads
 * `mappings:` from the config file.
 */
export async function runBridgeFromConfig(file: string): Promise<void> {
  const config = loadConfig(file);
  const log = createLogger({ level: config.log.level });
  let service: Service | undefined;
  let stopping = false;
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
    if (!service) process.exit(0); // still starting: nothing was taken yet
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
  const extra = qq.protocol === 'webqq' ? { qq: { loginPrompt: terminalLoginPrompt({ codeFile: qq.captchaCodeFile }) } } : {};
  service = await startService(file, config, log, extra);
}
