/**
 * Telegram sends an update again until it is confirmed (a getUpdates offset past it, or a 2xx
 * webhook answer). These tests restart the bridge against the same fake Bot API (which keeps its
 * confirmed offset) and check that nothing arriving during a shutdown or a store failure is lost.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Relay } from '../../../src/core/relay.js';
import { StaticRoutes } from '../../../src/core/routes.js';
import { capturedLogger } from '../../support/log-capture.js';
import { openStore } from '../../../src/store/store.js';
import { TelegramConnector } from '../../../src/connectors/telegram/connector.js';
import { telegramConfigSchema, type TelegramConfigInput } from '../../../src/connectors/telegram/config.js';
import { FakeTelegram } from '../../fakes/telegram.js';
import { LoopbackConnector, LoopbackNetwork } from '../../support/loopback.js';
import { startPostgres, type TestPostgres } from '../../support/postgres.js';
import { memoryMedia } from '../../support/memory-media.js';

const TOKEN = '123456:AAshutdownTOKEN_value-xyz';
const CHAT = -1002;
const ROOM = String(CHAT);
const QQ = { network: 'qq', room: 'group:1' };
const TOM = { id: 42, first_name: 'Tom' };

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-tg-stop-'));
let pgServer: TestPostgres;
beforeAll(async () => {
  pgServer = await startPostgres();
});
afterAll(async () => {
  await pgServer?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function waitFor(cond: () => boolean, what: string, ms = 8_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


async function freePort(): Promise<number> {
  return new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/**
 * One run of the bridge (store, relay, a QQ loopback, the Telegram connector) on `fake`.
 * Runs with the same `store` location and `remote` are restarts of the same bridge.
 */
async function runBridge(o: { fake: FakeTelegram; remote: LoopbackNetwork; store: { url?: string; stateDir: string }; config?: Partial<TelegramConfigInput>; qqSendDelayMs?: number }) {
  const captured = capturedLogger('debug');
  const log = captured.log;
  const logLines = () => captured.text().split('\n');
  const store = await openStore(o.store, log);
  const relay = new Relay({
    store,
    routes: new StaticRoutes([[QQ, { network: 'telegram', room: ROOM }]]),
    log,
    media: memoryMedia({ publicUrls: false }),
    hold: { retryMinMs: 50, retryMaxMs: 300 },
    outbox: { baseBackoffMs: 5, maxBackoffMs: 50, connectPollMs: 10 },
    pruneIntervalMs: 0,
  });
  const qq = new LoopbackConnector('qq', { remote: o.remote, sendDelayMs: o.qqSendDelayMs ?? 0 });
  const config = telegramConfigSchema.parse({ token: TOKEN, apiRoot: o.fake.apiRoot, rateLimit: { perSecond: 500, burst: 50 }, ...o.config });
  const tg = new TelegramConnector(config, { pollTimeoutSec: 1, autoRetry: { maxRetryAttempts: 0 }, restart: { minMs: 20, maxMs: 100 } });
  relay.register(qq);
  relay.register(tg);
  await relay.start();
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await relay.stop();
      await store.close();
    })());
  cleanups.push(stop);
  await waitFor(() => tg.isConnected(), 'the telegram connector to connect');
  return { relay, tg, qq, logLines, stop };
}

async function startFake(): Promise<FakeTelegram> {
  const fake = await new FakeTelegram({ token: TOKEN }).start();
  cleanups.push(() => fake.stop());
  return fake;
}

