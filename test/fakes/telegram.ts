/**
 * A fake Telegram Bot API over real HTTP, following the published API's request and response
 * shapes: `{ok:true,result}` / `{ok:false,error_code,description,parameters}`. It keeps chats,
 * queues updates for getUpdates (long polling that really holds), validates HTML like Telegram
 * does (with its error texts), takes multipart uploads and serves files under /file/bot<token>/.
 */
import http from 'node:http';
import { imageSize } from '../../src/media/image-size.js';
import type { AddressInfo } from 'node:net';

export interface SentMessage {
  method: string;
  chatId: string;
  messageId: number;
  text?: string;
  parseMode?: string;
  caption?: string;
  photo?: Uint8Array;
  document?: Uint8Array;
  replyTo?: number;
  editOf?: number;
}

interface Injection {
  method: string | undefined;
  code: number;
  description: string;
  retryAfter?: number;
  remaining: number;
  /** Matching calls still let through before the failures start. */
  skip: number;
}

const ALLOWED_TAGS = new Set(['b', 'strong', 'i', 'em', 'u', 'ins', 's', 'strike', 'del', 'a', 'code', 'pre', 'tg-spoiler', 'span', 'blockquote', 'tg-emoji']);

/** Telegram's HTML check: returns the error description, or undefined if the text parses. */
export function checkHtml(html: string): string | undefined {
  const stack: string[] = [];
  const bytesAt = (i: number) => Buffer.byteLength(html.slice(0, i));
  let i = 0;
  while (i < html.length) {
    const c = html[i];
    if (c === '&') {
      const m = /^&(lt|gt|amp|quot|#\d+|#x[0-9a-f]+);/i.exec(html.slice(i));
      // Telegram lets an unknown "&word" through as text only when it is not entity-shaped; keep it strict.
      if (!m) return `Can't parse entities: character '&' is reserved and must be escaped with "&amp;" at byte offset ${bytesAt(i)}`;
      i += m[0].length;
      continue;
    }
    if (c === '>') return `Can't parse entities: character '>' is reserved and must be escaped with "&gt;" at byte offset ${bytesAt(i)}`;
    if (c === '<') {
      const end = html.indexOf('>', i);
      if (end < 0) return `Can't parse entities: unclosed start tag at byte offset ${bytesAt(i)}`;
      const inner = html.slice(i + 1, end);
      if (inner.startsWith('/')) {
        const name = inner.slice(1).trim().toLowerCase();
        if (stack.length === 0 || stack[stack.length - 1] !== name) return `Can't parse entities: unexpected end tag at byte offset ${bytesAt(i)}`;
        stack.pop();
      } else {
        const name = /^[a-z-]+/i.exec(inner)?.[0]?.toLowerCase() ?? '';
        if (!ALLOWED_TAGS.has(name)) return `Can't parse entities: unsupported start tag "${name}" at byte offset ${bytesAt(i)}`;
        if (name === 'a' && !/^a\s+href="[^"<>]*"$/.test(inner)) return `Can't parse entities: unexpected attribute in tag "a" at byte offset ${bytesAt(i)}`;
        stack.push(name);
      }
      i = end + 1;
      continue;
    }
    i++;
  }
  if (stack.length > 0) return `Can't parse entities: can't find end tag corresponding to start tag "${stack[stack.length - 1]}"`;
  return undefined;
}

const decode = (html: string) =>
  html.replace(/<[^>]*>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');

/** multipart/form-data → [name, string | bytes] (bytes when the part has a filename). */
function parseMultipart(body: Buffer, type: string): [string, string | Uint8Array][] {
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (!boundary) throw new Error('multipart body without a boundary');
  const delim = Buffer.from(`--${boundary}`);
  const out: [string, string | Uint8Array][] = [];
  let pos = body.indexOf(delim);
  while (pos >= 0) {
    let start = pos + delim.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    if (body.subarray(start, start + 2).toString() === '\r\n') start += 2;
    const next = body.indexOf(delim, start);
    if (next < 0) throw new Error('multipart body not terminated');
    let part = body.subarray(start, next);
    if (part.subarray(part.length - 2).toString() === '\r\n') part = part.subarray(0, part.length - 2);
    const sep = part.indexOf('\r\n\r\n');
    if (sep < 0) throw new Error('multipart part without headers');
    const headers = part.subarray(0, sep).toString('utf8');
    const content = part.subarray(sep + 4);
    const name = /(?:^|[;\s])name="([^"]*)"/i.exec(headers)?.[1];
    if (name === undefined) throw new Error('multipart part without a name');
    out.push([name, /filename=/i.test(headers) ? new Uint8Array(content) : content.toString('utf8')]);
    pos = next;
  }
  return out;
}

