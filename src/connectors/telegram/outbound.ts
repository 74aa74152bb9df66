/**
 * Telegram's outbound path: sends to a chat kept in order while they are pipelined on one
 * connection, one at a time after the chat refused one, and each rendered item sent as HTML, as
 * plain text when Telegram refuses our HTML.
 */
import { Api, GrammyError, HttpError, InputFile, type Bot, type Transformer } from 'grammy';
import type { Delivery, MediaAccess } from '../../core/connector.js';
import { degradeEdit } from '../../core/degrade.js';
import { DeliveryError } from '../../core/errors.js';
import type { BridgeMessage } from '../../core/message.js';
import { scrubSecrets, silentLogger, type Logger } from '../../log.js';
import type { TelegramConfig } from './config.js';
import { imageFallbackText, renderForTelegram, type OutItem } from './format.js';
import { PipelinedClient } from './pipelined-http.js';
import { telegramPictureMode } from './pictures.js';

export const errText = (e: unknown) => scrubSecrets(e instanceof Error ? e.message : String(e));

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

/** One send's place in its chat's order (see TelegramOutbound.send). */
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

/** Telegram's answer when it cannot read our HTML (we send the same text as plain text then). */
const PARSE_ERROR = /can't parse entities/i;
const isParseError = (e: unknown) => e instanceof GrammyError && e.error_code === 400 && PARSE_ERROR.test(e.description);
const isNotModified = (e: unknown) => e instanceof GrammyError && e.error_code === 400 && /message is not modified/i.test(e.description);

export interface TelegramOutboundOptions {
  /** Sends to one chat in flight at once (1: one at a time). */
  pipeline: number;
  serialAfterRefusalMs?: number | undefined;
  onRateLimited?: ((retryAfterSec: number | undefined) => void) | undefined;
}

export class TelegramOutbound {
  log: Logger = silentLogger;
  /** The bridge's media store while the connector runs (pictures are read from it). */
  media: MediaAccess | undefined;
  /** Short JSON calls (sends, edits, deletes) to the Bot API, pipelined on one connection. */
  private readonly http: PipelinedClient;
  /** The API for pipelined sends: the pipelined transport, without auto-retry (see sendInTurn). */
  private readonly pipelinedApi: Api;
  /** Per chat: the send started last, for the next one to follow. */
  private readonly turns = new Map<string, Turn>();
  /** Per chat: when sends may overlap again (absent: not before a send to it succeeded). */
  private readonly pipelineFrom = new Map<string, number>();

  constructor(
    private readonly bot: Bot,
    config: TelegramConfig,
    private readonly opts: TelegramOutboundOptions,
  ) {
    this.http = new PipelinedClient({ depth: opts.pipeline });
    this.pipelinedApi = new Api(config.token, { apiRoot: config.apiRoot });
    const onRateLimited = opts.onRateLimited;
    for (const api of [this.bot.api, this.pipelinedApi]) {
      // Innermost: the transport. Then, inside auto-retry (the connector adds it after) so they see every refusal, not only the
      // last: the metrics hook, and the switch of a chat that refused a send to one at a time.
      api.config.use(pipelinedTransport(this.http, config.apiRoot, config.token));
      api.config.use(async (prev, method, payload, signal) => {
        const chat = (payload as { chat_id?: unknown } | undefined)?.chat_id;
        try {
          const res = await prev(method, payload, signal);
          if (!res.ok && res.error_code === 429) onRateLimited?.(res.parameters?.retry_after);
          if (!res.ok && chat !== undefined && (res.error_code === 429 || res.error_code >= 500 || PARSE_ERROR.test(res.description))) this.refused(String(chat));
          return res;
        } catch (e) {
          if (chat !== undefined && PIPELINED_METHODS.has(method)) this.refused(String(chat));
          throw e;
        }
      });
    }
  }

  close(): void {
    this.http.close();
  }

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
    return this.opts.pipeline > 1 && from !== undefined && Date.now() >= from;
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
        const stored = p.mediaId ? await this.media?.get(p.mediaId) : undefined;
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
        const url = p.url ?? (p.mediaId ? this.media?.urlFor(p.mediaId) : undefined);
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
