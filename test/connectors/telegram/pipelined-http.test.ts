/**
 * The pipelining HTTP/1.1 client against real servers on loopback: Node's own http server (which
 * answers pipelined requests in order) and, for framing Node never produces, a raw TCP server.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PipelineError, PipelinedClient, ResponseParser, serializeRequest } from '../../../src/connectors/telegram/pipelined-http.js';

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

interface Seen {
  id: string;
  socket: number;
}

/** A node:http server answering POST bodies `{"id":…}` with `{"echo":id}` after `delay(id)` ms. */
async function echoServer(handle?: (id: string, req: http.IncomingMessage, res: http.ServerResponse) => boolean | void, delay: (id: string) => number = () => 0) {
  const seen: Seen[] = [];
  let sockets = 0;
  let open = 0;
  let maxOpen = 0;
  const server = http.createServer((req, res) => {
    const socket = (req.socket as net.Socket & { n?: number }).n!;
    open++;
    maxOpen = Math.max(maxOpen, open);
    res.on('close', () => open--);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = String((JSON.parse(Buffer.concat(chunks).toString() || '{}') as { id?: string }).id);
      seen.push({ id, socket });
      if (handle?.(id, req, res)) return;
      setTimeout(() => {
        const body = JSON.stringify({ echo: id });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      }, delay(id));
    });
  });
  server.on('connection', (s: net.Socket & { n?: number }) => (s.n = ++sockets));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  closers.push(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/bot1:x/sendMessage`;
  return { url, seen, sockets: () => sockets, maxOpen: () => maxOpen };
}

function client(opts: ConstructorParameters<typeof PipelinedClient>[0] = {}) {
  const c = new PipelinedClient(opts);
  closers.push(() => c.close());
  return c;
}

const post = (c: PipelinedClient, url: string, id: number | string, signal?: AbortSignal) =>
  c.request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: String(id) }), ...(signal ? { signal } : {}) });

const settle = <T>(ps: Promise<T>[]) => Promise.allSettled(ps);

describe('PipelinedClient over a real node:http server', () => {
  it('writes requests back to back on one connection, in call order, and gives each caller its own answer', async () => {
    // Early requests answer slowest: had they gone on several connections, answers would cross.
    const srv = await echoServer(undefined, (id) => (Number(id) < 8 ? 30 - Number(id) * 3 : 0));
    const c = client({ depth: 8 });
    const ids = Array.from({ length: 60 }, (_, i) => i);
    const issuedBefore = c.issued;
    const answers = ids.map((i) => post(c, srv.url, i));
    expect(c.issued - issuedBefore).toBe(60); // counted as taken, before any answer
    const bodies = await Promise.all(answers.map(async (a) => ((await a).json() as { echo: string }).echo));
    expect(bodies).toEqual(ids.map(String));
    expect(srv.seen.map((s) => s.id)).toEqual(ids.map(String));
    expect(srv.sockets()).toBe(1);
    // Really pipelined (the server had several at once), never more than the depth.
    expect(srv.maxOpen()).toBeGreaterThan(1);
    expect(srv.maxOpen()).toBeLessThanOrEqual(8);
  });

  it('reads chunked and content-length bodies alike, mixed on one connection', async () => {
    const srv = await echoServer((id, _req, res) => {
      if (Number(id) % 2 === 1) return false;
      res.writeHead(200, { 'content-type': 'application/json' }); // no length: Node sends it chunked
      res.write('{"echo":');
      setTimeout(() => res.end(`"${id}"}`), 5);
      return true;
    });
    const c = client();
    const all = await Promise.all(Array.from({ length: 10 }, (_, i) => post(c, srv.url, i)));
    expect(all.map((r) => (r.json() as { echo: string }).echo)).toEqual(Array.from({ length: 10 }, (_, i) => String(i)));
    expect(all[0]!.headers['transfer-encoding']).toBe('chunked');
    expect(all[1]!.headers['content-length']).toBe(String('{"echo":"1"}'.length));
    expect(srv.sockets()).toBe(1);
  });

  it('Connection: close mid-pipeline: answers before it arrive, the rest fail and are not sent again', async () => {
    const srv = await echoServer((id, _req, res) => {
      if (id !== '3') return false;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 12, connection: 'close' });
      res.end('{"echo":"3"}');
      return true;
    }, (id) => (id === '1' ? 20 : 0)); // the server has read past 3 before it answers it
    const c = client({ depth: 6 });
    const r = await settle(Array.from({ length: 10 }, (_, i) => post(c, srv.url, i)));
    expect(r.slice(0, 4).map((x) => x.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    const failed = r.slice(4);
    for (const f of failed) {
      expect(f.status).toBe('rejected');
      expect((f as PromiseRejectedResult).reason).toBeInstanceOf(PipelineError);
    }
    // Written ones may have been processed; the ones still queued behind the window were never sent.
    const written = failed.map((f) => ((f as PromiseRejectedResult).reason as PipelineError).written);
    expect(written).toEqual([true, true, true, true, true, false]);
    // The next request opens a new connection; nothing failed was sent twice.
    expect(((await post(c, srv.url, 'after')).json() as { echo: string }).echo).toBe('after');
    const ids = srv.seen.map((s) => s.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.slice(0, 4)).toEqual(['0', '1', '2', '3']);
    expect(srv.sockets()).toBe(2);
  });

  it('a dropped connection fails every unanswered request, and none is sent again', async () => {
    const srv = await echoServer((id, req) => {
      if (id !== '5') return false;
      req.socket.destroy();
      return true;
    });
    const c = client({ depth: 16 });
    const r = await settle(Array.from({ length: 12 }, (_, i) => post(c, srv.url, i)));
    const ok = r.filter((x) => x.status === 'fulfilled').length;
    // Answers may or may not have left before the drop; everything from 5 on fails.
    expect(ok).toBeLessThanOrEqual(5);
    expect(r.slice(0, ok).every((x) => x.status === 'fulfilled')).toBe(true);
    for (const f of r.slice(ok)) expect((f as PromiseRejectedResult).reason).toMatchObject({ name: 'PipelineError', code: 'closed', written: true });
    await new Promise((res) => setTimeout(res, 50));
    const ids = srv.seen.map((s) => s.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(srv.sockets()).toBe(1);
  });

  it('abort: a written request gives up at once and its late answer is skipped; a queued one is never sent', async () => {
    const srv = await echoServer(undefined, (id) => (id === 'slow' ? 80 : 0));
    const c = client({ depth: 2 });
    const ac = new AbortController();
    const slow = post(c, srv.url, 'slow', ac.signal);
    const second = post(c, srv.url, 'second');
    const queuedAbort = new AbortController();
    const queued = post(c, srv.url, 'queued', queuedAbort.signal); // depth 2: waits behind the two
    queued.catch(() => undefined); // checked below
    const third = post(c, srv.url, 'third');
    queuedAbort.abort();
    await new Promise((res) => setTimeout(res, 20));
    ac.abort();
    await expect(slow).rejects.toMatchObject({ code: 'aborted', written: true });
    await expect(queued).rejects.toMatchObject({ code: 'aborted', written: false });
    expect(((await second).json() as { echo: string }).echo).toBe('second');
    expect(((await third).json() as { echo: string }).echo).toBe('third');
    expect(srv.seen.map((s) => s.id)).toEqual(['slow', 'second', 'third']);
    expect(srv.sockets()).toBe(1);
    // An already-aborted signal: nothing is sent.
    const gone = new AbortController();
    gone.abort();
    await expect(post(c, srv.url, 'never', gone.signal)).rejects.toMatchObject({ code: 'aborted', written: false });
    expect(srv.seen.map((s) => s.id)).not.toContain('never');
  });

  it('closes an idle connection before the server would: its announced Keep-Alive timeout less 1 s', async () => {
    const srv = await echoServer();
    const c = client({ idleTimeoutMs: 60_000 });
    await post(c, srv.url, 'a');
    await new Promise((r) => setTimeout(r, 200));
    await post(c, srv.url, 'b'); // kept alive meanwhile
    expect(srv.sockets()).toBe(1);
    await new Promise((r) => setTimeout(r, 4_300)); // Node's server announces timeout=5: closed by us after 4 s
    await post(c, srv.url, 'c');
    expect(srv.sockets()).toBe(2);
    expect(srv.seen.map((s) => s.id)).toEqual(['a', 'b', 'c']);
  });

  it('no answer within the response timeout fails the connection; a refused connection fails as not written', async () => {
    const srv = await echoServer((id) => id === 'hang');
    const c = client({ responseTimeoutMs: 100 });
    await expect(post(c, srv.url, 'hang')).rejects.toMatchObject({ code: 'timeout', written: true });
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    await expect(post(c, `http://127.0.0.1:${port}/x`, 1)).rejects.toMatchObject({ code: 'connect', written: false });
  });
});

