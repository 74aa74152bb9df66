/**
 * The Telegram suites' bridge: a Relay with a loopback QQ side and the Telegram connector against
 * the fake Bot API (test/fakes/telegram.ts), a SQLite store each, the log captured.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach } from 'vitest';
import type { DeliveryFailure } from '../../../src/core/outbox.js';
import { Relay } from '../../../src/core/relay.js';
import { StaticRoutes } from '../../../src/core/routes.js';
import { capturedLogger } from '../../support/log-capture.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { TelegramConnector, type TelegramConnectorOptions } from '../../../src/connectors/telegram/connector.js';
import { telegramConfigSchema, type TelegramConfigInput } from '../../../src/connectors/telegram/config.js';
import { FakeTelegram } from '../../fakes/telegram.js';
import { LoopbackConnector } from '../../support/loopback.js';
import { waitFor } from '../../support/wait.js';
import { memoryMedia } from '../../support/memory-media.js';

export const TOKEN = '123456:AAtestTOKENsecret_value-xyz';
export const CHAT = -1001;
export const ROOM = String(CHAT);
export const QQ = { network: 'qq', room: 'group:1' };
export const TOM = { id: 42, first_name: 'Tom', username: 'tom_t' };

export interface SetupOptions {
  config?: Partial<TelegramConfigInput>;
  opts?: TelegramConnectorOptions;
  fake?: { canReadAllGroupMessages?: boolean };
}

/** Registers the file's clean-up hooks and returns its `setup()`: one bridge per call, stopped after each test. */
export function useTelegramBridge(prefix: string) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  let dirs = 0;
  return async function setup(o: SetupOptions = {}) {
    const fake = await new FakeTelegram({ token: TOKEN, ...o.fake }).start();
    cleanups.push(() => fake.stop());
    const captured = capturedLogger('debug');
    const log = captured.log;
    const logLines = () => captured.text().split('\n');
    const store: Store = await openStore({ stateDir: path.join(root, `s${++dirs}`) }, log);
    const media = memoryMedia();
    const failures: DeliveryFailure[] = [];
    const relay = new Relay({
      onFailure: (f) => failures.push(f),
      store,
      routes: new StaticRoutes([[QQ, { network: 'telegram', room: ROOM }]]),
      log,
      media,
      outbox: { baseBackoffMs: 5, maxBackoffMs: 50, connectPollMs: 10 },
      pruneIntervalMs: 0,
    });
    const qq = new LoopbackConnector('qq');
    const config = telegramConfigSchema.parse({ token: TOKEN, apiRoot: fake.apiRoot, rateLimit: { perSecond: 500, burst: 50 }, ...o.config });
    const tg = new TelegramConnector(config, { pollTimeoutSec: 1, autoRetry: { maxRetryAttempts: 0 }, ...o.opts });
    relay.register(qq);
    relay.register(tg);
    await relay.start();
    cleanups.push(async () => {
      await relay.stop();
      await store.close();
    });
    await waitFor(() => tg.isConnected(), 'the telegram connector to connect', 8_000);
    const toQQ = () => qq.remote.sent(QQ.room).map((s) => s.delivery.message);
    return { fake, relay, qq, tg, media, logLines, toQQ, failures };
  };
}
