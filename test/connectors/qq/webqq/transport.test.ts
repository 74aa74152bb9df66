import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, silentLogger } from '../../../../src/log.js';
import { createTransport, ProtocolError, TransportError } from '../../../../src/connectors/qq/webqq/transport.js';

interface Seen { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }

let server: http.Server;
let endpoint: string;
const seen: Seen[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const path = (req.url ?? '').split('?')[0];
      if (path === '/set') {
        res.setHeader('set-cookie', [
          'dom=qq; Domain=qq.com; Path=/',
          'hostonly=1; Path=/',
          'sec=s; Domain=ptlogin2.qq.com; Path=/; Secure',
        ]);
        res.end('ok');
      } else if (path === '/check_sig') {
        res.statusCode = 302;
        res.setHeader('location', 'http://w.qq.com/proxy.html?login2qq=1&webqq_type=10');
        res.setHeader('set-cookie', 'p_skey=abc; Domain=web2.qq.com; Path=/');
        res.end();
      } else if (path === '/brief') {
        res.setHeader('set-cookie', ['brief=1; Domain=qq.com; Path=/; Max-Age=1', 'dom=qq2; Domain=qq.com; Path=/']);
        res.end('ok');
      } else if (path === '/bad') {
        res.end('<html>oops ptwebqq=SECRET</html>');
      } else {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ retcode: 0 }));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => { await new Promise((r) => server.close(r)); });

const last = () => seen[seen.length - 1]!;

