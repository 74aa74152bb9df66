/**
 * A small HTTP/1.1 client that pipelines: requests to one origin are written back to back on ONE
 * keep-alive connection (at most `depth` unanswered) and the responses, which HTTP/1.1 returns in
 * request order (RFC 9112 §9.3.2), are matched to their callers in that order. Requests reach the
 * server in the order `request()` was called, and a server may process only safe-method requests
 * of a pipeline in parallel (same section), so POSTs are applied in that order: a caller that needs
 * its requests applied in order can issue the next one without waiting for the previous answer.
 * (§9.3.2 also asks a client that pipelines after a non-idempotent request to be able to recover
 * from a partial failure: here that is the caller's, e.g. a durable outbox that resends.)
 *
 * It never sends a request twice: when the connection ends with requests unanswered (dropped, a
 * response with `Connection: close`, a timeout), every one of them fails with a PipelineError —
 * `written` says whether it may have reached the server — and the caller decides what to resend.
 * Requests queued behind them fail too, so nothing can overtake a request that failed.
 *
 * For short requests with the whole body in memory (string or bytes); no streamed bodies, no HEAD,
 * no `Expect: 100-continue`. Pure parts (request bytes, the response parser) are exported for tests.
 */
import net from 'node:net';
import tls from 'node:tls';

export type PipelineErrorCode = 'connect' | 'closed' | 'timeout' | 'protocol' | 'aborted' | 'too-large';

export class PipelineError extends Error {
  override readonly name = 'PipelineError';
  constructor(
    message: string,
    readonly code: PipelineErrorCode,
    /** True when the request was written to a connection: the server may have processed it. */
    readonly written: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface PipelinedClientOptions {
  /** Requests written and not yet answered, per connection (default 16). */
  depth?: number;
  /** The connection fails when requests wait this long with no byte of answer (ms, default 60 s). */
  responseTimeoutMs?: number;
  /**
   * An idle connection is closed after this long (ms, default 4 s), or 1 s before the timeout a
   * server announces (`Keep-Alive: timeout=N`, as undici does): before the server's own keep-alive
   * timeout (Node's is 5 s), so a request is not written into a connection the server is closing —
   * it would fail without having been processed, and be worth a retry for nothing.
   */
  idleTimeoutMs?: number;
  /** Largest response body taken (bytes, default 16 MiB). */
  maxResponseBytes?: number;
  /** Extra TLS options for https origins (ca, …). */
  tls?: tls.ConnectionOptions;
}

/** The part of an AbortSignal used here (Node's, or the abort-controller polyfill grammY passes). */
export interface AbortSignalLike {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface PipelinedRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  signal?: AbortSignalLike | null;
}

export interface PipelinedResponse {
  status: number;
  statusText: string;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
  text(): string;
  json(): unknown;
}

// ------------------------------------------------------------------------------------------------
// Pure parts

/** The bytes of one request. `target` is the path and query; headers given override the defaults. */
export function serializeRequest(method: string, host: string, target: string, headers: Record<string, string>, body: Buffer): Buffer {
  const lines = [`${method} ${target} HTTP/1.1`];
  const given = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  for (const [k, v] of given) {
    if (/[\r\n]/.test(k) || /[\r\n]/.test(v)) throw new TypeError(`header ${JSON.stringify(k)} contains a line break`);
    if (k === 'transfer-encoding' || k === 'content-length' || k === 'host' || k === 'connection') given.delete(k);
  }
  lines.push(`host: ${host}`, 'connection: keep-alive', `content-length: ${body.length}`);
  for (const [k, v] of given) lines.push(`${k}: ${v}`);
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), body]);
}

export interface ParsedResponse {
  status: number;
  statusText: string;
  headers: Record<string, string>;
  body: Buffer;
  /** The server ends the connection after this response (`Connection: close`, or HTTP/1.0). */
  close: boolean;
}

const MAX_HEAD_BYTES = 64 * 1024;

/**
 * Turns the bytes of a connection into the responses on it, in order. Feed it what the socket
 * reads; `end()` when the socket ends (completes a body delimited by the end of the connection).
 * Throws PipelineError('protocol' | 'too-large') on a malformed stream; the connection is then
 * unusable.
 */
export class ResponseParser {
  private buf: Buffer = Buffer.alloc(0);
  private head: Omit<ParsedResponse, 'body'> | undefined;
  /** Body framing of the response being read: a length, chunked, or until the connection ends. */
  private framing: { kind: 'length'; left: number } | { kind: 'chunked' } | { kind: 'eof' } | undefined;
  private chunks: Buffer[] = [];
  private bodyBytes = 0;

  constructor(private readonly maxBodyBytes = 16 * 1024 * 1024) {}

