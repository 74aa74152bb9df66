/**
 * Milky's event half: a WebSocket or SSE stream on `{url}/event` (token in the header), or a
 * webhook listener the implementation POSTs to. A dead stream is noticed (WebSocket: ping/pong;
 * SSE and webhook: a periodic cheap API call) and reconnected with backoff and jitter; a refused
 * token is said as such and retried slowly. Hostile frames are reported once each and skipped.
 */
import { createServer, type IncomingMessage as HttpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import WebSocket from 'ws';
import { Event as EventSchema } from '@saltify/milky-types';
import type { z } from 'zod';
import { backoffDelay } from '../../../core/backoff.js';
import { isKnownEventType, unknownSegments } from './protocol.js';
import { MAX_SEGMENTS } from './api.js';
import { listen } from '../../../util/listen.js';

export type MilkyEvent = z.output<typeof EventSchema>;
export type MilkyTransport = 'websocket' | 'sse' | 'webhook';
export type StreamState = 'connecting' | 'online' | 'reconnecting' | 'unauthorized' | 'stopped';

/** The subset of a pino logger the library writes to. */
export interface MilkyLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface MilkyEventStreamOptions {
  url: string;
  accessToken?: string;
  transport: MilkyTransport;
  /** With `webhook`: where to listen. */
  webhook?: { bindAddress: string; port: number; path: string };
  /** Each valid event, in arrival order; the next waits for the promise. */
  onEvent(e: MilkyEvent): void | Promise<void>;
  onState?(s: StreamState, detail?: string): void;
  /** A cheap API call proving the implementation is alive (SSE/webhook liveness). */
  probe?(): Promise<void>;
  log?: MilkyLog;
  /** WebSocket ping interval; a stream with no pong or frame for 2 intervals is dead. */
  pingIntervalMs?: number;
  /** SSE/webhook: how often `probe` runs. */
  probeIntervalMs?: number;
  backoff?: { minMs: number; maxMs: number };
  /** Wait after a refused token (slow: a human must fix the config). */
  unauthorizedRetryMs?: number;
}

const silent: MilkyLog = { info() {}, warn() {}, error() {} };


export class MilkyEventStream {
  private state: StreamState = 'stopped';
  private stopped = true;
  private attempt = 0;
  private ws: WebSocket | undefined;
  private sse: AbortController | undefined;
  private hook: Server | undefined;
  private timer: NodeJS.Timeout | undefined;
  private liveness: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private readonly log: MilkyLog;
  /** Counts, for metrics and tests. */
  readonly stats = { events: 0, hostile: 0, reconnects: 0 };

  constructor(private readonly opts: MilkyEventStreamOptions) {
    this.log = opts.log ?? silent;
  }

  currentState(): StreamState {
    return this.state;
  }

  /** The webhook listener's bound port (tests listen on port 0). */
  webhookPort(): number | undefined {
    return (this.hook?.address() as AddressInfo | null)?.port;
  }

  async start(): Promise<void> {
    this.stopped = false;
    if (this.opts.transport === 'webhook') await this.listenWebhook();
    else this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.liveness);
    this.ws?.terminate();
    this.sse?.abort();
    if (this.hook) await new Promise<void>((r) => this.hook!.close(() => r()));
    this.hook?.closeAllConnections();
    await this.chain;
    this.setState('stopped');
  }

  /** Ends the current stream as if it died (tests, or a caller that knows better). */
  drop(reason: string): void {
    this.lost(reason);
  }

  private setState(s: StreamState, detail?: string): void {
    if (s === this.state) return;
    this.state = s;
    this.opts.onState?.(s, detail);
  }

  private headers(): Record<string, string> {
    return this.opts.accessToken ? { authorization: `Bearer ${this.opts.accessToken}` } : {};
  }

  private eventUrl(): string {
    return `${this.opts.url.replace(/\/+$/, '')}/event`;
  }

  private connect(): void {
    if (this.stopped) return;
    this.setState(this.attempt === 0 ? 'connecting' : 'reconnecting');
    if (this.opts.transport === 'websocket') this.connectWs();
    else if (this.opts.transport === 'sse') void this.connectSse();
    else {
      // The webhook listener stays up: "reconnecting" it only tells the caller to resync.
      this.connected();
      this.startProbe();
    }
  }

  private connected(): void {
    this.attempt = 0;
    this.setState('online');
  }

  /** The stream ended or was judged dead: close what is left and come back after a backoff. */
  private lost(reason: string, unauthorized = false): void {
    if (this.stopped) return;
    clearInterval(this.liveness);
    const ws = this.ws;
    this.ws = undefined;
    ws?.removeAllListeners();
    ws?.on('error', () => {});
    ws?.terminate();
    this.sse?.abort();
    this.sse = undefined;
    if (this.timer) return; // already scheduled
    let delay: number;
    if (unauthorized) {
      delay = this.opts.unauthorizedRetryMs ?? 60_000;
      this.log.error({ transport: this.opts.transport, retryInMs: delay }, 'Milky refused the access token (HTTP 401): check qq.milky.accessToken');
      this.setState('unauthorized', reason);
    } else {
      delay = backoffDelay(this.attempt++, this.opts.backoff ?? { minMs: 1000, maxMs: 60_000 });
      this.log.warn({ transport: this.opts.transport, reason, retryInMs: delay }, 'Milky event stream lost; reconnecting');
      this.setState('reconnecting', reason);
    }
    this.stats.reconnects++;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connect();
    }, delay);
  }

  private connectWs(): void {
    const ws = new WebSocket(this.eventUrl().replace(/^http/i, 'ws'), { headers: this.headers() });
    this.ws = ws;
    const interval = this.opts.pingIntervalMs ?? 15_000;
    let lastHeard = Date.now();
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      this.lost(`HTTP ${res.statusCode} at the upgrade`, res.statusCode === 401);
    });
    ws.on('open', () => {
      lastHeard = Date.now();
      this.connected();
      this.liveness = setInterval(() => {
        if (Date.now() - lastHeard > 2 * interval) return this.lost(`no pong or frame for ${Date.now() - lastHeard} ms`);
        ws.ping();
      }, interval);
    });
    ws.on('pong', () => (lastHeard = Date.now()));
    ws.on('message', (data, isBinary) => {
      lastHeard = Date.now();
      this.frame(isBinary ? `<binary ${(data as Buffer).length} bytes>` : String(data));
    });
    ws.on('close', (code) => this.lost(`closed (${code})`));
    ws.on('error', (e) => this.lost(e.message));
  }

  private async connectSse(): Promise<void> {
    const ac = new AbortController();
    this.sse = ac;
    let res: Response;
    try {
      res = await fetch(this.eventUrl(), { headers: { ...this.headers(), accept: 'text/event-stream' }, signal: ac.signal });
    } catch (e) {
      if (this.sse === ac) this.lost((e as Error).message);
      return;
    }
    if (res.status !== 200 || !res.body) {
      await res.body?.cancel().catch(() => {});
      return this.lost(`HTTP ${res.status}`, res.status === 401);
    }
    this.connected();
    this.startProbe();
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true }).replace(/\r\n?/g, '\n');
        let cut: number;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).replace(/^ /, ''));
          if (data.length) this.frame(data.join('\n'));
        }
      }
      if (this.sse === ac) this.lost('stream ended');
    } catch (e) {
      if (this.sse === ac) this.lost((e as Error).message);
    }
  }

  /** SSE and webhook have no pings: a failing cheap API call says the implementation is gone. */
  private startProbe(): void {
    const probe = this.opts.probe;
    if (!probe) return;
    clearInterval(this.liveness);
    this.liveness = setInterval(() => {
      probe().then(
        () => {
          if (this.opts.transport === 'webhook') this.connected();
        },
        (e: unknown) => {
          const unauthorized = (e as { kind?: string }).kind === 'unauthorized';
          if (this.opts.transport === 'webhook') this.setState(unauthorized ? 'unauthorized' : 'reconnecting', (e as Error).message);
          else this.lost(`probe failed: ${(e as Error).message}`, unauthorized);
        },
      );
    }, this.opts.probeIntervalMs ?? 30_000);
  }

  private async listenWebhook(): Promise<void> {
    const w = this.opts.webhook;
    if (!w) throw new Error('webhook transport needs webhook.{bindAddress, port, path}');
    const expected = this.opts.accessToken ? Buffer.from(`Bearer ${this.opts.accessToken}`) : undefined;
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname !== w.path) return void res.writeHead(404).end();
      if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST' }).end();
      if (expected) {
        const got = Buffer.from(req.headers.authorization ?? '');
        if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
          this.log.warn({ remote: req.socket.remoteAddress }, 'Milky webhook request without the configured token refused (401)');
          return void res.writeHead(401).end();
        }
      }
      readBody(req, 16 * 1024 * 1024).then(
        async (body) => {
          this.frame(body);
          await this.chain;
          res.writeHead(204).end();
        },
        () => res.writeHead(413).end(),
      );
    });
    this.hook = server;
    await listen(server, w.port, w.bindAddress);
    this.connected();
    this.startProbe();
  }

  /** One frame off the wire: JSON, a known event, valid by the schema, or one clear log line. */
  private frame(text: string): void {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return this.hostile('frame is not JSON', text);
    }
    const type = (raw as { event_type?: unknown } | null)?.event_type;
    if (!isKnownEventType(type)) return this.hostile(`unknown event type ${JSON.stringify(type)}`, text);
    if (type === 'message_receive') {
      const data = (raw as { data?: { segments?: unknown } }).data;
      // A QQ message has at most a few hundred segments; a huge array is cut before the schema
      // check so one hostile frame cannot stall the stream (pings, later events) for seconds.
      if (data && Array.isArray(data.segments) && data.segments.length > MAX_SEGMENTS) {
        this.stats.hostile++;
        this.log.warn({ segments: data.segments.length, kept: MAX_SEGMENTS }, 'Milky message with too many segments; only the first ones are relayed');
        data.segments = data.segments.slice(0, MAX_SEGMENTS);
      }
      const unknown = unknownSegments(data?.segments);
      if (unknown.length) {
        this.stats.hostile++;
        this.log.warn({ types: unknown }, 'Milky message has segments of unknown type; they are shown as [unknown]');
      }
    }
    const r = EventSchema.safeParse(raw);
    if (!r.success) return this.hostile(`${String(type)} does not match the protocol: ${r.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, text);
    this.stats.events++;
    const ev = r.data;
    this.chain = this.chain.then(async () => {
      try {
        await this.opts.onEvent(ev);
      } catch (e) {
        this.log.error({ err: (e as Error).message, event_type: ev.event_type }, 'handling a Milky event failed');
      }
    });
  }

  private hostile(reason: string, text: string): void {
    this.stats.hostile++;
    this.log.warn({ reason, sample: text.slice(0, 120) }, 'Milky event frame skipped');
  }
}

function readBody(req: HttpRequest, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(new Error('too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