class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly description: string,
    readonly retryAfter?: number,
  ) {
    super(description);
  }
}

export interface FakeTelegramOptions {
  token: string;
  botId?: number;
  username?: string;
  canReadAllGroupMessages?: boolean;
}

export class FakeTelegram {
  readonly token: string;
  readonly bot: { id: number; is_bot: true; first_name: string; username: string; can_join_groups: boolean; can_read_all_group_messages: boolean; supports_inline_queries: boolean };
  readonly sent: SentMessage[] = [];
  /** Every method call, in order (for assertions on retries). */
  readonly calls: string[] = [];
  webhook: { url: string; secretToken?: string } | undefined;
  private server: http.Server | undefined;
  private updates: { update_id: number; [k: string]: unknown }[] = [];
  private nextUpdateId = 1;
  private nextMessageId = new Map<string, number>();
  private waiters = new Set<() => void>();
  private injections: Injection[] = [];
  private files = new Map<string, { path: string; data: Uint8Array }>();
  private nextFile = 1;
  /** getUpdates offset last asked for: Telegram forgets every update below it (confirmed). */
  private confirmedBelow = 0;
  private held = new Map<string, Promise<void>>();
  /** Every message in each chat (the bot's and users'), for deleteMessage's checks. */
  private readonly chatMessages = new Map<string, Map<number, { date: number; fromBot: boolean; deleted: boolean }>>();
  /** Messages the bot deleted (deleteMessage answered true), in order. */
  readonly deleted: { chatId: string; messageId: number }[] = [];
  /** The bot is an administrator with can_delete_messages in every chat. */
  botIsAdmin = false;

  constructor(opts: FakeTelegramOptions) {
    this.token = opts.token;
    this.bot = {
      id: opts.botId ?? Number(opts.token.split(':')[0]),
      is_bot: true,
      first_name: 'Bridge',
      username: opts.username ?? 'qqbridge_bot',
      can_join_groups: true,
      can_read_all_group_messages: opts.canReadAllGroupMessages ?? true,
      supports_inline_queries: false,
    };
  }