  /** True while a response has started and is not complete. */
  get midResponse(): boolean {
    return this.head !== undefined || this.buf.length > 0;
  }

  feed(data: Buffer): ParsedResponse[] {
    this.buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data]);
    const out: ParsedResponse[] = [];
    for (;;) {
      if (!this.head) {
        const end = this.buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (this.buf.length > MAX_HEAD_BYTES) throw new PipelineError('response head too large', 'protocol', true);
          return out;
        }
        const head = parseHead(this.buf.subarray(0, end).toString('latin1'));
        this.buf = this.buf.subarray(end + 4);
        // Interim answers (100 Continue, 103 Early Hints) precede the real one.
        if (head.status >= 100 && head.status < 200) continue;
        this.head = head;
        this.framing = framingOf(head);
        this.chunks = [];
        this.bodyBytes = 0;
      }
      const done = this.readBody();
      if (!done) return out;
      out.push({ ...this.head, body: Buffer.concat(this.chunks) });
      this.head = undefined;
      this.framing = undefined;
      this.chunks = [];
    }
  }

  /** The connection ended: the response read until its end, if one was. Throws if one was cut short. */
  end(): ParsedResponse | undefined {
    if (this.head && this.framing?.kind === 'eof') {
      const r = { ...this.head, body: Buffer.concat(this.chunks), close: true };
      this.head = undefined;
      return r;
    }
    if (this.midResponse) throw new PipelineError('the connection ended in the middle of a response', 'closed', true);
    return undefined;
  }

  private take(n: number): void {
    this.bodyBytes += n;
    if (this.bodyBytes > this.maxBodyBytes) throw new PipelineError(`response body larger than ${this.maxBodyBytes} bytes`, 'too-large', true);
    this.chunks.push(this.buf.subarray(0, n));
    this.buf = this.buf.subarray(n);
  }

  /** Reads what is buffered of the body; true once the body is complete. */
  private readBody(): boolean {
    const f = this.framing!;
    if (f.kind === 'length') {
      const n = Math.min(f.left, this.buf.length);
      if (n > 0) this.take(n);
      f.left -= n;
      return f.left === 0;
    }
    if (f.kind === 'eof') {
      if (this.buf.length > 0) this.take(this.buf.length);
      return false;
    }
    for (;;) {
      const eol = this.buf.indexOf('\r\n');
      if (eol < 0) {
        if (this.buf.length > 1024) throw new PipelineError('chunk size line too long', 'protocol', true);
        return false;
      }
      const line = this.buf.subarray(0, eol).toString('latin1');
      const m = /^([0-9a-fA-F]{1,8})[ \t]*(?:;.*)?$/.exec(line);
      if (!m) throw new PipelineError(`bad chunk size line ${JSON.stringify(line.slice(0, 40))}`, 'protocol', true);
      const size = parseInt(m[1]!, 16);
      if (size === 0) {
        // Trailer fields (ignored), then an empty line.
        const end = this.buf.indexOf('\r\n\r\n', eol);
        if (end < 0) return false;
        this.buf = this.buf.subarray(end + 4);
        return true;
      }
      if (this.buf.length < eol + 2 + size + 2) return false;
      if (this.buf[eol + 2 + size] !== 13 || this.buf[eol + 3 + size] !== 10) throw new PipelineError('chunk not followed by CRLF', 'protocol', true);
      this.buf = this.buf.subarray(eol + 2);
      this.take(size);
      this.buf = this.buf.subarray(2);
    }
  }
}

function parseHead(text: string): Omit<ParsedResponse, 'body'> {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
  if (!m) throw new PipelineError(`bad status line ${JSON.stringify((lines[0] ?? '').slice(0, 60))}`, 'protocol', true);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    // Obsolete line folding is rejected (RFC 9112 §5.2 lets a client do so).
    const i = line.indexOf(':');
    if (i <= 0 || /^[ \t]/.test(line)) throw new PipelineError(`bad header line ${JSON.stringify(line.slice(0, 60))}`, 'protocol', true);
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const tokens = (headers.connection ?? '').toLowerCase().split(',').map((t) => t.trim());
  const close = tokens.includes('close') || (m[1] === '0' && !tokens.includes('keep-alive'));
  return { status: Number(m[2]), statusText: m[3] ?? '', headers, close };
}