describe('PipelinedClient over TLS (how api.telegram.org is reached)', () => {
  it('pipelines on one TLS connection, checking the certificate against the given CA and the host name', async () => {
    // A throwaway self-signed certificate for localhost (openssl is on every machine the suite runs on).
    const dir = mkdtempSync(join(tmpdir(), 'pipelined-tls-'));
    closers.push(() => rmSync(dir, { recursive: true, force: true }));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const cert = readFileSync(join(dir, 'cert.pem'));
    let sockets = 0;
    const server = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => res.end(Buffer.concat(chunks)));
    });
    server.on('secureConnection', () => sockets++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    closers.push(() => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    });
    const port = (server.address() as AddressInfo).port;
    const c = client({ tls: { ca: cert } });
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => post(c, `https://localhost:${port}/bot1:x/sendMessage`, i)));
    expect(answers.map((a) => (a.json() as { id: string }).id)).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    expect(sockets).toBe(1);
    // Without the CA the certificate is refused: nothing was sent.
    const strict = client();
    await expect(post(strict, `https://localhost:${port}/x`, 1)).rejects.toMatchObject({ code: 'connect', written: false });
  });
});

describe('the raw framing a server may use', () => {
  /** A TCP server that answers each request (by its count) with the given raw bytes. */
  async function rawServer(answer: (n: number) => string | undefined) {
    let n = 0;
    const server = net.createServer((s) => {
      let buf = '';
      s.on('data', (d) => {
        buf += d.toString('latin1');
        for (;;) {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const len = Number(/content-length: (\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
          if (buf.length < end + 4 + len) return;
          buf = buf.slice(end + 4 + len);
          const a = answer(++n);
          if (a === undefined) s.end();
          else if (/connection: close/i.test(a)) s.end(a);
          else s.write(a);
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    closers.push(() => new Promise<void>((r) => server.close(() => r())));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  }

  it('interim 100, chunk extensions and trailers, 204 without a body, then a body read until the connection ends', async () => {
    const url = await rawServer((n) =>
      [
        'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\none',
        'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3;ext=1\r\ntwo\r\n1\r\n!\r\n0\r\nx-trailer: y\r\n\r\n',
        'HTTP/1.1 204 No Content\r\n\r\n',
        'HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end',
      ][n - 1],
    );
    const c = client();
    const r = await Promise.all([1, 2, 3, 4].map((i) => post(c, url, i)));
    expect(r.map((x) => [x.status, x.text()])).toEqual([
      [200, 'one'],
      [200, 'two!'],
      [204, ''],
      [200, 'until the end'],
    ]);
  });

  it('the parser is fed byte by byte as well as all at once', () => {
    const wire = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a\r\nSet-Cookie: b\r\n\r\n2\r\nno\r\n0\r\n\r\n';
    const whole = new ResponseParser().feed(Buffer.from(wire));
    const p = new ResponseParser();
    const bytewise = [...Buffer.from(wire)].flatMap((b) => p.feed(Buffer.from([b])));
    expect(bytewise).toEqual(whole);
    expect(whole.map((r) => [r.status, r.statusText, r.body.toString(), r.close])).toEqual([
      [200, 'OK', 'ok', false],
      [500, 'Oops', 'no', false],
    ]);
    expect(whole[1]!.headers['set-cookie']).toBe('a, b');
  });

  it('rejects what it cannot frame safely', () => {
    const bad = (s: string) => () => new ResponseParser().feed(Buffer.from(s));
    expect(bad('HTTP/2 200 OK\r\n\r\n')).toThrow(PipelineError);
    expect(bad('HTTP/1.1 200 OK\r\ncontent-length: 1, 2\r\n\r\n')).toThrow(/content-length/);
    expect(bad('HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n')).toThrow(/transfer-encoding/);
    expect(bad('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n')).toThrow(/chunk size/);
    expect(bad('HTTP/1.1 200 OK\r\nx: a\r\n folded\r\n\r\n')).toThrow(/header line/);
    expect(() => new ResponseParser(4).feed(Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n123456789'))).toThrow(/larger than 4/);
    const cut = new ResponseParser();
    cut.feed(Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n1234'));
    expect(() => cut.end()).toThrow(/middle of a response/);
  });

  it('serializes a request with its length and without header injection', () => {
    const b = serializeRequest('POST', 'h:1', '/p?q=1', { 'Content-Type': 'application/json', 'Content-Length': '999' }, Buffer.from('{}'));
    expect(b.toString()).toBe('POST /p?q=1 HTTP/1.1\r\nhost: h:1\r\nconnection: keep-alive\r\ncontent-length: 2\r\ncontent-type: application/json\r\n\r\n{}');
    expect(() => serializeRequest('POST', 'h', '/', { x: 'a\r\nInjected: 1' }, Buffer.alloc(0))).toThrow(/line break/);
  });
});
