/**
 * The Telegram connector: a bot (grammY) in each bridged chat. Rooms are chat ids as strings.
 * Updates come by long polling (getUpdates) or by webhook (a local HTTP server checking the
 * secret token); messages go out as HTML (see format.ts), pictures as sendPhoto uploads.
 *
 * Telegram sends an update again until it is confirmed (a later getUpdates offset, or a 2xx
 * webhook answer), so an update is confirmed only once the relay has taken it: a refusal (store
 * failure, shutdown) leaves it with Telegram, which hands it over again later.
 */
import http from 'node:http';
import { Bot, BotError, GrammyError } from 'grammy';
import type { Message, Update, UserFromGetMe } from 'grammy/types';
import { autoRetry, type AutoRetryOptions } from '@grammyjs/auto-retry';
import { backoffDelay } from '../../core/backoff.js';
import type { Capabilities, Connector, ConnectorContext, Delivery } from '../../core/connector.js';
import { DeliveryError } from '../../core/errors.js';
import type { BridgeMessage } from '../../core/message.js';
import { sourceId } from '../../core/message.js';
import { secretMatches } from '../../core/secrets.js';
import { silentLogger, type Logger } from '../../log.js';
import type { TelegramConfig } from './config.js';
import { downloadFile, messageParts, senderOf, type FetchFile } from './inbound.js';
import { listen } from '../../util/listen.js';
import { errText, TelegramOutbound } from './outbound.js';

export const NETWORK = 'telegram';

export interface TelegramConnectorOptions {
  /** Tuning of grammY's auto-retry (429 retry_after, 5xx); what it gives up on goes to the outbox. */
  autoRetry?: Partial<AutoRetryOptions>;
  /** getUpdates long-poll timeout in seconds (default 30). */
  pollTimeoutSec?: number;
  /** Backoff bounds (ms, equal jitter) after getUpdates fails or an update cannot be handed to the relay. */
  restart?: { minMs: number; maxMs: number };
  /** For metrics: called on every 429 answer, including those auto-retry handles. */
  onRateLimited?: (retryAfterSec: number | undefined) => void;
  /** Sends to one chat in flight at once (HTTP/1.1 pipelining on one connection; default 16, 1: off). */
  pipeline?: number;
  /** After a chat refused a send (429, 5xx, our HTML), sends to it go one at a time this long (ms, default 60 s). */
  serialAfterRefusalMs?: number;
}

/** Bot API getFile only serves files up to 20 MB. */
const ALLOWED_UPDATES = ['message', 'edited_message'] as const;
/** grammY's Node build types its signals with the abort-controller polyfill; Node's are compatible. */
type ApiSignal = Parameters<Bot['api']['getUpdates']>[1];

/** The webhook's secret-token check (core/secrets.ts), re-exported for the tests of this connector. */
export { secretMatches };
/** Bot API failure → outbox error (outbound.ts), part of the connector's surface. */
export { toDeliveryError } from './outbound.js';

export class TelegramConnector implements Connector {
  readonly network = NETWORK;
  readonly capabilities: Capabilities;
  readonly bot: Bot;
  private ctx: ConnectorContext | undefined;
  private log: Logger = silentLogger;
  private ready = false;
  private stopping = false;
  private me: UserFromGetMe | undefined;
  private server: http.Server | undefined;
  private webhookChain: Promise<unknown> = Promise.resolve();
  /** While the poll loop hands over one update: where its relay receipts go (awaited per batch). */
  private receipts: Array<Promise<unknown>> | undefined;
  private polling: Promise<void> | undefined;
  /** The next update id to ask for: every update below it was taken by the relay (or ignored). */
  private offset = 0;
  /** Set by stopInput (and stop): no update is fetched or accepted from then on. */
  private inputStopped = false;
  private inputStopping: Promise<void> | undefined;
  private pollAbort: AbortController | undefined;
  private wakePause: (() => void) | undefined;
  /** Sends: their order per chat, and what a refusal costs (outbound.ts). */
  private readonly outbound: TelegramOutbound;

