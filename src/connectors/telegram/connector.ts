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
import { telegramPictureMode } from './pictures.js';
import { Api, Bot, BotError, GrammyError, HttpError, InputFile, type Transformer } from 'grammy';
import type { Message, Update, UserFromGetMe } from 'grammy/types';
import { autoRetry, type AutoRetryOptions } from '@grammyjs/auto-retry';
import { backoffDelay } from '../../core/backoff.js';
import type { Capabilities, Connector, ConnectorContext, Delivery } from '../../core/connector.js';
import { degradeEdit } from '../../core/degrade.js';
import { DeliveryError } from '../../core/errors.js';
import type { BridgeMessage } from '../../core/message.js';
import { sourceId } from '../../core/message.js';
import { secretMatches } from '../../core/secrets.js';
import { scrubSecrets, silentLogger, type Logger } from '../../log.js';
import type { TelegramConfig } from './config.js';
import { imageFallbackText, renderForTelegram, type OutItem } from './format.js';
import { downloadFile, messageParts, senderOf, type FetchFile } from './inbound.js';
import { listen } from '../../util/listen.js';
import { PipelinedClient } from './pipelined-http.js';

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

/**
 * The short JSON methods a send is made of: they go through the pipelining client, on one
 * connection, in the order they are called. getUpdates (a 30 s long poll), uploads and the rest
 * keep grammY's own transport, so a long poll never holds up a send.
 */
const PIPELINED_METHODS = new Set(['sendMessage', 'editMessageText', 'deleteMessage']);

