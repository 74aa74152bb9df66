/**
 * HTTP transport for the WebQQ client: node:http + our cookie jar keyed on the REAL WebQQ URLs,
 * with an optional endpoint override that sends every request to another origin (the simulator)
 * while keeping `Host` and `X-Forwarded-Proto` of the real URL. Cookies are keyed on the real
 * URL, not the override origin (127.0.0.1), or real `Domain=qq.com` cookies would never match.
 */
import http from 'node:http';
import https from 'node:https';
import type { Logger } from '../../../log.js';
import { scrubSecrets } from '../../../log.js';
import { CookieJar } from './cookie-jar.js';
import { ProtocolError, TransportError } from './errors.js';

export interface RequestOptions {
  referer?: string;
  origin?: string;
  query?: Record<string, string | number>;
  /** Default 30000; the long poll uses ~70000. */
  timeoutMs?: number;
  /** Default false; true follows 30x itself, through the override. */
  followRedirects?: boolean;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The real (not overridden) URL that produced this response (after redirects). */
  url: string;
  text(): string;
  /** Throws ProtocolError with the body's first 200 characters when it is not JSON. */
  json<T = unknown>(): T;
}

export interface Transport {
  get(url: string, opts?: RequestOptions): Promise<HttpResponse>;
  postForm(url: string, form: Record<string, string>, opts?: RequestOptions): Promise<HttpResponse>;
  postMultipart(url: string, form: FormData, opts?: RequestOptions): Promise<HttpResponse>;
  /** The value the jar would send to `url`, if any. */
  cookie(name: string, url: string): string | undefined;
  /** Stores a cookie as if the server at `domain` had set it with `Domain=<domain>`. */
  setCookie(name: string, value: string, domain: string, path?: string): void;
  /** Jar state for the session file. */
  serialize(): unknown;
  /** Drops every cookie (full relogin). */
  clearCookies(): void;
}

export { ProtocolError, TransportError } from './errors.js';

/** A browser of the service's last years: the servers rejected requests without a browser UA. */
export const DEFAULT_USER_AGENT =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.110 Safari/537.36';

export interface TransportOptions {
  /** e.g. `http://127.0.0.1:8700`: every request goes there with the real path and query. */
  endpoint?: string;
  /** A jar from `serialize()` (or tough-cookie's `serializeSync()`, from older session files). */
  jar?: unknown;
  log: Logger;
  userAgent?: string;
}

/** `https://ssl.ptlogin2.qq.com/check?x=1` + endpoint → the URL actually fetched. Pure. */
export function overrideTarget(realUrl: URL, endpoint: URL | undefined): URL {
  if (!endpoint) return realUrl;
  const base = endpoint.pathname.replace(/\/+$/, '');
  return new URL(`${endpoint.origin}${base}${realUrl.pathname}${realUrl.search}`);
}

/** Appends `query` to `url` in order; undefined-free by type. */
export function withQuery(url: string, query: Record<string, string | number> | undefined): URL {
  const u = new URL(url);
  if (query) for (const [k, v] of Object.entries(query)) u.searchParams.append(k, String(v));
  return u;
}

type Method = 'GET' | 'POST';

/**
 * One HTTP exchange on Node's own client (got cost ~8 MB of RSS for what is a plain request
 * here: no retries, no redirects, no decompression — the caller handles all three). A total
 * deadline of `timeoutMs`, failing with `ETIMEDOUT` as got's request timeout did.
 */
function exchange(
  target: URL,
  method: Method,
  headers: Record<string, string>,
  body: Buffer | undefined,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const client = target.protocol === 'https:' ? https : http;
    const req = client.request(target, { method, headers: body ? { ...headers, 'content-length': String(body.length) } : headers, ...(signal ? { signal } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
      res.on('error', fail);
    });
    const timer = setTimeout(() => {
      const e = new Error(`Timeout awaiting 'request' for ${timeoutMs}ms`) as NodeJS.ErrnoException;
      e.code = 'ETIMEDOUT';
      req.destroy(e);
    }, timeoutMs);
    function fail(e: Error): void {
      clearTimeout(timer);
      reject(e);
    }
    req.on('error', fail);
    req.end(body);
  });
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;

