/**
 * A OneBot v11 client over one universal WebSocket (onebot-11 communication/ws.md and
 * ws-reverse.md): forward (we connect to the implementation) or reverse (it connects to us).
 * Actions carry a unique `echo` and are matched to their answers, at most `maxInFlight` at a
 * time, each with a timeout. Events are handed over in order, one at a time. A socket that says
 * nothing for `heartbeatTimeoutMs` is dropped and (forward) reconnected with backoff and jitter; a
 * refused token (401/403 at the upgrade, or NapCat's retcode 1403 then close) is an auth failure,
 * retried slowly. A library: no bridge types; its own logger interface and errors.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { BAD_REQUEST_RETCODES, OneBotActionError, OneBotAuthError, OneBotConnectionError, OneBotTimeoutError } from './errors.js';
import { listen } from '../../../util/listen.js';

export interface OneBotLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export type OneBotClientState = 'connecting' | 'open' | 'closed' | 'auth-failed';

/** An event frame (post_type …), as JSON. */
export type OneBotEvent = Record<string, unknown> & { post_type: string };

export interface OneBotClientOptions {
  mode: 'forward' | 'reverse';
  /** forward: the implementation's universal WebSocket URL. */
  url?: string;
  accessToken?: string;
  /** reverse: where we listen for the implementation. */
  reverse?: { bindAddress: string; port: number; path: string };
  /** No frame for this long: the socket is dead. Default 2.5 × the announced heartbeat interval, else 60 s. */
  heartbeatTimeoutMs?: number;
  /** Per-action answer timeout; default 30 s (NapCat answers a blocked send only after ~10 s). */
  actionTimeoutMs?: number;
  /** Actions in flight at once; default 8. */
  maxInFlight?: number;
  /** Reconnect backoff bounds; default 1 s … 60 s. */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** Wait before trying again after the token was refused; default 5 min. */
  authRetryMs?: number;
  /** Largest frame accepted; a bigger one closes the socket (1009). Default 32 MiB. */
  maxFrameBytes?: number;
  log: OneBotLogger;
  /** Every event, in order; the next waits until this resolves. */
  onEvent(e: OneBotEvent): Promise<void> | void;
  onState?(state: OneBotClientState, reason?: string): void;
  /** The socket opened (forward connected, or the implementation connected in reverse). */
  onOpen?(info: { selfId?: number }): void;
}

interface Pending {
  action: string;
  resolve(data: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
  socket: WebSocket;
}

const DEFAULT_SILENCE_MS = 60_000;

export class OneBotClient {
  private socket: WebSocket | undefined;
  private server: Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly waiting: Array<() => void> = [];
  private echoSeq = 0;
  private readonly echoPrefix = Math.random().toString(36).slice(2, 8);
  private stopped = true;
  private inputStopped = false;
  private attempts = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private silenceTimer: NodeJS.Timeout | undefined;
  private announcedIntervalMs: number | undefined;
  private events: Promise<void> = Promise.resolve();
  private st: OneBotClientState = 'closed';
  /** Set when the implementation said retcode 1403 on this socket: its close is an auth failure. */
  private authRefused = false;
  private selfId: number | undefined;

  constructor(private readonly opts: OneBotClientOptions) {}

  get state(): OneBotClientState {
    return this.st;
  }

  /** The bound address of the reverse listener (port 0 picks a free one). */
  address(): AddressInfo | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a : undefined;
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.inputStopped = false;
    if (this.opts.mode === 'forward') this.connect();
    else await this.listen();
  }

