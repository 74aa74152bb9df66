/**
 * The simulator on the wire, as the spec's communication guide says: `POST /api/:api` (401 / 404 /
 * 415 by HTTP status, everything else 200 with the envelope), `GET /event` as WebSocket when the
 * request upgrades, else SSE, and WebHook POSTs to configured URLs. Plus `/res/:token`, the temp
 * URLs of resources. Faults (drop, stall, failing calls) come from control.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { z } from 'zod';
import { MILKY_APIS, HISTORY_LIMIT_MAX, fileUris, isMilkyEndpoint } from '../protocol.js';
import { ApiFailure, handlers } from './api.js';
import type { Json, MilkySimState } from './state.js';

/** QQ's send result for a risk-controlled account, passed through by Lagrange.Milky as the retcode. */
export const REFUSED_RETCODE = 46;
export const REFUSED_MESSAGE = 'send message failed: result 46';

export interface Sink {
  kind: 'websocket' | 'sse';
  send(text: string): void;
  close(): void;
}

export class MilkyWire {
  readonly server: Server;
  readonly sinks = new Set<Sink>();
  private readonly wss = new WebSocketServer({ noServer: true, autoPong: false });
  private readonly api: Record<string, (p: Json) => Json>;
  /** While true, events are lost and pings unanswered: a half-dead connection. */
  stalled = false;
  webhooks: string[] = [];
  /** Every event pushed (for the control API's sake: what a perfect client would have seen). */
  pushed = 0;
  /** Calls done at once but answered late (a slow implementation); the connection may die meanwhile. */
  slow: { endpoint: string; ms: number; remaining: number } | undefined;
  /** While restarting: the port is closed, every connection cut. */
  down = false;

  constructor(private readonly state: MilkySimState, private readonly accessToken: string | undefined) {
    this.api = handlers(state, (event_type, data) => this.emit(event_type, data));
    this.server = createServer((req, res) => void this.http(req, res));
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
  }

  private authorized(req: IncomingMessage, allowQuery: boolean): boolean {
    if (!this.accessToken) return true;
    if (req.headers.authorization === `Bearer ${this.accessToken}`) return true;
    return allowQuery && new URL(req.url ?? '/', 'http://x').searchParams.get('access_token') === this.accessToken;
  }

  /** An event as the spec's Event struct, to every stream and webhook. */
  emit(event_type: string, data: Json): void {
    this.pushed++;
    const text = JSON.stringify({ time: Math.floor(Date.now() / 1000), self_id: this.state.self.qq, event_type, data });
    this.pushRaw(text);
  }