describe('Telegram updates across shutdowns and store failures (polling)', () => {
  it('an update arriving while the bridge shuts down is left with Telegram and arrives, once, after the restart', async () => {
    const fake = await startFake();
    const remote = new LoopbackNetwork();
    const store = { stateDir: path.join(root, 'a') };
    // A slow QQ send keeps the shutdown waiting for the outbox: the window where input is refused.
    const a = await runBridge({ fake, remote, store, qqSendDelayMs: 600 });
    fake.message(CHAT, TOM, { text: 'before shutdown' });
    await waitFor(() => a.qq.sendCalls === 1, 'the first message on its way to QQ');

    const stopping = a.stop();
    await sleep(150);
    const during = fake.message(CHAT, TOM, { text: 'during shutdown' });
    const duringUpdate = fake.unconfirmed().at(-1)!;
    await stopping;

    expect(remote.texts(QQ.room)).toEqual(['before shutdown']);
    // Not confirmed: Telegram still holds it (and only it).
    expect(fake.unconfirmed()).toEqual([duringUpdate]);

    const b = await runBridge({ fake, remote, store });
    await waitFor(() => remote.texts(QQ.room).length === 2, 'the update from the shutdown window');
    await sleep(300);
    expect(remote.texts(QQ.room)).toEqual(['before shutdown', 'during shutdown']);
    expect(remote.sent(QQ.room)[1]!.delivery.message.id).toBe(`telegram:${ROOM}:${during.message_id}`);
    await b.stop();
    expect(fake.unconfirmed()).toEqual([]);
  });

  it('an update being handled when the shutdown starts is handed over whole and confirmed, not dropped', async () => {
    const fake = await startFake();
    const remote = new LoopbackNetwork();
    const store = { stateDir: path.join(root, 'b') };
    const a = await runBridge({ fake, remote, store });
    // The handler is busy fetching the photo when the shutdown starts.
    const release = fake.hold('getFile');
    const file = fake.addFile(new Uint8Array([0xff, 0xd8, 1, 2]));
    fake.message(CHAT, TOM, { photo: [{ file_id: file, file_unique_id: 'p', width: 10, height: 10 }], caption: 'in flight' });
    await waitFor(() => fake.calls.includes('getFile'), 'the handler fetching the photo');
    const stopping = a.stop();
    await sleep(100);
    release();
    await stopping;
    // Taken by the relay before it stopped taking input, hence confirmed.
    expect(fake.unconfirmed()).toEqual([]);

    const b = await runBridge({ fake, remote, store });
    await waitFor(() => remote.texts(QQ.room).length >= 1, 'the photo message on QQ');
    await sleep(200);
    expect(remote.sent(QQ.room)).toHaveLength(1);
    expect(remote.sent(QQ.room)[0]!.delivery.message.parts.some((p) => p.type === 'text' && p.text === 'in flight')).toBe(true);
    await b.stop();
  });

  it('store down: polling pauses with the update unconfirmed; when the store is back it arrives, with no restart', async () => {
    const fake = await startFake();
    const remote = new LoopbackNetwork();
    const store = { url: await pgServer.createDatabase(), stateDir: '/unused' };
    const a = await runBridge({ fake, remote, store });
    fake.message(CHAT, TOM, { text: 'before outage' });
    await waitFor(() => remote.texts(QQ.room).length === 1, 'the first message');

    await pgServer.stopServer();
    try {
      fake.message(CHAT, TOM, { text: 'during outage' });
      const outageUpdate = fake.unconfirmed().at(-1)!;
      await waitFor(() => a.relay.storeStatus().state === 'unavailable', 'the relay to pause on the store failure', 10_000);
      // Paused at the source: no more getUpdates while the store is away; Telegram keeps the update.
      await sleep(300);
      const polls = fake.calls.filter((c) => c === 'getUpdates').length;
      await sleep(1_500);
      expect(fake.calls.filter((c) => c === 'getUpdates').length).toBe(polls);
      expect(fake.unconfirmed()).toEqual([outageUpdate]);
    } finally {
      await pgServer.startServer();
    }
    await waitFor(() => remote.texts(QQ.room).length === 2, 'the held update after recovery', 20_000);
    fake.message(CHAT, TOM, { text: 'after outage' });
    await waitFor(() => remote.texts(QQ.room).length === 3, 'polling resumed');
    await waitFor(() => fake.unconfirmed().length === 0, 'everything confirmed');
    await sleep(300);
    expect(remote.texts(QQ.room)).toEqual(['before outage', 'during outage', 'after outage']);
    await a.stop();
  });
});

describe('Telegram updates across shutdowns and store failures (webhook)', () => {
  const update = (id: number, text: string) => ({ message: { message_id: id, date: 1, chat: { id: CHAT, type: 'supergroup' }, from: { ...TOM, is_bot: false }, text } });

  it('answers 503 once input stops and while the store is unavailable, so Telegram sends again; the resent updates arrive once', async () => {
    const fake = await startFake();
    const remote = new LoopbackNetwork();
    const store = { url: await pgServer.createDatabase(), stateDir: '/unused' };
    const port = await freePort();
    const config: Partial<TelegramConfigInput> = {
      mode: 'webhook',
      webhook: { url: `http://127.0.0.1:${port}/tg/hook`, bindAddress: '127.0.0.1', port, secretToken: 'hook_secret-1' },
    };

    const a = await runBridge({ fake, remote, store, config });
    expect(await fake.postWebhook(update(1, 'one'))).toBe(200);
    await waitFor(() => remote.texts(QQ.room).length === 1, 'the first message');
    await a.tg.stopInput();
    expect(await fake.postWebhook(update(2, 'two'))).toBe(503);
    await a.stop();
    expect(remote.texts(QQ.room)).toEqual(['one']);

    const b = await runBridge({ fake, remote, store, config });
    // Telegram resends what was answered 503.
    expect(await fake.postWebhook(update(2, 'two'))).toBe(200);
    await waitFor(() => remote.texts(QQ.room).length === 2, 'the resent message');

    await pgServer.stopServer();
    try {
      expect(await fake.postWebhook(update(3, 'three'))).toBe(503);
      expect(b.relay.storeStatus().state).toBe('unavailable');
      expect(await fake.postWebhook(update(3, 'three'))).toBe(503);
    } finally {
      await pgServer.startServer();
    }
    await waitFor(() => b.relay.storeStatus().state === 'available', 'the store back', 20_000);
    await b.stop();

    const c = await runBridge({ fake, remote, store, config });
    expect(await fake.postWebhook(update(3, 'three'))).toBe(200);
    await waitFor(() => remote.texts(QQ.room).length === 3, 'the message refused during the outage');
    await sleep(200);
    expect(remote.texts(QQ.room)).toEqual(['one', 'two', 'three']);
    await c.stop();
  });
});