  get apiRoot(): string {
    const a = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${a.port}`;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    return this;
  }

  async stop(): Promise<void> {
    for (const w of this.waiters) w();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  // --- test helpers ---------------------------------------------------------------------------

  /** The next `count` calls (of `method`, or any method) fail with this error; with `after`, once that many more went through. */
  fail(code: number, opts: { method?: string; count?: number; retryAfter?: number; description?: string; after?: number } = {}): void {
    const description =
      opts.description ?? (code === 429 ? `Too Many Requests: retry after ${opts.retryAfter ?? 1}` : code >= 500 ? 'Internal Server Error' : 'Bad Request');
    this.injections.push({ method: opts.method, code, description, retryAfter: opts.retryAfter, remaining: opts.count ?? 1, skip: opts.after ?? 0 });
  }

  /** The most requests seen at once on one connection, received and not yet answered (HTTP/1.1 pipelining). */
  maxPipelined = 0;
  private readonly waitingOn = new WeakMap<object, number>();

  /** Ids of the updates Telegram still holds (not confirmed by a getUpdates offset past them). */
  unconfirmed(): number[] {
    return this.updates.filter((u) => u.update_id >= this.confirmedBelow).map((u) => u.update_id);
  }

  /** Calls of `method` wait (unanswered) until the returned function is called. */
  hold(method: string): () => void {
    let release!: () => void;
    this.held.set(method, new Promise<void>((r) => (release = r)));
    return () => {
      this.held.delete(method);
      release();
    };
  }

  /** Stores a file the bot can getFile and download; returns its file_id. */
  addFile(data: Uint8Array, ext = 'jpg'): string {
    const id = `file${this.nextFile++}`;
    this.files.set(id, { path: `photos/${id}.${ext}`, data });
    return id;
  }

  private newMessageId(chatId: string): number {
    const n = (this.nextMessageId.get(chatId) ?? 1000) + 1;
    this.nextMessageId.set(chatId, n);
    return n;
  }

  private remember(chatId: string, messageId: number, date: number, fromBot: boolean): void {
    const chat = this.chatMessages.get(chatId) ?? new Map();
    chat.set(messageId, { date, fromBot, deleted: false });
    this.chatMessages.set(chatId, chat);
  }

  /** Moves a message's date back (Telegram's 48-hour limit on deleting, without waiting it out). */
  backdate(chatId: string | number, messageId: number, seconds: number): void {
    const m = this.chatMessages.get(String(chatId))?.get(messageId);
    if (m) m.date -= seconds;
  }

  /** Whether a message is still in the chat (not deleted). */
  exists(chatId: string | number, messageId: number): boolean {
    const m = this.chatMessages.get(String(chatId))?.get(messageId);
    return m !== undefined && !m.deleted;
  }

  /** Queues an update (for getUpdates, or POSTs it to the webhook if one is set); returns it. */
  pushUpdate(body: Record<string, unknown>): { update_id: number; [k: string]: unknown } {
    const u = { update_id: this.nextUpdateId++, ...body };
    this.updates.push(u);
    for (const w of [...this.waiters]) w();
    return u;
  }

  /** A user's message in a group; `extra` adds photo, sticker, reply_to_message, forward_origin, … */
  message(chatId: number, from: { id: number; first_name: string; username?: string }, extra: Record<string, unknown> = {}) {
    const msg = {
      message_id: this.newMessageId(String(chatId)),
      date: Math.floor(Date.now() / 1000),
      chat: { id: chatId, type: 'supergroup', title: 'Test group' },
      from: { is_bot: false, ...from },
      ...extra,
    };
    this.remember(String(chatId), msg.message_id, msg.date, false);
    this.pushUpdate({ message: msg });
    return msg;
  }

  editedMessage(original: { message_id: number; chat: { id: number }; from: unknown; date: number }, text: string) {
    const msg = { ...original, text, edit_date: Math.floor(Date.now() / 1000) + 1 };
    this.pushUpdate({ edited_message: msg });
    return msg;
  }

  /** POSTs an update to the registered webhook with `secret` (default: the registered one). */
  async postWebhook(update: Record<string, unknown>, secret?: string): Promise<number> {
    if (!this.webhook) throw new Error('no webhook set');
    const res = await fetch(this.webhook.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...((secret ?? this.webhook.secretToken) !== undefined ? { 'x-telegram-bot-api-secret-token': secret ?? this.webhook.secretToken! } : {}) },
      body: JSON.stringify({ update_id: this.nextUpdateId++, ...update }),
    });
    await res.arrayBuffer();
    return res.status;
  }

  sentTo(chatId: string | number): SentMessage[] {
    return this.sent.filter((s) => s.chatId === String(chatId));
  }

  // --- HTTP ------------------------------------------------------------------------------------

  /**
   * Requests on one connection are handled one after the other, in arrival order, as the Bot API
   * applies them: a client pipelining HTTP/1.1 requests (several written before the first answer;
   * Node's server emits them at once) gets message ids in the order it wrote them.
   */
  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const waiting = (this.waitingOn.get(req.socket) ?? 0) + 1;
    this.waitingOn.set(req.socket, waiting);
    this.maxPipelined = Math.max(this.maxPipelined, waiting);
    res.on('finish', () => this.waitingOn.set(req.socket, (this.waitingOn.get(req.socket) ?? 1) - 1));
    const before = this.connectionTurns.get(req.socket);
    let done!: () => void;
    const mine = new Promise<void>((r) => (done = r));
    this.connectionTurns.set(req.socket, mine);
    try {
      await before;
      await this.handleInTurn(req, res);
    } finally {
      done();
    }
  }

  private readonly connectionTurns = new WeakMap<object, Promise<void>>();

  private async handleInTurn(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const filePrefix = `/file/bot${this.token}/`;
    if (url.pathname.startsWith(filePrefix)) {
      const path = decodeURIComponent(url.pathname.slice(filePrefix.length));
      const f = [...this.files.values()].find((x) => x.path === path);
      if (!f) return json(404, { ok: false, error_code: 404, description: 'Not Found' });
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(Buffer.from(f.data));
      return;
    }
    const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    if (!m) return json(404, { ok: false, error_code: 404, description: 'Not Found' });
    if (m[1] !== this.token) return json(401, { ok: false, error_code: 401, description: 'Unauthorized' });
    const method = m[2]!;
    let params: Record<string, unknown>;
    try {
      params = await this.readParams(req, url);
    } catch (e) {
      return json(400, { ok: false, error_code: 400, description: `Bad Request: ${(e as Error).message}` });
    }
    this.calls.push(method);
    await this.held.get(method);
    try {
      const exempt = method === 'getUpdates' || method === 'getMe' || method === 'deleteWebhook';
      const inj = exempt ? undefined : this.injections.find((i) => i.method === undefined || i.method === method);
      if (inj && inj.skip > 0) inj.skip--;
      else if (inj) {
        if (--inj.remaining <= 0) this.injections.splice(this.injections.indexOf(inj), 1);
        throw new ApiError(inj.code, inj.description, inj.retryAfter);
      }
      const result = await this.call(method, params, req);
      json(200, { ok: true, result });
    } catch (e) {
      if (!(e instanceof ApiError)) return json(500, { ok: false, error_code: 500, description: `Internal Server Error: ${(e as Error).message}` });
      json(e.code, {
        ok: false,
        error_code: e.code,
        description: e.description,
        ...(e.retryAfter !== undefined ? { parameters: { retry_after: e.retryAfter } } : {}),
      });
    }
  }

  private async readParams(req: http.IncomingMessage, url: URL): Promise<Record<string, unknown>> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const params: Record<string, unknown> = Object.fromEntries(url.searchParams);
    const type = req.headers['content-type'] ?? '';
    if (body.length === 0) return params;
    if (type.startsWith('application/json')) return { ...params, ...(JSON.parse(body.toString('utf8')) as Record<string, unknown>) };
    if (type.startsWith('application/x-www-form-urlencoded')) return { ...params, ...Object.fromEntries(new URLSearchParams(body.toString('utf8'))) };
    if (type.startsWith('multipart/form-data')) {
      const form = parseMultipart(body, type);
      const files = new Map<string, Uint8Array>();
      for (const [k, v] of form) if (typeof v !== 'string') files.set(k, v);
      for (const [k, v] of form) {
        if (typeof v !== 'string') {
          params[k] = v;
          continue;
        }
        // Telegram: a field "attach://name" refers to the multipart field "name".
        if (v.startsWith('attach://')) params[k] = files.get(v.slice('attach://'.length));
        else params[k] = /^[{[]/.test(v) ? JSON.parse(v) : v;
      }
      return params;
    }
    throw new Error(`unsupported content type ${type}`);
  }

  private async getUpdates(params: Record<string, unknown>, req: http.IncomingMessage): Promise<unknown[]> {
    if (this.webhook) throw new ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
    const offset = Number(params.offset ?? 0);
    const timeout = Number(params.timeout ?? 0);
    const limit = Number(params.limit ?? 100);
    if (offset > 0) {
      this.confirmedBelow = Math.max(this.confirmedBelow, offset);
      this.updates = this.updates.filter((u) => u.update_id >= offset);
    }
    if (this.updates.length === 0 && timeout > 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          this.waiters.delete(done);
          req.socket.off('close', done);
          resolve();
        };
        const t = setTimeout(done, timeout * 1000);
        this.waiters.add(done);
        req.socket.on('close', done);
      });
    }
    return this.updates.slice(0, limit);
  }

  private checkText(text: unknown, parseMode: unknown, what: 'message text' | 'caption'): string {
    if (parseMode !== undefined && parseMode !== 'HTML' && parseMode !== 'MarkdownV2' && parseMode !== 'Markdown') {
      throw new ApiError(400, `Bad Request: unsupported parse_mode "${String(parseMode)}"`);
    }
    const s = typeof text === 'string' ? text : '';
    if (parseMode === 'HTML') {
      const err = checkHtml(s);
      if (err) throw new ApiError(400, `Bad Request: c${err.slice(1)}`);
    }
    const visible = parseMode === 'HTML' ? decode(s) : s;
    if (what === 'message text' && visible.trim() === '') throw new ApiError(400, 'Bad Request: message text is empty');
    if (what === 'message text' && visible.length > 4096) throw new ApiError(400, 'Bad Request: message is too long');
    if (what === 'caption' && visible.length > 1024) throw new ApiError(400, 'Bad Request: message caption is too long');
    return visible;
  }

  private replyOf(params: Record<string, unknown>): number | undefined {
    const rp = params.reply_parameters as { message_id?: number } | undefined;
    return rp?.message_id ?? (params.reply_to_message_id !== undefined ? Number(params.reply_to_message_id) : undefined);
  }

  private botMessage(chatId: string, extra: Record<string, unknown>) {
    const message_id = typeof extra.message_id === 'number' ? extra.message_id : this.newMessageId(chatId);
    if (extra.message_id === undefined) this.remember(chatId, message_id, Math.floor(Date.now() / 1000), true);
    return {
      message_id,
      date: Math.floor(Date.now() / 1000),
      chat: { id: Number(chatId), type: 'supergroup', title: 'Test group' },
      from: { id: this.bot.id, is_bot: true, first_name: this.bot.first_name, username: this.bot.username },
      ...extra,
    };
  }

  private async call(method: string, p: Record<string, unknown>, req: http.IncomingMessage): Promise<unknown> {
    switch (method) {
      case 'getMe':
        return this.bot;
      case 'getUpdates':
        return this.getUpdates(p, req);
      case 'setWebhook':
        if (typeof p.url !== 'string' || p.url === '') throw new ApiError(400, 'Bad Request: bad webhook: An HTTPS URL must be provided for webhook');
        this.webhook = { url: p.url, ...(typeof p.secret_token === 'string' ? { secretToken: p.secret_token } : {}) };
        return true;
      case 'deleteWebhook':
        this.webhook = undefined;
        return true;
      case 'sendMessage': {
        const chatId = String(p.chat_id);
        const visible = this.checkText(p.text, p.parse_mode, 'message text');
        const msg = this.botMessage(chatId, { text: visible });
        this.sent.push({ method, chatId, messageId: msg.message_id, text: String(p.text), ...(p.parse_mode ? { parseMode: String(p.parse_mode) } : {}), ...(this.replyOf(p) !== undefined ? { replyTo: this.replyOf(p)! } : {}) });
        return msg;
      }
      case 'sendPhoto': {
        const chatId = String(p.chat_id);
        if (!(p.photo instanceof Uint8Array)) throw new ApiError(400, 'Bad Request: there is no photo in the request');
        // sendPhoto: at most 10 MB, width + height at most 10000, aspect ratio at most 20.
        if (p.photo.length > 10 * 1024 * 1024) throw new ApiError(400, 'Bad Request: PHOTO_SAVE_FILE_INVALID');
        const dims = imageSize(p.photo);
        if (dims && (dims.width + dims.height > 10_000 || Math.max(dims.width, dims.height) / Math.min(dims.width, dims.height) > 20)) {
          throw new ApiError(400, 'Bad Request: PHOTO_INVALID_DIMENSIONS');
        }
        const caption = p.caption !== undefined ? this.checkText(p.caption, p.parse_mode, 'caption') : undefined;
        const fileId = this.addFile(p.photo);
        const msg = this.botMessage(chatId, { photo: [{ file_id: fileId, file_unique_id: fileId, width: 1, height: 1, file_size: p.photo.length }], ...(caption ? { caption } : {}) });
        this.sent.push({ method, chatId, messageId: msg.message_id, photo: p.photo, ...(p.caption !== undefined ? { caption: String(p.caption) } : {}), ...(p.parse_mode ? { parseMode: String(p.parse_mode) } : {}), ...(this.replyOf(p) !== undefined ? { replyTo: this.replyOf(p)! } : {}) });
        return msg;
      }
      case 'sendDocument': {
        const chatId = String(p.chat_id);
        if (!(p.document instanceof Uint8Array)) throw new ApiError(400, 'Bad Request: there is no document in the request');
        const caption = p.caption !== undefined ? this.checkText(p.caption, p.parse_mode, 'caption') : undefined;
        const fileId = this.addFile(p.document);
        const msg = this.botMessage(chatId, { document: { file_id: fileId, file_unique_id: fileId, file_size: p.document.length }, ...(caption ? { caption } : {}) });
        this.sent.push({ method, chatId, messageId: msg.message_id, document: p.document, ...(p.caption !== undefined ? { caption: String(p.caption) } : {}), ...(p.parse_mode ? { parseMode: String(p.parse_mode) } : {}), ...(this.replyOf(p) !== undefined ? { replyTo: this.replyOf(p)! } : {}) });
        return msg;
      }
      case 'editMessageText': {
        const chatId = String(p.chat_id);
        const id = Number(p.message_id);
        const orig = this.sent.find((s) => s.chatId === chatId && s.messageId === id && s.method === 'sendMessage');
        if (!orig) throw new ApiError(400, 'Bad Request: message to edit not found');
        const visible = this.checkText(p.text, p.parse_mode, 'message text');
        this.sent.push({ method, chatId, messageId: id, text: String(p.text), editOf: id, ...(p.parse_mode ? { parseMode: String(p.parse_mode) } : {}) });
        return this.botMessage(chatId, { message_id: id, text: visible, edit_date: Math.floor(Date.now() / 1000) });
      }
      case 'deleteMessage': {
        // The Bot API's rules: 48 hours at most; the bot's own messages, or any as an admin with
        // can_delete_messages. Telegram answers every refusal the same way.
        const chatId = String(p.chat_id);
        if (p.message_id === undefined) throw new ApiError(400, 'Bad Request: message identifier is not specified');
        const id = Number(p.message_id);
        const m = this.chatMessages.get(chatId)?.get(id);
        if (!m || m.deleted) throw new ApiError(400, 'Bad Request: message to delete not found');
        if (Math.floor(Date.now() / 1000) - m.date > 48 * 3600 || (!m.fromBot && !this.botIsAdmin)) throw new ApiError(400, "Bad Request: message can't be deleted");
        m.deleted = true;
        this.deleted.push({ chatId, messageId: id });
        return true;
      }
      case 'getFile': {
        const f = this.files.get(String(p.file_id));
        if (!f) throw new ApiError(400, 'Bad Request: invalid file_id');
        return { file_id: p.file_id, file_unique_id: p.file_id, file_size: f.data.length, file_path: f.path };
      }
      default:
        throw new ApiError(404, 'Not Found');
    }
  }
}