/** A grammY transport for PIPELINED_METHODS through `client`; other methods go on to `prev`. */
function pipelinedTransport(client: PipelinedClient, apiRoot: string, token: string): Transformer {
  return (async (prev, method, payload, signal) => {
    if (!PIPELINED_METHODS.has(method)) return prev(method, payload, signal);
    // As grammY sends JSON payloads: null values left out.
    const body = JSON.stringify(payload, (_k, v: unknown) => v ?? undefined);
    try {
      const res = await client.request(`${apiRoot}/bot${token}/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: signal ?? null });
      return res.json();
    } catch (e) {
      // Never the URL: it holds the token.
      throw new HttpError(`Network request for '${method}' failed! ${e instanceof Error ? e.message : String(e)}`, e);
    }
  }) as Transformer;
}

/** One send's place in its chat's order (see TelegramConnector.send). */
class Turn {
  /** True once its requests are all issued, in order, behind the previous send's; false if it failed first. */
  readonly issued: Promise<boolean>;
  /** True once it and every send to the chat before it were delivered; false once one failed. */
  readonly settled: Promise<boolean>;
  issue!: (ok: boolean) => void;
  settle!: (ok: boolean) => void;
  constructor() {
    this.issued = new Promise((r) => (this.issue = r));
    this.settled = new Promise((r) => (this.settle = r));
  }
}

/** Bot API getFile only serves files up to 20 MB. */
const ALLOWED_UPDATES = ['message', 'edited_message'] as const;
/** grammY's Node build types its signals with the abort-controller polyfill; Node's are compatible. */
type ApiSignal = Parameters<Bot['api']['getUpdates']>[1];

const errText = (e: unknown) => scrubSecrets(e instanceof Error ? e.message : String(e));

/** The webhook's secret-token check (core/secrets.ts), re-exported for the tests of this connector. */
export { secretMatches };

/** Maps a Bot API failure to what the outbox should do with it. */
export function toDeliveryError(e: unknown): DeliveryError {
  if (e instanceof DeliveryError) return e;
  if (e instanceof GrammyError) {
    const desc = scrubSecrets(`${e.method}: ${e.error_code} ${e.description}`);
    if (e.error_code === 429) {
      const s = e.parameters.retry_after;
      return new DeliveryError('retryable', desc, { cause: e, ...(s !== undefined ? { retryAfterMs: s * 1000 } : {}) });
    }
    if (e.error_code >= 500) return new DeliveryError('retryable', desc, { cause: e });
    // 401: the token was revoked; 404 on a method: the token is malformed. Nothing sends until fixed.
    if (e.error_code === 401 || e.error_code === 404) return new DeliveryError('fatal', desc, { cause: e });
    return new DeliveryError('rejected', desc, { cause: e });
  }
  if (e instanceof HttpError) return new DeliveryError('retryable', `network error: ${errText(e)}`, { cause: e });
  return new DeliveryError('retryable', errText(e), { cause: e });
}

const isParseError = (e: unknown) => e instanceof GrammyError && e.error_code === 400 && /can't parse entities/i.test(e.description);
const isNotModified = (e: unknown) => e instanceof GrammyError && e.error_code === 400 && /message is not modified/i.test(e.description);

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
  /** Short JSON calls (sends, edits, deletes) to the Bot API, pipelined on one connection. */
  private readonly http: PipelinedClient;
  /** The API for pipelined sends: the pipelined transport, without auto-retry (see sendInTurn). */
  private readonly pipelinedApi: Api;
  /** Per chat: the send started last, for the next one to follow. */
  private readonly turns = new Map<string, Turn>();
  /** Per chat: when sends may overlap again (absent: not before a send to it succeeded). */
  private readonly pipelineFrom = new Map<string, number>();

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
      // Bot API applies them in the order received; see send() for what a refusal costs.
      pipeline: Math.max(1, opts.pipeline ?? 16),
    };
    this.http = new PipelinedClient({ depth: this.capabilities.pipeline! });
    this.bot = new Bot(config.token, { client: { apiRoot: config.apiRoot } });
    this.pipelinedApi = new Api(config.token, { apiRoot: config.apiRoot });
    const onRateLimited = opts.onRateLimited;
    for (const api of [this.bot.api, this.pipelinedApi]) {
      // Innermost: the transport. Then, inside auto-retry so they see every refusal, not only the
      // last: the metrics hook, and the switch of a chat that refused a send to one at a time.
      api.config.use(pipelinedTransport(this.http, config.apiRoot, config.token));
      api.config.use(async (prev, method, payload, signal) => {
        const chat = (payload as { chat_id?: unknown } | undefined)?.chat_id;
        try {
          const res = await prev(method, payload, signal);
          if (!res.ok && res.error_code === 429) onRateLimited?.(res.parameters?.retry_after);
          if (!res.ok && chat !== undefined && (res.error_code === 429 || res.error_code >= 500 || /can't parse entities/i.test(res.description))) this.refused(String(chat));
          return res;
        } catch (e) {
          if (chat !== undefined && PIPELINED_METHODS.has(method)) this.refused(String(chat));
          throw e;
        }
      });
    }
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
    this.http.close();
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

  // -------------------------------------------------------------------------------------------
  // Sending

  /**
   * Sends to one chat overlap (the outbox pipelines up to `capabilities.pipeline` of them): a send
   * that is one request (a text message, a delete of one message) issues it only after the send
   * started before it issued its own, and not at all when that one failed first, so the requests
   * are written on the one connection in queue order and Telegram applies them in that order.
   *
   * What this cannot undo: a send Telegram refuses (429, 5xx, our HTML) after the ones behind it
   * were already written is overtaken by those — at most `pipeline` − 1 of them — when it is sent
   * again. So after a refusal a chat goes back to one send at a time (each after the previous
   * one's result, with auto-retry) for `serialAfterRefusalMs`, as it starts before its first
   * success; and sends made of several requests (split text, pictures, edits) always go alone.
   */
  async send(delivery: Delivery): Promise<string[]> {
    if (!this.ready) throw new DeliveryError('retryable', 'Telegram connector is not connected');
    const chat = delivery.room;
    const msg = delivery.message;
    const before = this.turns.get(chat);
    const turn = new Turn();
    this.turns.set(chat, turn);
    try {
      const ids = await this.sendInTurn(delivery, before, turn);
      if (!this.pipelineFrom.has(chat)) this.pipelineFrom.set(chat, 0);
      turn.issue(true);
      // Delivered counts only once everything before it was: a send made one at a time after a
      // refusal waits for all sends ahead of it, not only the last (which may have overtaken it).
      if (before) void before.settled.then((ok) => turn.settle(ok));
      else turn.settle(true);
      return ids;
    } catch (e) {
      turn.issue(false);
      turn.settle(false);
      const err = toDeliveryError(e);
      this.log.warn({ room: chat, id: msg.id, kind: err.kind, err: err.message }, 'Telegram delivery failed');
      throw err;
    } finally {
      if (this.turns.get(chat) === turn) this.turns.delete(chat);
    }
  }

  private pipelining(chat: string): boolean {
    const from = this.pipelineFrom.get(chat);
    return this.capabilities.pipeline! > 1 && from !== undefined && Date.now() >= from;
  }

  /** A chat refused a send: one at a time to it for a while (see send). */
  private refused(chat: string): void {
    this.pipelineFrom.set(chat, Date.now() + (this.opts.serialAfterRefusalMs ?? 60_000));
  }

  private async sendInTurn(delivery: Delivery, before: Turn | undefined, turn: Turn): Promise<string[]> {
    const chat = delivery.room;
    const msg = delivery.message;
    const items = msg.kind === 'delete' || msg.editOf !== undefined ? undefined : renderForTelegram(msg);
    const single = this.singleRequest(delivery, items);
    if (single && this.pipelining(chat)) {
      if (before && !(await before.issued)) throw new DeliveryError('retryable', 'an earlier message to this chat did not get out; this one waits for it');
      // A refusal may have come in meanwhile.
      if (this.pipelining(chat)) {
        const mark = this.http.issued;
        const result = single(this.pipelinedApi);
        // Taken into the connection's order before any await: the next send may follow at once.
        // (Were it not, as with a grammY that awaited first, the next one waits for the result.)
        if (this.http.issued > mark) turn.issue(true);
        return await result;
      }
    }
    if (before && !(await before.settled)) throw new DeliveryError('retryable', 'an earlier message to this chat was not delivered; this one waits for it');
    if (msg.kind === 'delete') return await this.deleteAll(this.bot.api, chat, delivery.deleteOfRemoteIds ?? [], delivery.alreadySent ?? []);
    if (msg.editOf !== undefined) {
      const edited = await this.tryEdit(chat, msg, delivery.editOfRemoteIds);
      if (edited) return [];
      return await this.sendItems(this.bot.api, chat, renderForTelegram(degradeEdit(msg)), delivery.replyToRemoteId);
    }
    return await this.sendItems(this.bot.api, chat, items!, delivery.replyToRemoteId);
  }

  /** The send as one pipelinable request, when it is one: a text message, or a delete of one message. */
  private singleRequest(d: Delivery, items: OutItem[] | undefined): ((api: Api) => Promise<string[]>) | undefined {
    if (d.message.kind === 'delete') {
      const ids = d.deleteOfRemoteIds ?? [];
      const done = d.alreadySent ?? [];
      if (ids.filter((id) => !done.includes(id)).length !== 1) return undefined;
      return (api) => this.deleteAll(api, d.room, ids, done);
    }
    if (!items || items.length !== 1 || items[0]!.type !== 'text') return undefined;
    return (api) => this.sendItems(api, d.room, items, d.replyToRemoteId);
  }

  /**
   * Deletes every piece of a message. "message to delete not found" means it is gone already (a
   * retry after a lost answer, or a person deleted it): the goal is reached. Any other refusal
   * (older than 48 hours, no right to delete it) is final.
   */
  private async deleteAll(api: Api, chat: string, ids: readonly string[], alreadyDone: readonly string[]): Promise<string[]> {
    const done = [...alreadyDone];
    for (const id of ids) {
      if (done.includes(id)) continue;
      try {
        await api.deleteMessage(chat, Number(id));
      } catch (e) {
        if (e instanceof GrammyError && e.error_code === 400 && /message to delete not found/i.test(e.description)) {
          this.log.debug({ room: chat, message: id }, 'the Telegram message to delete is gone already');
        } else {
          const err = toDeliveryError(e);
          throw new DeliveryError(err.kind, err.message, { cause: e, remoteIds: done, ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}) });
        }
      }
      done.push(id);
    }
    return [];
  }

  /** Edits the message in place when it was one text message; false when it must go as a new one. */
  private async tryEdit(chat: string, msg: BridgeMessage, ids: string[] | undefined): Promise<boolean> {
    const target = ids?.[0];
    const items = renderForTelegram(msg);
    if (!target || ids!.length !== 1 || items.length !== 1 || items[0]!.type !== 'text') return false;
    const item = items[0]!;
    try {
      await this.withHtmlFallback(
        () => this.bot.api.editMessageText(chat, Number(target), item.html, { parse_mode: 'HTML' }),
        () => this.bot.api.editMessageText(chat, Number(target), item.plain),
      );
      return true;
    } catch (e) {
      if (isNotModified(e)) return true;
      // Too old to edit, or deleted: a correction as a new message is better than nothing.
      if (e instanceof GrammyError && e.error_code === 400) return false;
      throw e;
    }
  }

  private async withHtmlFallback<T>(html: () => Promise<T>, plain: () => Promise<T>): Promise<T> {
    try {
      return await html();
    } catch (e) {
      if (!isParseError(e)) throw e;
      this.log.warn({ err: errText(e) }, 'Telegram refused our HTML; sending plain text instead');
      return await plain();
    }
  }

  private async sendItems(api: Api, chat: string, items: OutItem[], replyTo: string | undefined): Promise<string[]> {
    const ids: string[] = [];
    const replyParams = () =>
      replyTo !== undefined && ids.length === 0
        ? { reply_parameters: { message_id: Number(replyTo), allow_sending_without_reply: true } }
        : {};
    for (const item of items) {
      if (item.type === 'photo') {
        const p = item.image;
        const stored = p.mediaId ? await this.ctx?.media.get(p.mediaId) : undefined;
        // Too large, too long and thin for a photo: a document; over the upload limit: the link.
        const mode = stored ? telegramPictureMode(stored.data) : 'link';
        if (stored && mode !== 'link') {
          const file = () => new InputFile(stored.data, p.name ?? (mode === 'document' ? documentName(stored.mime) : 'image'));
          const send = (o: { caption: string; parse_mode?: 'HTML' }): Promise<{ message_id: number }> =>
            mode === 'photo' ? api.sendPhoto(chat, file(), { ...o, ...replyParams() }) : api.sendDocument(chat, file(), { ...o, ...replyParams() });
          const sent = await this.withHtmlFallback(
            () => send({ caption: item.captionHtml, parse_mode: 'HTML' }),
            () => send({ caption: item.captionPlain }),
          );
          ids.push(String(sent.message_id));
          continue;
        }
        const url = p.url ?? (p.mediaId ? this.ctx?.media.urlFor(p.mediaId) : undefined);
        const text = `${item.captionPlain}: ${imageFallbackText(p, url)}`;
        const sent = await api.sendMessage(chat, text, replyParams());
        ids.push(String(sent.message_id));
        continue;
      }
      const sent = await this.withHtmlFallback(
        () => api.sendMessage(chat, item.html, { parse_mode: 'HTML', ...replyParams() }),
        () => api.sendMessage(chat, item.plain, replyParams()),
      );
      ids.push(String(sent.message_id));
    }
    return ids;
  }
}

/** A file name for a picture sent as a document, so Telegram shows it with its type. */
function documentName(mime: string): string {
  const ext = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/gif': 'gif', 'image/webp': 'webp' }[mime];
  return ext ? `image.${ext}` : 'image';
}
