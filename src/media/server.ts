import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import type { MediaCache } from './cache.js';
import { contentTypeFor, parseMediaId } from './types.js';

export interface MediaServerOptions {
  cache: MediaCache;
  bindAddress: string;
  port: number;
  log: Logger;
}

/**
 * The only URL shape the server answers. The raw request target is matched before any decoding,
 * so an encoded dot or slash can never become a path segment: anything else is 400 or 404.
 */
const MEDIA_PATH = /^\/media\/([^/]+)$/;
/** Characters that have no business in a media URL and signal a traversal or smuggling attempt. */
const SUSPICIOUS = /%|\\|\0|\.\.|\/\//;

export type RequestVerdict =
  | { status: 200; id: string }
  | { status: 400 | 404 | 405; reason: string };

/** Decides what a request may get, from its method and raw target alone (pure, for tests and clarity). */
export function judgeRequest(method: string | undefined, rawUrl: string | undefined): RequestVerdict {
  if (method !== 'GET' && method !== 'HEAD') return { status: 405, reason: 'method not allowed' };
  const target = rawUrl ?? '';
  const path = target.split('?', 1)[0] ?? '';
  if (!path.startsWith('/') || SUSPICIOUS.test(path)) return { status: 400, reason: 'bad request' };
  const m = MEDIA_PATH.exec(path);
  if (!m || !parseMediaId(m[1]!)) return { status: 404, reason: 'not found' };
  return { status: 200, id: m[1]! };
}

/** Serves `GET|HEAD /media/<sha256>.<ext>` from the cache, and nothing else. */
export class MediaServer {
  private server: Server | undefined;
  private readonly opts: MediaServerOptions;
  private readonly cacheControl: string;

  constructor(opts: MediaServerOptions) {
    this.opts = opts;
    // Content-addressed: a URL's bytes never change, only disappear when the file expires.
    const maxAge = Math.max(0, Math.floor(opts.cache.maxAgeMs / 1000));
    this.cacheControl = `public, max-age=${maxAge}, immutable`;
  }

  /** The port actually bound (useful with port 0), once started. */
  get port(): number | undefined {
    const addr = this.server?.address();
    return addr && typeof addr === 'object' ? (addr as AddressInfo).port : undefined;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.opts.log.error({ err }, 'media server failed to answer a request');
        if (!res.headersSent) plain(res, 500, 'internal error');
        else res.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.bindAddress, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.opts.log.info({ bindAddress: this.opts.bindAddress, port: this.port }, 'media server listening');
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const verdict = judgeRequest(req.method, req.url);
    if (verdict.status !== 200) {
      if (verdict.status === 405) res.setHeader('Allow', 'GET, HEAD');
      plain(res, verdict.status, verdict.reason);
      return;
    }
    const found = await this.opts.cache.stat(verdict.id);
    const ext = verdict.id.slice(verdict.id.lastIndexOf('.') + 1);
    const contentType = contentTypeFor(ext);
    if (!found || !contentType) {
      plain(res, 404, 'not found');
      return;
    }
    res.writeHead(200, {
      'Content-Type': contentType,
      'Content-Length': String(found.size),
      'Cache-Control': this.cacheControl,
      'X-Content-Type-Options': 'nosniff',
      'Content-Disposition': 'inline',
      // A paste or picture opened directly must not be able to run anything in the bridge's origin.
      'Content-Security-Policy': "default-src 'none'; sandbox",
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream = createReadStream(found.path);
    stream.on('error', (err) => {
      this.opts.log.warn({ err, mediaId: verdict.id }, 'media file vanished while being served');
      res.destroy();
    });
    stream.pipe(res);
  }
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
  });
  res.end(`${text}\n`);
}