  pushRaw(text: string): void {
    if (this.stalled) return;
    for (const s of this.sinks) s.send(text);
    for (const url of this.webhooks) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (this.accessToken) headers.authorization = `Bearer ${this.accessToken}`;
      fetch(url, { method: 'POST', headers, body: text, signal: AbortSignal.timeout(5000) }).catch(() => {});
    }
  }

  dropStreams(): number {
    const n = this.sinks.size;
    for (const s of [...this.sinks]) s.close();
    return n;
  }

  private async http(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const api = /^\/api\/([^/]+)$/.exec(url.pathname);
    if (api) return this.apiCall(api[1]!, req, res);
    if (url.pathname === '/event' && req.method === 'GET') return this.sse(req, res);
    const r = /^\/res\/([0-9a-f]+)$/.exec(url.pathname);
    if (r && req.method === 'GET') {
      const got = this.state.fetchTemp(r[1]!);
      if (!got) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('temp URL expired or unknown');
      return void res.writeHead(200, { 'content-type': got.mime, 'content-length': got.data.length }).end(got.data);
    }
    res.writeHead(404).end();
  }

  private async apiCall(endpoint: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readAll(req);
    const answer = (status: number, json?: unknown) => {
      if (json === undefined) return void res.writeHead(status).end();
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
    };
    const failed = (retcode: number, message: string) => answer(200, { status: 'failed', retcode, message });
    if (req.method !== 'POST') return answer(405);
    if (!this.authorized(req, false)) return answer(401);
    if (!isMilkyEndpoint(endpoint)) return answer(404);
    const ct = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (ct !== 'application/json') {
      this.state.violations.push({ endpoint, kind: 'content_type', detail: `Content-Type ${JSON.stringify(ct)}` });
      return answer(415);
    }
    let params: unknown;
    try {
      params = JSON.parse(body.toString('utf8'));
    } catch {
      this.state.violations.push({ endpoint, kind: 'not_json', detail: body.toString('utf8').slice(0, 80) });
      return failed(-400, 'request body is not JSON (send {} when there are no parameters)');
    }
    const schema = MILKY_APIS[endpoint].requestSchema as z.ZodType | null;
    let parsed: Json = {};
    if (schema) {
      const r = schema.safeParse(params);
      if (!r.success) {
        const detail = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
        this.state.violations.push({ endpoint, kind: 'schema', detail });
        return failed(-400, detail);
      }
      parsed = r.data as Json;
    } else if (typeof params !== 'object' || params === null || Array.isArray(params)) {
      this.state.violations.push({ endpoint, kind: 'schema', detail: 'parameters must be a JSON object ({})' });
      return failed(-400, 'parameters must be a JSON object');
    }
    if (endpoint === 'get_history_messages') {
      const limit = (params as Json).limit;
      if (typeof limit === 'number' && (limit < 1 || limit > HISTORY_LIMIT_MAX)) {
        this.state.violations.push({ endpoint, kind: 'limit_out_of_range', detail: `limit ${limit}` });
        return failed(-400, `limit must be 1..${HISTORY_LIMIT_MAX}`);
      }
    }
    const files = fileUris((params as Json).message);
    if (files.length) {
      this.state.violations.push({ endpoint, kind: 'file_uri', detail: files.join(', ') });
      return failed(-400, 'file:// URIs name files on the bridge\'s machine, not ours');
    }
    const isSend = endpoint === 'send_group_message';
    const fault = this.state.takeFault(endpoint);
    if (fault) {
      if (isSend) this.state.attempts.push({ at: Date.now(), outcome: 'failed' });
      return failed(fault.retcode, `injected failure ${fault.retcode}`);
    }
    if (this.state.offline) {
      if (isSend) this.state.attempts.push({ at: Date.now(), outcome: 'offline' });
      return failed(-403, '未处于登录状态');
    }
    if (isSend && Date.now() < this.state.refusingUntil) {
      // A blocked account as Lagrange.Milky answers it: QQ's send result (46, risk control) as the
      // retcode at once (MilkyHttpApiService.cs: OperationException → ApiFailedResult(Result, ErrMsg)).
      // Nothing reaches the group.
      this.state.attempts.push({ at: Date.now(), outcome: 'refused' });
      return failed(REFUSED_RETCODE, REFUSED_MESSAGE);
    }
    const h = this.api[endpoint];
    if (!h) return failed(-501, `${endpoint} is not implemented by the simulator`);
    try {
      const data = h(parsed);
      const slow = this.slow;
      if (slow && slow.remaining > 0 && (slow.endpoint === '*' || slow.endpoint === endpoint)) {
        slow.remaining--;
        await new Promise((r) => setTimeout(r, slow.ms));
      }
      if (res.destroyed) return; // the client gave up or the implementation restarted: the answer is lost
      answer(200, { status: 'ok', retcode: 0, data });
    } catch (e) {
      if (e instanceof ApiFailure) return failed(e.retcode, e.message);
      failed(-500, (e as Error).message);
    }
  }

  private sse(req: IncomingMessage, res: ServerResponse): void {
    if (!this.authorized(req, true)) return void res.writeHead(401).end();
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.flushHeaders();
    const sink: Sink = {
      kind: 'sse',
      send: (text) => res.write(`event: milky_event\n${text.split('\n').map((l) => `data: ${l}`).join('\n')}\n\n`),
      close: () => {
        this.sinks.delete(sink);
        res.socket?.destroy();
      },
    };
    this.sinks.add(sink);
    req.on('close', () => this.sinks.delete(sink));
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/event') return void socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    if (!this.authorized(req, true)) return void socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const sink: Sink = {
        kind: 'websocket',
        send: (text) => ws.send(text),
        close: () => {
          this.sinks.delete(sink);
          ws.terminate();
        },
      };
      this.sinks.add(sink);
      ws.on('ping', (data) => {
        if (!this.stalled) ws.pong(data);
      });
      ws.on('message', () => {}); // the spec defines no client → server frames
      ws.on('close', () => this.sinks.delete(sink));
      ws.on('error', () => this.sinks.delete(sink));
    });
  }

  /**
   * The implementation restarts: its port closes and every connection (event streams, calls in
   * flight) is cut; after `downMs` it listens on the same port again. What QQ holds (history,
   * seqs) is QQ's, not the implementation's: it survives.
   */
  async restart(downMs: number): Promise<void> {
    const a = this.server.address();
    if (!a || typeof a === 'string') throw new Error('not listening');
    this.down = true;
    this.dropStreams();
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeAllConnections();
    await closed;
    await new Promise((r) => setTimeout(r, downMs));
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(a.port, a.address, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.down = false;
  }

  async close(): Promise<void> {
    this.dropStreams();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