export function createTransport(opts: TransportOptions): Transport {
  const log = opts.log;
  const userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
  let endpoint: URL | undefined;
  if (opts.endpoint) {
    try {
      endpoint = new URL(opts.endpoint);
    } catch {
      throw new TypeError(`endpoint is not a URL: ${JSON.stringify(opts.endpoint)}`);
    }
    if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') {
      throw new TypeError(`endpoint must be http(s): ${JSON.stringify(opts.endpoint)}`);
    }
  }

  let jar = new CookieJar();
  if (opts.jar !== undefined && opts.jar !== null) {
    try {
      const loaded = CookieJar.fromJSON(opts.jar);
      jar = loaded.jar;
      if (loaded.skipped) log.info({ skipped: loaded.skipped }, 'stored cookies left out (expired or unreadable)');
    } catch (e) {
      log.warn({ err: e }, 'stored cookie jar is unreadable; starting with no cookies');
    }
  }

  function storeCookies(realUrl: URL, setCookie: string | string[] | undefined): void {
    if (!setCookie) return;
    for (const line of Array.isArray(setCookie) ? setCookie : [setCookie]) {
      try {
        jar.setFromHeader(line, realUrl);
      } catch (e) {
        // Only the cookie's name is logged: values are credentials.
        const name = line.split('=', 1)[0]?.trim();
        log.debug({ cookie: name, host: realUrl.host, reason: (e as Error).message }, 'server cookie rejected by jar');
      }
    }
  }

  async function once(
    method: Method,
    realUrl: URL,
    body: { form?: Record<string, string>; multipart?: FormData } | undefined,
    ro: RequestOptions,
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
    const target = overrideTarget(realUrl, endpoint);
    const headers: Record<string, string> = {
      'user-agent': userAgent,
      accept: '*/*',
      'accept-language': 'zh-CN,zh;q=0.9,en;q=0.8',
    };
    if (endpoint) {
      headers.host = realUrl.host;
      headers['x-forwarded-proto'] = realUrl.protocol.replace(':', '');
    }
    if (ro.referer) headers.referer = ro.referer;
    if (ro.origin) headers.origin = ro.origin;
    const cookieHeader = jar.header(realUrl);
    if (cookieHeader) headers.cookie = cookieHeader;

    let payload: Buffer | undefined;
    if (body?.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded; charset=UTF-8';
      payload = Buffer.from(new URLSearchParams(body.form).toString());
    } else if (body?.multipart) {
      // The platform's own multipart encoding (and its boundary in the content type).
      const encoded = new Response(body.multipart);
      headers['content-type'] = encoded.headers.get('content-type') ?? 'multipart/form-data';
      payload = Buffer.from(await encoded.arrayBuffer());
    }

    const started = Date.now();
    try {
      const res = await exchange(target, method, headers, payload, ro.timeoutMs ?? 30_000, ro.signal);
      storeCookies(realUrl, res.headers['set-cookie']);
      if (log.isLevelEnabled('debug')) log.debug({ method, url: scrubSecrets(realUrl.href), status: res.status, ms: Date.now() - started }, 'webqq http');
      return res;
    } catch (e) {
      if (ro.signal?.aborted) throw ro.signal.reason ?? e;
      const err = e as NodeJS.ErrnoException;
      log.debug({ method, url: scrubSecrets(realUrl.href), code: err.code, ms: Date.now() - started }, 'webqq http failed');
      throw new TransportError(realUrl.href, err.message, err.code, e);
    }
  }

  async function request(
    method: Method,
    url: string,
    body: { form?: Record<string, string>; multipart?: FormData } | undefined,
    ro: RequestOptions = {},
  ): Promise<HttpResponse> {
    let realUrl: URL;
    try {
      realUrl = withQuery(url, ro.query);
    } catch {
      throw new Error(`webqq transport: not an absolute URL: ${scrubSecrets(url)}`);
    }
    let res = await once(method, realUrl, body, ro);
    let hops = 0;
    while (ro.followRedirects && REDIRECTS.has(res.status)) {
      const loc = res.headers.location;
      const location = Array.isArray(loc) ? loc[0] : loc;
      if (!location) break;
      if (++hops > MAX_REDIRECTS) throw new ProtocolError(realUrl.pathname, `more than ${MAX_REDIRECTS} redirects`, '');
      // The Location is a real URL (or relative to one): it goes through the same override.
      realUrl = new URL(location, realUrl);
      const keepBody = res.status === 307 || res.status === 308;
      if (!keepBody) {
        method = 'GET';
        body = undefined;
      }
      res = await once(method, realUrl, body, { ...ro, query: undefined });
    }
    return makeResponse(realUrl, res);
  }

  return {
    get: (url, ro) => request('GET', url, undefined, ro),
    postForm: (url, form, ro) => request('POST', url, { form }, ro),
    postMultipart: (url, form, ro) => request('POST', url, { multipart: form }, ro),
    cookie(name, url) {
      return jar.value(name, url);
    },
    setCookie(name, value, domain, path = '/') {
      jar.set(name, value, domain, path);
    },
    serialize() {
      return jar.toJSON();
    },
    clearCookies() {
      jar.clear();
    },
  };
}

function makeResponse(
  realUrl: URL,
  res: { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer },
): HttpResponse {
  const endpoint = `${realUrl.host}${realUrl.pathname}`;
  return {
    status: res.status,
    headers: res.headers,
    body: res.body,
    url: realUrl.href,
    text: () => res.body.toString('utf8'),
    json<T>(): T {
      const text = res.body.toString('utf8').replace(/^\uFEFF/, '').trim();
      if (!text) throw new ProtocolError(endpoint, `HTTP ${res.status}, expected JSON`, '');
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new ProtocolError(endpoint, `HTTP ${res.status}, not JSON`, text);
      }
    },
  };
}