  /** Stops handing events over; those already handed over complete. Actions keep working. */
  async stopInput(): Promise<void> {
    this.inputStopped = true;
    await this.events;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.inputStopped = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.silenceTimer);
    this.socket?.close(1000, 'client stopped');
    this.socket?.terminate();
    this.failPending(new OneBotConnectionError('OneBot client stopped'));
    if (this.wss) await new Promise<void>((r) => this.wss!.close(() => r()));
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = undefined;
    this.wss = undefined;
    await this.events.catch(() => undefined);
    this.setState('closed', 'stopped');
  }

  /** Drops the current socket (forward: reconnects; reverse: waits for the implementation to connect again). */
  dropConnection(): void {
    this.socket?.terminate();
  }

  /** Calls an action; resolves with its `data`. Throws OneBot*Error. */
  async call<T = unknown>(action: string, params: Record<string, unknown> = {}): Promise<T> {
    await this.slot();
    try {
      const socket = this.socket;
      if (!socket || socket.readyState !== WebSocket.OPEN || this.st !== 'open') throw new OneBotConnectionError(`OneBot socket is not open (${this.st})`);
      const echo = `${this.echoPrefix}-${++this.echoSeq}`;
      const timeoutMs = this.opts.actionTimeoutMs ?? 30_000;
      return await new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.pending.delete(echo);
          reject(new OneBotTimeoutError(action, timeoutMs));
        }, timeoutMs);
        this.pending.set(echo, { action, resolve: resolve as (d: unknown) => void, reject, timer, socket });
        socket.send(JSON.stringify({ action, params, echo }), (err) => {
          if (!err) return;
          const p = this.pending.get(echo);
          if (!p) return;
          clearTimeout(p.timer);
          this.pending.delete(echo);
          reject(new OneBotConnectionError(`${action}: the socket failed while sending`, { cause: err }));
        });
      });
    } finally {
      this.release();
    }
  }

  // ---- in-flight bound ---------------------------------------------------------------------

  private inFlight = 0;

  private async slot(): Promise<void> {
    const max = this.opts.maxInFlight ?? 8;
    while (this.inFlight >= max) await new Promise<void>((r) => this.waiting.push(r));
    this.inFlight++;
  }

  private release(): void {
    this.inFlight--;
    this.waiting.shift()?.();
  }

  // ---- forward -----------------------------------------------------------------------------

  private connect(): void {
    if (this.stopped) return;
    this.setState('connecting');
    const headers: Record<string, string> = {};
    if (this.opts.accessToken) headers.Authorization = `Bearer ${this.opts.accessToken}`;
    const ws = new WebSocket(this.opts.url!, { headers, maxPayload: this.opts.maxFrameBytes ?? 32 * 1024 * 1024, handshakeTimeout: 15_000 });
    let refused: string | undefined;
    ws.on('unexpected-response', (_req, res) => {
      const code = res.statusCode ?? 0;
      refused = code === 401 || code === 403 ? `the implementation refused the access token (HTTP ${code})` : undefined;
      if (!refused) this.opts.log.warn({ status: code }, 'OneBot WebSocket upgrade refused');
      res.resume();
      ws.terminate();
    });
    ws.on('error', (err) => this.socketError(err));
    ws.on('open', () => this.adopt(ws, undefined));
    ws.on('close', (code, reason) => {
      if (this.socket === ws) this.dropped(ws, code, reason.toString());
      else if (!this.stopped && this.socket === undefined) this.scheduleReconnect(refused ?? (this.authRefused ? 'the implementation refused the access token (retcode 1403)' : undefined), `connect failed (${code})`);
    });
  }

  private scheduleReconnect(authReason: string | undefined, why: string): void {
    if (this.stopped || this.opts.mode !== 'forward') return;
    clearTimeout(this.reconnectTimer);
    let delay: number;
    if (authReason) {
      this.setState('auth-failed', authReason);
      this.opts.log.error({ retryInMs: this.opts.authRetryMs ?? 300_000 }, `OneBot: ${authReason}; check qq.onebot.accessToken`);
      delay = this.opts.authRetryMs ?? 300_000;
    } else {
      const min = this.opts.backoffMinMs ?? 1000;
      const max = this.opts.backoffMaxMs ?? 60_000;
      const base = Math.min(max, min * 2 ** Math.min(this.attempts, 16));
      delay = Math.round(base / 2 + Math.random() * (base / 2));
      this.setState('connecting', why);
    }
    this.attempts++;
    this.authRefused = false;
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  // ---- reverse -----------------------------------------------------------------------------

  private async listen(): Promise<void> {
    const r = this.opts.reverse!;
    const server = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('OneBot reverse WebSocket endpoint: upgrade required\n');
    });
    const wss = new WebSocketServer({ noServer: true, maxPayload: this.opts.maxFrameBytes ?? 32 * 1024 * 1024 });
    server.on('upgrade', (req, sock, head) => {
      const refuse = (status: number, text: string) => {
        sock.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      };
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname !== r.path) return refuse(404, 'Not Found');
      const auth = this.checkToken(req, url);
      if (auth === 'missing') {
        this.opts.log.warn({ remote: req.socket.remoteAddress }, 'OneBot reverse connection without a token refused (401)');
        return refuse(401, 'Unauthorized');
      }
      if (auth === 'wrong') {
        this.opts.log.error({ remote: req.socket.remoteAddress }, 'OneBot reverse connection with a wrong token refused (403); check the implementation\'s token');
        return refuse(403, 'Forbidden');
      }
      const role = String(req.headers['x-client-role'] ?? 'Universal');
      if (role.toLowerCase() !== 'universal') {
        this.opts.log.warn({ role }, 'OneBot reverse connection refused: only the Universal role is supported (set the implementation to one universal socket)');
        return refuse(400, 'Bad Request');
      }
      wss.handleUpgrade(req, sock, head, (ws) => {
        const self = Number(req.headers['x-self-id']);
        this.adopt(ws, Number.isSafeInteger(self) && self > 0 ? self : undefined);
      });
    });
    await listen(server, r.port, r.bindAddress);
    this.server = server;
    this.wss = wss;
    this.setState('connecting', 'waiting for the implementation to connect');
  }

  private checkToken(req: IncomingMessage, url: URL): 'ok' | 'missing' | 'wrong' {
    const want = this.opts.accessToken;
    if (!want) return 'ok';
    const header = req.headers.authorization;
    const given = header ? header.replace(/^(Bearer|Token)\s+/i, '') : url.searchParams.get('access_token') ?? undefined;
    if (!given) return 'missing';
    return sameSecret(given, want) ? 'ok' : 'wrong';
  }

  // ---- the socket --------------------------------------------------------------------------

  /** A socket is open: it becomes the one socket; an older one (reverse: same self id reconnecting) is closed. */
  private adopt(ws: WebSocket, selfId: number | undefined): void {
    if (this.stopped) {
      ws.close(1001, 'client stopped');
      return;
    }
    const old = this.socket;
    if (old && old !== ws) {
      this.opts.log.info({ selfId }, 'a new OneBot connection replaces the previous one');
      this.socket = undefined;
      this.failPending(new OneBotConnectionError('the OneBot connection was replaced'), old);
      old.close(1000, 'replaced by a new connection');
    }
    this.socket = ws;
    this.authRefused = false;
    if (selfId !== undefined) this.selfId = selfId;
    if (this.opts.mode === 'reverse') {
      ws.on('close', (code, reason) => {
        if (this.socket === ws) this.dropped(ws, code, reason.toString());
      });
      ws.on('error', (err) => this.socketError(err));
    }
    ws.on('message', (data, isBinary) => this.onFrame(ws, data, isBinary));
    this.armSilence(ws);
    this.attempts = 0;
    this.setState('open');
    this.opts.onOpen?.(this.selfId !== undefined ? { selfId: this.selfId } : {});
  }

  private socketError(err: Error & { code?: string }): void {
    if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.opts.log.warn({ maxFrameBytes: this.opts.maxFrameBytes ?? 32 * 1024 * 1024 }, 'the OneBot implementation sent a frame over the size limit; dropping the socket (catch-up recovers what follows)');
    else this.opts.log.debug({ err: err.message }, 'OneBot socket error');
  }

  private dropped(ws: WebSocket, code: number, reason: string): void {
    this.socket = undefined;
    clearTimeout(this.silenceTimer);
    this.failPending(new OneBotConnectionError(`the OneBot socket closed (${code}${reason ? ` ${reason}` : ''}) with the action in flight`), ws);
    if (this.stopped) return;
    const auth = this.authRefused ? 'the implementation refused the access token (retcode 1403)' : undefined;
    if (!auth && code !== 1009) this.opts.log.warn({ code, reason }, 'the OneBot socket closed');
    if (this.opts.mode === 'forward') this.scheduleReconnect(auth, `socket closed (${code})`);
    else if (auth) this.setState('auth-failed', auth);
    else this.setState('connecting', `socket closed (${code}); waiting for the implementation to connect again`);
  }

  private failPending(err: Error, only?: WebSocket): void {
    for (const [echo, p] of this.pending) {
      if (only && p.socket !== only) continue;
      clearTimeout(p.timer);
      this.pending.delete(echo);
      p.reject(err);
    }
  }

  private silenceMs(): number {
    return this.opts.heartbeatTimeoutMs ?? (this.announcedIntervalMs ? Math.round(this.announcedIntervalMs * 2.5) : DEFAULT_SILENCE_MS);
  }

  private armSilence(ws: WebSocket): void {
    clearTimeout(this.silenceTimer);
    const ms = this.silenceMs();
    this.silenceTimer = setTimeout(() => {
      if (this.socket !== ws) return;
      this.opts.log.warn({ silentForMs: ms }, 'the OneBot socket has been silent too long (no heartbeat, no answer); dropping it');
      ws.terminate();
    }, ms);
    this.silenceTimer.unref?.();
  }

  private onFrame(ws: WebSocket, data: RawData, isBinary: boolean): void {
    if (this.socket !== ws) return;
    this.armSilence(ws);
    if (isBinary) {
      this.opts.log.warn({}, 'a binary OneBot frame was ignored (OneBot frames are JSON text)');
      return;
    }
    const text = data.toString();
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      this.opts.log.warn({ bytes: text.length, start: text.slice(0, 80) }, 'a OneBot frame that is not JSON was ignored');
      return;
    }
    if (!frame || typeof frame !== 'object' || Array.isArray(frame)) {
      this.opts.log.warn({ start: text.slice(0, 80) }, 'a OneBot frame that is not a JSON object was ignored');
      return;
    }
    const f = frame as Record<string, unknown>;
    if (typeof f.post_type === 'string') return this.onEventFrame(f as OneBotEvent);
    if ('status' in f || 'retcode' in f) return this.onAnswer(f);
    this.opts.log.warn({ keys: Object.keys(f).slice(0, 10) }, 'a OneBot frame that is neither an event nor an answer was ignored');
  }

  private onAnswer(f: Record<string, unknown>): void {
    const echo = typeof f.echo === 'string' ? f.echo : f.echo !== undefined && f.echo !== null ? String(f.echo) : undefined;
    const retcode = typeof f.retcode === 'number' ? f.retcode : undefined;
    const p = echo !== undefined ? this.pending.get(echo) : undefined;
    if (!p) {
      // NapCat refuses a wrong token this way: accept, one failed answer with retcode 1403, close.
      if (retcode === 1403 || retcode === 1401) {
        this.authRefused = true;
        this.opts.log.error({ retcode }, 'the OneBot implementation refused the access token');
      } else this.opts.log.warn({ echo, retcode }, 'a OneBot answer to no pending action was ignored');
      return;
    }
    clearTimeout(p.timer);
    this.pending.delete(echo!);
    const status = f.status;
    if (status === 'ok' || status === 'async' || (status === undefined && retcode === 0)) return p.resolve(f.data);
    const detail = [f.message, f.wording, f.msg].find((x) => typeof x === 'string' && x !== '') as string | undefined;
    if (retcode === 1403 || retcode === 1401) {
      this.authRefused = true;
      return p.reject(new OneBotAuthError(`${p.action}: the implementation refused the access token (retcode ${retcode})`));
    }
    const bad = retcode !== undefined && BAD_REQUEST_RETCODES.has(retcode);
    p.reject(new OneBotActionError(p.action, retcode, (detail ?? '').slice(0, 300), !bad));
  }

  private onEventFrame(e: OneBotEvent): void {
    if (e.post_type === 'meta_event' && e.meta_event_type === 'heartbeat') {
      const interval = typeof e.interval === 'number' && e.interval > 0 ? e.interval : undefined;
      if (interval !== undefined && interval !== this.announcedIntervalMs) {
        this.announcedIntervalMs = interval;
        if (this.socket) this.armSilence(this.socket);
      }
    }
    if (typeof e.self_id === 'number') this.selfId = e.self_id;
    if (this.inputStopped) return;
    this.events = this.events.then(async () => {
      if (this.inputStopped) return;
      try {
        await this.opts.onEvent(e);
      } catch (err) {
        this.opts.log.error({ err: (err as Error).message, post_type: e.post_type }, 'a OneBot event could not be handled');
      }
    });
  }

  private setState(s: OneBotClientState, reason?: string): void {
    if (s === this.st && s !== 'connecting') return;
    const changed = s !== this.st;
    this.st = s;
    if (changed) this.opts.onState?.(s, reason);
  }
}

/** Compares in constant time (hashes first, so lengths do not show either). */
function sameSecret(given: string, want: string): boolean {
  const h = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(given), h(want));
}