  constructor(
    private readonly config: TelegramConfig,
    private readonly opts: TelegramConnectorOptions = {},
  ) {
    this.capabilities = {
      formatting: true,
      images: 'upload',
      replies: true,
      edits: true,
      // Outbound only: the Bot API tells a bot nothing when a user deletes a message.
      deletes: true,
      kinds: ['message', 'action', 'notice'],
      rateLimit: config.rateLimit,
      // Requests to a chat are written on one connection in the order its sends start, and the
      // Bot API applies them in the order received; see outbound.ts for what a refusal costs.
      pipeline: Math.max(1, opts.pipeline ?? 16),
    };
    this.bot = new Bot(config.token, { client: { apiRoot: config.apiRoot } });
    this.outbound = new TelegramOutbound(this.bot, config, { pipeline: this.capabilities.pipeline!, serialAfterRefusalMs: opts.serialAfterRefusalMs, onRateLimited: opts.onRateLimited });
    this.bot.api.config.use(
      // Only 429s are retried here (they say how long to wait); 5xx and network errors go to the
      // outbox, whose backoff is bounded and persisted.
      autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 60, rethrowHttpErrors: true, rethrowInternalServerErrors: true, ...opts.autoRetry }),
    );
    this.bot.command('chatid', async (c) => {
      // A failed answer is not worth having Telegram send the command again (and again).
      await c
        .reply(`This chat's id is ${c.chat.id}. Use "${c.chat.id}" as the telegram room in mappings:`)
        .catch((e: unknown) => this.log.warn({ err: errText(e), room: String(c.chat.id) }, 'could not answer /chatid'));
    });
    // A handler that throws leaves its update unconfirmed (see pollLoop and onWebhookRequest).
    this.bot.on('message', (c) => this.onMessage(c.msg, false));
    this.bot.on('edited_message', (c) => this.onMessage(c.editedMessage, true));
  }

  /** The bot's own account, once started. */
  get botUser(): UserFromGetMe | undefined {
    return this.me;
  }

  /** The webhook server's address (webhook mode), for tests and logs. */
  webhookAddress(): { host: string; port: number } | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? { host: a.address, port: a.port } : undefined;
  }

  isConnected(): boolean {
    return this.ready && !this.stopping;
  }

  async start(ctx: ConnectorContext): Promise<void> {
    this.ctx = ctx;
    this.log = ctx.log;
    this.outbound.log = ctx.log;
    this.outbound.media = ctx.media;
    this.stopping = false;
    this.inputStopped = false;
    this.inputStopping = undefined;
    try {
      await this.bot.init();
    } catch (e) {
      throw new Error(`Telegram getMe failed (check telegram.token and telegram.apiRoot): ${errText(e)}`);
    }
    this.me = this.bot.botInfo;
    this.log.info({ bot: this.me.username, id: this.me.id, mode: this.config.mode }, 'Telegram bot ready');
    if (this.me.can_read_all_group_messages === false) {
      this.log.warn(
        { bot: this.me.username },
        `Telegram privacy mode is on: @${this.me.username} only sees commands and replies to it in groups, so most group messages will not be bridged. ` +
          'Fix: in @BotFather send /setprivacy, choose the bot, select "Disable", then remove the bot from each group and add it again.',
      );
    }
    if (this.config.mode === 'webhook') await this.startWebhook();
    else this.polling = this.pollLoop().catch((e: unknown) => this.log.error({ err: errText(e) }, 'Telegram polling ended unexpectedly'));
  }

  /**
   * Graceful shutdown, first half: stops fetching updates (polling) or answers 503 to new ones
   * (webhook; Telegram sends them again later), lets the update being handled reach the relay,
   * and confirms only what the relay took. Sending keeps working until `stop`.
   */
  stopInput(): Promise<void> {
    this.inputStopped = true;
    this.inputStopping ??= (async () => {
      this.pollAbort?.abort();
      this.wakePause?.();
      const loop = this.polling;
      this.polling = undefined;
      if (loop) {
        await loop;
        // Confirms what was taken, so the next start does not fetch it again (it would be
        // dropped as a duplicate anyway). limit 1: whatever this returns stays unconfirmed.
        if (this.offset > 0) {
          await this.bot.api
            // Bounded: an unreachable Bot API must not hold up the shutdown.
            .getUpdates({ offset: this.offset, limit: 1, timeout: 0 }, AbortSignal.timeout(5_000) as unknown as ApiSignal)
            .catch((e: unknown) => this.log.warn({ err: errText(e) }, 'confirming handled Telegram updates failed; they will be fetched again'));
        }
      }
      await this.webhookChain.catch(() => undefined);
    })();
    return this.inputStopping;
  }

  async stop(): Promise<void> {
    this.inputStopped = true;
    if (this.server) {
      const s = this.server;
      this.server = undefined;
      // Cut requests not answered yet: Telegram sends those updates again.
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    await this.stopInput();
    this.stopping = true;
    this.ready = false;
    this.ctx = undefined;
    this.outbound.media = undefined;
    this.outbound.close();
  }

  // -------------------------------------------------------------------------------------------
  // Receiving

  /**
   * Long polling, our own loop rather than grammY's `bot.start`: grammY advances its offset past
   * an update before handling it, so an update the relay refused would be confirmed by the next
   * getUpdates (or by `bot.stop`). Here the offset moves past an update only once it was handled;
   * a failure stops the batch and fetches again from that update after a backoff.
   */
  private async pollLoop(): Promise<void> {
    const r = this.opts.restart ?? { minMs: 1000, maxMs: 60_000 };
    const timeout = this.opts.pollTimeoutSec ?? 30;
    let failures = 0;
    let webhookCleared = false;
    const backoff = async (e: unknown, what: string) => {
      const wait = backoffDelay(failures++, r);
      this.log.error({ err: errText(e instanceof BotError ? e.error : e), waitMs: wait }, what);
      await this.pause(wait);
    };
    while (!this.inputStopped) {
      // Input paused (the store is unavailable): leave updates with Telegram instead of fetching.
      if (this.ctx?.inputPaused?.()) {
        await this.pause(250);
        continue;
      }
      const abort = new AbortController();
      this.pollAbort = abort;
      const signal = abort.signal as unknown as ApiSignal;
      let updates: Update[];
      try {
        if (!webhookCleared) {
          // A webhook left over from webhook mode makes getUpdates answer 409.
          await this.bot.api.deleteWebhook(undefined, signal);
          webhookCleared = true;
          this.ready = true;
        }
        updates = await this.bot.api.getUpdates({ offset: this.offset, timeout, allowed_updates: [...ALLOWED_UPDATES] }, signal);
        this.ready = true;
      } catch (e) {
        if (this.inputStopped) break;
        // 401: the token is revoked; 409: another getUpdates or a webhook. Not connected until it clears.
        if (e instanceof GrammyError && (e.error_code === 401 || e.error_code === 409)) {
          this.ready = false;
          webhookCleared = false;
        }
        await backoff(e, 'Telegram getUpdates failed; polling again');
        continue;
      }
      // The whole batch is handed over first, in order, and its writes share the relay's group
      // commit; the offset then moves past each update only once the relay has it durably.
      let failure: unknown;
      const handed: Array<{ id: number; receipts: Array<Promise<unknown>> }> = [];
      for (const update of updates) {
        if (this.inputStopped) break; // not handled, so not confirmed: fetched again next start
        const receipts: Array<Promise<unknown>> = [];
        this.receipts = receipts;
        try {
          await this.bot.handleUpdate(update);
        } catch (e) {
          failure = e;
          break;
        } finally {
          this.receipts = undefined;
        }
        handed.push({ id: update.update_id, receipts });
      }
      for (const h of handed) {
        try {
          await Promise.all(h.receipts);
        } catch (e) {
          failure = e;
          break;
        }
        this.offset = h.id + 1;
      }
      if (this.inputStopped) return;
      if (failure !== undefined) await backoff(failure, 'a Telegram update could not be handed to the relay; it stays unconfirmed and is fetched again');
      else failures = 0;
      // Let the sends this batch's commit started go out before building the next request.
      if (handed.length > 0) await new Promise((r) => setImmediate(r));
    }
  }

  /** Sleeps `ms`, or less when input stops. */
  private pause(ms: number): Promise<void> {
    if (this.inputStopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        if (this.wakePause === done) this.wakePause = undefined;
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wakePause = done;
    });
  }

  private async startWebhook(): Promise<void> {
    const wh = this.config.webhook!;
    const path = new URL(wh.url).pathname || '/';
    const server = http.createServer((req, res) => this.onWebhookRequest(req, res, path, wh.secretToken));
    await listen(server, wh.port, wh.bindAddress);
    this.server = server;
    try {
      await this.bot.api.setWebhook(wh.url, { secret_token: wh.secretToken, allowed_updates: [...ALLOWED_UPDATES] });
    } catch (e) {
      throw new Error(`Telegram setWebhook failed: ${errText(e)}`);
    }
    this.ready = true;
    this.log.info({ port: this.webhookAddress()?.port, path }, 'Telegram webhook listening');
  }

  private onWebhookRequest(req: http.IncomingMessage, res: http.ServerResponse, path: string, secret: string): void {
    const reply = (code: number, body = '') => {
      res.writeHead(code, { 'content-type': 'text/plain' });
      res.end(body);
    };
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== path) return reply(404, 'not found');
    if (req.method !== 'POST') return reply(405, 'POST only');
    const given = req.headers['x-telegram-bot-api-secret-token'];
    if (!secretMatches(typeof given === 'string' ? given : undefined, secret)) {
      this.log.warn({ from: req.socket.remoteAddress }, 'Telegram webhook request with a wrong secret token refused');
      req.resume();
      return reply(401, 'wrong secret token');
    }
    // Shutting down: a non-2xx answer makes Telegram send the update again later.
    const refuse = () => reply(503, 'shutting down; send it again later');
    if (this.inputStopped) {
      req.resume();
      return refuse();
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 10 * 1024 * 1024) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      let update: Update;
      try {
        update = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Update;
      } catch {
        return reply(400, 'body is not JSON');
      }
      if (this.inputStopped) return refuse();
      // The bridge's store is unavailable: Telegram keeps the update and sends it again.
      if (this.ctx?.inputPaused?.()) return reply(503, "the bridge's database is unavailable; send it again later");
      // Handled one at a time, in arrival order, and answered 200 only once the relay took it;
      // a failure answers 500 so that Telegram sends it again.
      const p = this.webhookChain.then(() => this.bot.handleUpdate(update));
      this.webhookChain = p.catch(() => undefined);
      p.then(
        () => reply(200, 'ok'),
        (e: unknown) => {
          this.log.error({ err: errText(e) }, 'Telegram webhook update failed');
          const cause = e instanceof BotError ? e.error : e;
          if (cause instanceof Error && cause.name === 'InputPausedError') reply(503, "the bridge's database is unavailable; send it again later");
          else reply(500, 'error');
        },
      );
    });
  }

  private async onMessage(m: Message, edited: boolean): Promise<void> {
    const ctx = this.ctx;
    if (!ctx) throw new Error('Telegram connector is stopped; update left for Telegram to send again');
    const room = String(m.chat.id);
    // Made only when something is logged: a child logger per message costs more than the rest of its hand-over.
    let child: Logger | undefined;
    const log = () => (child ??= this.log.child({ room }));
    const fetchFile: FetchFile = (fileId, mime, size, quiet) => {
      const media = this.ctx?.media;
      return media ? downloadFile(this.bot.api, this.config, media, log(), fileId, mime, size, quiet) : Promise.resolve(undefined);
    };
    const parts = await messageParts(m, fetchFile);
    if (parts.length === 0) return; // service messages (joins, pins, …) are not bridged

    const sender = senderOf(m, this.config.senderName);
    const time = (edited ? (m.edit_date ?? m.date) : m.date) * 1000;
    const msg: BridgeMessage = {
      id: sourceId(NETWORK, room, edited ? `${m.message_id}:edit:${m.edit_date ?? Date.now()}` : m.message_id),
      origin: { network: NETWORK, room, sender },
      kind: 'message',
      parts,
      time,
    };
    if (m.from && this.me && m.from.id === this.me.id) msg.fromBridge = true;
    const refOf = async (id: number) => (await ctx.sourceIdFor(room, String(id))) ?? sourceId(NETWORK, room, id);
    if (m.reply_to_message) msg.replyTo = await refOf(m.reply_to_message.message_id);
    if (edited) msg.editOf = await refOf(m.message_id);
    try {
      // A webhook update is kept by Telegram until answered 2xx: refused (503), not held, when paused.
      const taken = ctx.receive(msg, { hold: this.config.mode !== 'webhook' });
      if (this.receipts) {
        // Polling: the loop waits for it after handing over the rest of the batch.
        const receipt = taken.catch((e: unknown) => {
          log().error({ err: errText(e), id: msg.id }, 'relay refused a Telegram message; leaving it unconfirmed');
          throw e;
        });
        receipt.catch(() => undefined); // handled by the loop; a batch cut short must not leave it unhandled
        this.receipts.push(receipt);
        return;
      }
      await taken;
    } catch (e) {
      // Rethrown: the update must stay unconfirmed so that Telegram sends it again.
      log().error({ err: errText(e), id: msg.id }, 'relay refused a Telegram message; leaving it unconfirmed');
      throw e;
    }
  }

  /** Sends once connected; see TelegramOutbound.send for how sends to a chat overlap. */
  send(delivery: Delivery): Promise<string[]> {
    if (!this.ready) return Promise.reject(new DeliveryError('retryable', 'Telegram connector is not connected'));
    return this.outbound.send(delivery);
  }
}