describe('transport with endpoint override', () => {
  it('sends the real Host, scheme, browser UA and Referer to the override origin', async () => {
    const t = createTransport({ endpoint, log: silentLogger });
    const res = await t.get('https://ssl.ptlogin2.qq.com/check?uin=1', { query: { appid: 1003903, u1: 'http://web2.qq.com/x y' }, referer: 'https://ui.ptlogin2.qq.com/cgi-bin/login' });
    expect(res.status).toBe(200);
    expect(res.url).toMatch(/^https:\/\/ssl\.ptlogin2\.qq\.com\/check\?uin=1&appid=1003903&u1=/);
    expect(last().headers.host).toBe('ssl.ptlogin2.qq.com');
    expect(last().headers['x-forwarded-proto']).toBe('https');
    expect(last().headers['user-agent']).toMatch(/Mozilla\/5\.0 .*Chrome/);
    expect(last().headers.referer).toBe('https://ui.ptlogin2.qq.com/cgi-bin/login');
    expect(new URL(last().url, 'http://x').searchParams.get('u1')).toBe('http://web2.qq.com/x y');
  });

  it('keys cookies on the real domain: Domain=qq.com everywhere, host-only and Secure where they belong', async () => {
    const t = createTransport({ endpoint, log: silentLogger });
    await t.get('https://ssl.ptlogin2.qq.com/set');
    await t.get('http://d.web2.qq.com/echo');
    expect(last().headers.cookie).toBe('dom=qq');
    await t.get('https://ssl.ptlogin2.qq.com/echo');
    expect(last().headers.cookie?.split('; ').sort()).toEqual(['dom=qq', 'hostonly=1', 'sec=s']);
    await t.get('http://ssl.ptlogin2.qq.com/echo');
    expect(last().headers.cookie?.split('; ').sort()).toEqual(['dom=qq', 'hostonly=1']);
    expect(t.cookie('dom', 'http://s.web2.qq.com/')).toBe('qq');
    expect(t.cookie('sec', 'http://s.web2.qq.com/')).toBeUndefined();
  });

  it('does not follow redirects unless asked, and maps the Location through the override', async () => {
    const t = createTransport({ endpoint, log: silentLogger });
    const raw = await t.get('http://ptlogin4.web2.qq.com/check_sig?pttype=1');
    expect(raw.status).toBe(302);
    expect(last().headers.host).toBe('ptlogin4.web2.qq.com');
    const followed = await t.get('http://ptlogin4.web2.qq.com/check_sig?pttype=1', { followRedirects: true });
    expect(followed.status).toBe(200);
    expect(followed.url).toBe('http://w.qq.com/proxy.html?login2qq=1&webqq_type=10');
    expect(last().headers.host).toBe('w.qq.com');
    expect(last().url).toBe('/proxy.html?login2qq=1&webqq_type=10');
    expect(t.cookie('p_skey', 'http://d.web2.qq.com/channel/login2')).toBe('abc');
  });

  it('posts url-encoded r forms with Origin', async () => {
    const t = createTransport({ endpoint, log: silentLogger });
    const r = JSON.stringify({ clientid: 53999199, content: '["a&b=c"]' });
    const res = await t.postForm('http://d1.web2.qq.com/channel/login2', { r }, { origin: 'http://d1.web2.qq.com', referer: 'http://d1.web2.qq.com/proxy.html' });
    expect(res.json<{ retcode: number }>().retcode).toBe(0);
    expect(last().method).toBe('POST');
    expect(last().headers['content-type']).toBe('application/x-www-form-urlencoded; charset=UTF-8');
    expect(last().headers.origin).toBe('http://d1.web2.qq.com');
    expect(new URLSearchParams(last().body).get('r')).toBe(r);
  });

  it('reports non-JSON answers with the endpoint and a scrubbed excerpt', async () => {
    const t = createTransport({ endpoint, log: silentLogger });
    const res = await t.get('http://s.web2.qq.com/bad');
    expect(() => res.json()).toThrow(ProtocolError);
    expect(() => res.json()).toThrow(/s\.web2\.qq\.com\/bad.*oops/);
    expect(() => res.json()).not.toThrow(/SECRET/);
  });

  it('turns refused connections into retryable TransportErrors', async () => {
    const dead = http.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise((r) => dead.close(r));
    const t = createTransport({ endpoint: `http://127.0.0.1:${port}`, log: silentLogger });
    const err = await t.get('http://d.web2.qq.com/channel/poll2?psessionid=SECRET').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).retryable).toBe(true);
    expect((err as TransportError).message).not.toContain('SECRET');
  });

  it('sends what the jar holds at each request, to the same path again and again: set, replaced, expired', async () => {
    const t = createTransport({ endpoint, log: silentLogger });
    await t.get('http://s.web2.qq.com/echo');
    expect(last().headers.cookie).toBeUndefined();
    await t.get('https://ssl.ptlogin2.qq.com/set');
    await t.get('http://s.web2.qq.com/echo');
    expect(last().headers.cookie).toBe('dom=qq');
    await t.get('http://s.web2.qq.com/brief');
    await t.get('http://s.web2.qq.com/echo');
    expect(last().headers.cookie?.split('; ').sort()).toEqual(['brief=1', 'dom=qq2']);
    t.setCookie('ptwebqq', 'p2', 'qq.com');
    await t.get('http://s.web2.qq.com/echo');
    expect(last().headers.cookie?.split('; ').sort()).toEqual(['brief=1', 'dom=qq2', 'ptwebqq=p2']);
    // Max-Age=1: a second later the jar no longer sends it.
    await new Promise((r) => setTimeout(r, 1100));
    await t.get('http://s.web2.qq.com/echo');
    expect(last().headers.cookie?.split('; ').sort()).toEqual(['dom=qq2', 'ptwebqq=p2']);
  });

  it('round-trips the jar and lets the client set domain cookies (116 rotation)', async () => {
    const t = createTransport({ endpoint, log: silentLogger });
    await t.get('https://ssl.ptlogin2.qq.com/set');
    t.setCookie('ptwebqq', 'rotated', 'qq.com');
    const t2 = createTransport({ endpoint, log: silentLogger, jar: JSON.parse(JSON.stringify(t.serialize())) });
    await t2.get('http://d1.web2.qq.com/echo');
    expect(last().headers.cookie?.split('; ').sort()).toEqual(['dom=qq', 'ptwebqq=rotated']);
    t2.clearCookies();
    await t2.get('http://d1.web2.qq.com/echo');
    expect(last().headers.cookie).toBeUndefined();
  });

  it('posts multipart forms (picture uploads) with the file intact', async () => {
    const t = createTransport({ endpoint, log: silentLogger });
    const form = new FormData();
    form.append('vfwebqq', 'v');
    form.append('custom_face', new Blob([Buffer.from('PNGDATA')], { type: 'image/png' }), 'a.png');
    await t.postMultipart('http://up.web2.qq.com/cgi-bin/cface_upload', form, { origin: 'http://web2.qq.com' });
    expect(last().headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(last().headers.host).toBe('up.web2.qq.com');
    expect(last().body).toContain('filename="a.png"');
    expect(last().body).toContain('PNGDATA');
  });

  it('never writes cookie values or secret query parameters to the log', async () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', destination: { write: (l: string) => { lines.push(l); } } });
    const t = createTransport({ endpoint, log });
    await t.get('https://ssl.ptlogin2.qq.com/set');
    await t.get('https://ssl.ptlogin2.qq.com/login', { query: { u: 1, p: 'BB28CA7D6038207184922F960B88B940', verifycode: '!UGX' } });
    await t.get('http://d.web2.qq.com/channel/get_online_buddies2', { query: { vfwebqq: 'VFSECRET', psessionid: 'PSSECRET' } });
    const out = lines.join('');
    expect(out).toContain('get_online_buddies2');
    for (const secret of ['BB28CA7D', 'VFSECRET', 'PSSECRET', 'dom=qq', 'sec=s']) expect(out).not.toContain(secret);
  });

  it('rejects an endpoint that is not http(s)', () => {
    expect(() => createTransport({ endpoint: 'ftp://x', log: silentLogger })).toThrow(/http\(s\)/);
  });
});