function framingOf(head: Omit<ParsedResponse, 'body'>): NonNullable<ResponseParser['framing']> {
  if (head.status === 204 || head.status === 304) return { kind: 'length', left: 0 };
  const te = head.headers['transfer-encoding'];
  if (te !== undefined) {
    const codings = te.toLowerCase().split(',').map((t) => t.trim());
    if (codings[codings.length - 1] === 'chunked') {
      if (codings.length > 1) throw new PipelineError(`unsupported transfer-encoding ${JSON.stringify(te)}`, 'protocol', true);
      return { kind: 'chunked' };
    }
    return { kind: 'eof' };
  }
  const cl = head.headers['content-length'];
  if (cl !== undefined) {
    const values = new Set(cl.split(',').map((v) => v.trim()));
    const [v] = [...values];
    if (values.size !== 1 || !/^\d{1,15}$/.test(v!)) throw new PipelineError(`bad content-length ${JSON.stringify(cl)}`, 'protocol', true);
    return { kind: 'length', left: Number(v) };
  }
  return { kind: 'eof' };
}

// ------------------------------------------------------------------------------------------------
// The connection

interface Pending {
  bytes: Buffer;
  resolve: (r: PipelinedResponse) => void;
  reject: (e: Error) => void;
  /** The caller gave up after it was written: its answer is read and dropped, keeping the order. */
  abandoned: boolean;
  unlisten: () => void;
}

function toResponse(p: ParsedResponse): PipelinedResponse {
  return {
    status: p.status,
    statusText: p.statusText,
    headers: p.headers,
    body: p.body,
    text: () => p.body.toString('utf8'),
    json: () => JSON.parse(p.body.toString('utf8')) as unknown,
  };
}

class Connection {
  readonly socket: net.Socket;
  private readonly parser: ResponseParser;
  /** Written, unanswered, in order. */
  private readonly inflight: Pending[] = [];
  /** Not written yet (the window is full), in order. */
  private readonly queued: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private corked = false;
  private everConnected = false;
  private idleMs: number;
  dead = false;

  constructor(
    url: URL,
    private readonly opts: Required<Omit<PipelinedClientOptions, 'tls'>> & { tls?: tls.ConnectionOptions },
    private readonly onDead: (c: Connection) => void,
  ) {
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    this.socket =
      url.protocol === 'https:'
        ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'], ...opts.tls })
        : net.connect({ host, port });
    this.socket.setNoDelay(true);
    this.parser = new ResponseParser(opts.maxResponseBytes);
    this.idleMs = opts.idleTimeoutMs;
    this.socket.on('data', (d: Buffer) => this.onData(d));
    this.socket.on('end', () => {
      try {
        const last = this.parser.end();
        if (last) this.answer(last);
      } catch (e) {
        this.fail(e as PipelineError);
        return;
      }
      this.fail(new PipelineError(`${url.host} closed the connection`, 'closed', true));
    });
    this.socket.on('error', (e: NodeJS.ErrnoException) => {
      const connecting = !this.everConnected;
      this.fail(new PipelineError(`${connecting ? 'cannot connect to' : 'connection to'} ${url.host} failed: ${e.code ?? e.message}`, connecting ? 'connect' : 'closed', !connecting, { cause: e }));
    });
    this.socket.on('close', () => this.fail(new PipelineError(`connection to ${url.host} closed`, 'closed', true)));
    this.socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => (this.everConnected = true));
    this.arm();
  }

  get idle(): boolean {
    return this.inflight.length === 0 && this.queued.length === 0;
  }

  add(p: Pending): void {
    this.queued.push(p);
    this.pump();
  }

  /** The caller gave up: a queued request is dropped, a written one's answer will be skipped. */
  abandon(p: Pending): void {
    const i = this.queued.indexOf(p);
    if (i >= 0) this.queued.splice(i, 1);
    else p.abandoned = true;
    if (this.idle) this.arm();
  }

  close(): void {
    this.fail(new PipelineError('the client was closed', 'closed', true));
  }

  private pump(): void {
    if (this.dead || this.queued.length === 0 || this.inflight.length >= this.opts.depth) return;
    // Requests issued in one run of the event loop (a caller starting several sends in a row)
    // leave in one write: corked until the current callbacks and promise jobs are done.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    while (this.queued.length > 0 && this.inflight.length < this.opts.depth) {
      const p = this.queued.shift()!;
      this.inflight.push(p);
      this.socket.write(p.bytes);
    }
    this.arm();
  }

  private onData(d: Buffer): void {
    let answers: ParsedResponse[];
    try {
      answers = this.parser.feed(d);
    } catch (e) {
      this.fail(e as PipelineError);
      return;
    }
    for (const a of answers) {
      if (this.dead) return;
      this.answer(a);
    }
    this.arm();
  }

  private answer(a: ParsedResponse): void {
    const p = this.inflight.shift();
    if (!p) {
      this.fail(new PipelineError('a response arrived that no request asked for', 'protocol', true));
      return;
    }
    p.unlisten();
    if (!p.abandoned) p.resolve(toResponse(a));
    const announced = /(?:^|[,;\s])timeout=(\d+)/i.exec(a.headers['keep-alive'] ?? '')?.[1];
    if (announced !== undefined) this.idleMs = Math.max(0, Number(announced) * 1000 - 1000);
    if (a.close) {
      // The server processes nothing written after this request (RFC 9112 §9.6).
      this.fail(new PipelineError('the server closed the connection (Connection: close) before answering', 'closed', true));
      return;
    }
    this.pump();
  }

  /** Waiting for answers: the response timeout; idle: the idle timeout. */
  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.dead) return;
    if (this.inflight.length > 0) {
      this.timer = setTimeout(() => this.fail(new PipelineError(`no answer from the server in ${this.opts.responseTimeoutMs} ms`, 'timeout', true)), this.opts.responseTimeoutMs);
    } else if (this.queued.length === 0) {
      this.timer = setTimeout(() => this.fail(new PipelineError('idle connection closed', 'closed', false)), this.idleMs);
      this.timer.unref();
    }
  }

  /** Ends the connection: every request on it, written or queued behind, fails with `e`. */
  private fail(e: PipelineError): void {
    if (this.dead) return;
    this.dead = true;
    if (this.timer) clearTimeout(this.timer);
    this.socket.destroy();
    this.onDead(this);
    for (const p of this.inflight.splice(0)) {
      p.unlisten();
      if (!p.abandoned) p.reject(e);
    }
    for (const p of this.queued.splice(0)) {
      p.unlisten();
      p.reject(new PipelineError(`not sent: ${e.message}`, e.code, false, { cause: e.cause }));
    }
  }
}

