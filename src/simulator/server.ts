/**
 * The HTTP front of the simulator: one port for every WebQQ host. A client reaches it through its
 * endpoint override (real path + query, `Host: <real host>`, `X-Forwarded-Proto: <real scheme>`),
 * so dispatch is on (Host, path). Unknown hosts/paths are 404 and a violation.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { SimState } from './sessions.js';

export type Handler = (ctx: Ctx) => void | Promise<void>;
/** host → path → handler */
export type Routes = Map<string, Map<string, Handler>>;

export function route(routes: Routes, hosts: string | string[], path: string, h: Handler): void {
  for (const host of Array.isArray(hosts) ? hosts : [hosts]) {
    let m = routes.get(host);
    if (!m) routes.set(host, (m = new Map()));
    m.set(path, h);
  }
}

const MAX_BODY = 8 * 1024 * 1024;

export class Ctx {
  readonly host: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly scheme: 'http' | 'https';
  readonly method: string;
  private cookies: Map<string, string>;
  private formCache: URLSearchParams | null = null;
  private setCookies: string[] = [];

  constructor(
    readonly state: SimState,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly body: Buffer,
  ) {
    this.host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    const u = new URL(req.url ?? '/', 'http://x');
    this.path = u.pathname;
    this.query = u.searchParams;
    this.scheme = req.headers['x-forwarded-proto'] === 'https' ? 'https' : 'http';
    this.method = req.method ?? 'GET';
    this.cookies = parseCookieHeader(req.headers.cookie ?? '');
  }

  header(name: string): string {
    const v = this.req.headers[name.toLowerCase()];
    return Array.isArray(v) ? v.join(', ') : (v ?? '');
  }
  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }
  /** The url-encoded form of a POST (empty for GET). */
  form(): URLSearchParams {
    if (!this.formCache) {
      const ct = this.header('content-type');
      this.formCache =
        this.method === 'POST' && /application\/x-www-form-urlencoded/i.test(ct)
          ? new URLSearchParams(this.body.toString('utf8'))
          : new URLSearchParams();
    }
    return this.formCache;
  }
  /** Query parameter, or form field on POST. */
  param(name: string): string | null {
    return this.query.get(name) ?? this.form().get(name);
  }
  violation(rule: string, detail: string): void {
    this.state.violation(this.host, this.path, rule, detail);
  }
  /** Queues a Set-Cookie with the real server's Domain and Path. */
  setCookie(name: string, value: string, domain: string, opts: { httpOnly?: boolean; expires?: Date; path?: string } = {}): void {
    let c = `${name}=${value}; Path=${opts.path ?? '/'}; Domain=${domain}`;
    if (opts.expires) c += `; Expires=${opts.expires.toUTCString()}`;
    if (opts.httpOnly) c += '; HttpOnly';
    this.setCookies.push(c);
  }
  get gone(): boolean {
    return this.res.writableEnded || this.res.destroyed || this.req.socket.destroyed;
  }
  send(status: number, body: string | Buffer, contentType = 'text/plain; charset=utf-8', extra: Record<string, string> = {}): void {
    if (this.res.writableEnded || this.res.destroyed) return;
    const headers: Record<string, string | string[]> = { 'Content-Type': contentType, ...extra };
    if (this.setCookies.length) headers['Set-Cookie'] = this.setCookies;
    const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    headers['Content-Length'] = String(buf.length);
    this.res.writeHead(status, headers);
    this.res.end(buf);
  }
  /** JSON APIs answered text/plain like the real servers; clients parse the body themselves. */
  json(obj: unknown): void {
    this.send(200, JSON.stringify(obj));
  }
  js(text: string): void {
    this.send(200, text, 'application/x-javascript; charset=utf-8');
  }
  redirect(location: string): void {
    this.send(302, '', 'text/html; charset=utf-8', { Location: location });
  }
}

export function parseCookieHeader(h: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of h.split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const k = part.slice(0, i).trim();
    if (k && !m.has(k)) m.set(k, part.slice(i + 1).trim());
  }
  return m;
}

export interface WebqqServer {
  server: Server;
  /** Refuse connections (socket destroyed on accept, open ones killed) for `ms`. */
  down(ms: number): void;
  close(): Promise<void>;
}

export function createWebqqServer(state: SimState, routes: Routes): WebqqServer {
  const sockets = new Set<Socket>();
  let downUntil = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        res.writeHead(413).end();
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (res.writableEnded) return;
      const ctx = new Ctx(state, req, res, Buffer.concat(chunks));
      const h = routes.get(ctx.host)?.get(ctx.path);
      state.requestCounts.set(ctx.path, (state.requestCounts.get(ctx.path) ?? 0) + 1);
      if (!h) {
        ctx.violation(routes.has(ctx.host) ? 'path' : 'host', `no such endpoint: ${ctx.method} ${ctx.host}${ctx.path}`);
        ctx.send(404, '<html><body><h1>404 Not Found</h1></body></html>', 'text/html; charset=utf-8');
        return;
      }
      Promise.resolve()
        .then(() => h(ctx))
        .catch((e: unknown) => {
          state.cfg.log.error({ err: e, host: ctx.host, path: ctx.path }, 'webqq simulator: handler failed');
          ctx.send(500, 'internal error');
        });
    });
  });
  server.on('connection', (sock: Socket) => {
    if (Date.now() < downUntil) {
      sock.destroy();
      return;
    }
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
  });
  return {
    server,
    down(ms: number) {
      downUntil = Date.now() + ms;
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
