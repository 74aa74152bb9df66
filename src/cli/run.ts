import { startBridge } from '../bridge.js';
import { loadConfig } from '../config.js';
import { createLogger } from '../log.js';

/** `qqbridge run`: starts the bridge and stops it cleanly on SIGINT/SIGTERM. */
export async function runBridgeFromConfig(file: string): Promise<void> {
  const config = loadConfig(file);
  const log = createLogger({ level: config.log.level });
  const bridge = await startBridge(config, log);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    bridge.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        log.error({ err: (e as Error).message }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}