/** The HTTP/1.1 pipelining client: one connection per origin, created when needed. */
export class PipelinedClient {
  private readonly conns = new Map<string, Connection>();
  private readonly opts: Required<Omit<PipelinedClientOptions, 'tls'>> & { tls?: tls.ConnectionOptions };
  private count = 0;

  constructor(opts: PipelinedClientOptions = {}) {
    this.opts = {
      depth: Math.max(1, opts.depth ?? 16),
      responseTimeoutMs: opts.responseTimeoutMs ?? 60_000,
      idleTimeoutMs: opts.idleTimeoutMs ?? 4_000,
      maxResponseBytes: opts.maxResponseBytes ?? 16 * 1024 * 1024,
      ...(opts.tls ? { tls: opts.tls } : {}),
    };
  }

  /**
   * How many requests were taken so far. It grows inside `request()` itself, before any await:
   * a caller can see that its request is in the connection's order.
   */
  get issued(): number {
    return this.count;
  }

  /**
   * Queues one request on its origin's connection and resolves with its answer (any status).
   * Rejects with PipelineError when the connection ends first or the signal aborts.
   */
  request(url: string | URL, init: PipelinedRequest = {}): Promise<PipelinedResponse> {
    const u = typeof url === 'string' ? new URL(url) : url;
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return Promise.reject(new TypeError(`unsupported protocol ${u.protocol}`));
    const method = (init.method ?? 'GET').toUpperCase();
    if (method === 'HEAD' || method === 'CONNECT') return Promise.reject(new TypeError(`${method} is not supported`));
    const body = init.body === undefined ? Buffer.alloc(0) : typeof init.body === 'string' ? Buffer.from(init.body, 'utf8') : Buffer.from(init.body.buffer, init.body.byteOffset, init.body.byteLength);
    const signal = init.signal ?? undefined;
    if (signal?.aborted) return Promise.reject(new PipelineError('aborted', 'aborted', false));
    const bytes = serializeRequest(method, u.host, `${u.pathname}${u.search}`, init.headers ?? {}, body);
    const origin = `${u.protocol}//${u.host}`;
    let conn = this.conns.get(origin);
    if (!conn || conn.dead) {
      conn = new Connection(u, this.opts, (c) => {
        if (this.conns.get(origin) === c) this.conns.delete(origin);
      });
      this.conns.set(origin, conn);
    }
    const c = conn;
    this.count++;
    return new Promise<PipelinedResponse>((resolve, reject) => {
      const p: Pending = { bytes, resolve, reject, abandoned: false, unlisten: () => undefined };
      if (signal) {
        const onAbort = () => {
          p.unlisten();
          c.abandon(p);
          reject(new PipelineError('aborted', 'aborted', p.abandoned));
        };
        signal.addEventListener('abort', onAbort);
        p.unlisten = () => signal.removeEventListener('abort', onAbort);
      }
      c.add(p);
    });
  }

  /** Closes every connection; requests on them fail. The client can be used again afterwards. */
  close(): void {
    for (const c of [...this.conns.values()]) c.close();
    this.conns.clear();
  }
}
