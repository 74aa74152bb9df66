/**
 * The WebQQ cookie jar: RFC 6265 parsing and matching as pure functions, the session file's old
 * tough-cookie form (a real file: a password login against the simulator through the tough-cookie
 * transport of 523423d, plus host-only, Secure, Max-Age and Path cookies from a loopback server),
 * and the jar in use against the simulator over real HTTP.
 */
import http from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CookieJar, CookieJarFormatError, CookieRejected, defaultPath, domainMatches, MAX_COOKIE_BYTES, MAX_COOKIES_PER_DOMAIN, MAX_LIFETIME_MS,
  parseCookieDate, parseSetCookie, pathMatches,
} from '../../../../src/connectors/qq/webqq/cookie-jar.js';
import { establishSession, login } from '../../../../src/connectors/qq/webqq/auth.js';
import { SessionStore } from '../../../../src/connectors/qq/webqq/session-store.js';
import { createTransport } from '../../../../src/connectors/qq/webqq/transport.js';
import { silentLogger } from '../../../../src/log.js';
import { startSimulator, type RunningSimulator } from '../../../../src/simulator/index.js';

const FIXTURE = new URL('./fixtures/tough-cookie-6.1.0-session.json', import.meta.url);
const T0 = Date.UTC(2026, 11, 6, 12, 0, 0);

function clockAt(start = T0): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

const names = (jar: CookieJar, url: string) => jar.get(url).map((c) => c.name);

describe('parseSetCookie', () => {
  it('reads the pair and every attribute, case-insensitively, the last one winning', () => {
    expect(parseSetCookie('skey=@abc; path=/; DOMAIN=.QQ.com; Secure; HttpOnly; Max-Age=60; domain=web2.qq.com')).toEqual({
      name: 'skey', value: '@abc', path: '/', domain: 'web2.qq.com', secure: true, httpOnly: true, maxAge: 60,
    });
    expect(parseSetCookie(' a = b=c ;expires=Wed, 09 Jun 2021 10:18:14 GMT')).toEqual({
      name: 'a', value: 'b=c', expires: Date.UTC(2021, 5, 9, 10, 18, 14), secure: false, httpOnly: false,
    });
  });

  it('ignores attributes it cannot use instead of the cookie', () => {
    expect(parseSetCookie('a=1; Max-Age=soon; Expires=never; Path=relative; Domain=; SameSite=Lax')).toEqual({
      name: 'a', value: '1', secure: false, httpOnly: false,
    });
    // A later bad Path falls back to the default; an empty Domain leaves the earlier one.
    expect(parseSetCookie('a=1; Path=/x; Path=y; Domain=qq.com; Domain=')).toMatchObject({ domain: 'qq.com' });
    expect(parseSetCookie('a=1; Path=/x; Path=y')).not.toHaveProperty('path');
  });

  it('reads a pair without "=" as a nameless cookie, and refuses empty or control characters', () => {
    expect(parseSetCookie('justvalue; Path=/')).toMatchObject({ name: '', value: 'justvalue', path: '/' });
    expect(parseSetCookie('=v')).toMatchObject({ name: '', value: 'v' });
    expect(parseSetCookie('   ')).toBeUndefined();
    expect(parseSetCookie('=; Path=/')).toBeUndefined();
    expect(parseSetCookie('a=b\x07c')).toBeUndefined();
  });
});

describe('parseCookieDate (RFC 6265 §5.1.1)', () => {
  const at = Date.UTC(2021, 5, 9, 10, 18, 14);
  it('reads the three date forms servers send', () => {
    expect(parseCookieDate('Wed, 09 Jun 2021 10:18:14 GMT')).toBe(at);
    expect(parseCookieDate('Wednesday, 09-Jun-21 10:18:14 GMT')).toBe(at);
    expect(parseCookieDate('Wed Jun  9 10:18:14 2021')).toBe(at);
    expect(parseCookieDate('09-jun-1970 00:00:00')).toBe(Date.UTC(1970, 5, 9));
    expect(parseCookieDate('1 Jan 69 00:00:00')).toBe(Date.UTC(2069, 0, 1));
  });

  it('refuses dates that are not real ones', () => {
    for (const bad of ['31 Feb 2021 10:00:00', '09 Jun 2021 24:00:00', '09 Jun 2021', 'Jun 2021 10:18:14', '09 Foo 2021 10:18:14', '09 Jun 1600 10:00:00', '']) {
      expect(parseCookieDate(bad), bad).toBeUndefined();
    }
  });
});

describe('matching rules', () => {
  it('domain-matches the domain and its subdomains only, never by suffix of an IP address', () => {
    expect(domainMatches('qq.com', 'qq.com')).toBe(true);
    expect(domainMatches('d1.web2.qq.com', 'qq.com')).toBe(true);
    expect(domainMatches('notqq.com', 'qq.com')).toBe(false);
    expect(domainMatches('qq.com', 'web2.qq.com')).toBe(false);
    expect(domainMatches('10.0.0.1', '0.0.1')).toBe(false);
  });

  it('path-matches on whole segments, with RFC 6265 default paths', () => {
    expect(pathMatches('/cgi-bin/login', '/cgi-bin')).toBe(true);
    expect(pathMatches('/cgi-bin', '/cgi-bin')).toBe(true);
    expect(pathMatches('/cgi-binx', '/cgi-bin')).toBe(false);
    expect(pathMatches('/cgi-bin/x', '/cgi-bin/')).toBe(true);
    expect(pathMatches('/', '/cgi-bin')).toBe(false);
    expect(defaultPath('/cgi-bin/login')).toBe('/cgi-bin');
    expect(defaultPath('/login')).toBe('/');
    expect(defaultPath('')).toBe('/');
  });
});

describe('CookieJar', () => {
  it('keeps host-only cookies to their host and Domain cookies to the domain and below', () => {
    const jar = new CookieJar();
    jar.setFromHeader('host=1; Path=/', 'https://ssl.ptlogin2.qq.com/check');
    jar.setFromHeader('dom=2; Domain=qq.com; Path=/', 'https://ssl.ptlogin2.qq.com/check');
    expect(names(jar, 'https://ssl.ptlogin2.qq.com/')).toEqual(['host', 'dom']);
    expect(names(jar, 'http://d.web2.qq.com/channel/poll2')).toEqual(['dom']);
    expect(names(jar, 'https://xui.ptlogin2.qq.com/')).toEqual(['dom']);
    expect(names(jar, 'http://qq.com.evil.example/')).toEqual([]);
  });

  it('refuses a Domain that does not cover the host, or is a public suffix, with the reason', () => {
    const jar = new CookieJar();
    expect(() => jar.setFromHeader('a=1; Domain=web2.qq.com', 'https://ssl.ptlogin2.qq.com/')).toThrow(/does not cover ssl\.ptlogin2\.qq\.com/);
    expect(() => jar.setFromHeader('a=1; Domain=com', 'https://qq.com/')).toThrow(/public suffix/);
    expect(() => jar.setFromHeader('a=1; Domain=com.cn', 'https://qq.com.cn/')).toThrow(CookieRejected);
    expect(() => jar.set('a', '1', '.com')).toThrow(CookieRejected);
    // A single-label host may still set a cookie for itself; it is then host-only.
    jar.setFromHeader('a=1; Domain=localhost', 'http://localhost/');
    expect(jar.all()).toMatchObject([{ name: 'a', domain: 'localhost', hostOnly: true }]);
    expect(() => jar.setFromHeader('b=1; Domain=0.0.1', 'http://10.0.0.1/')).toThrow(CookieRejected);
  });

  it('takes and sends Secure cookies over https only', () => {
    const jar = new CookieJar();
    jar.setFromHeader('sec=s; Domain=qq.com; Secure', 'https://ssl.ptlogin2.qq.com/');
    expect(jar.header('https://s.web2.qq.com/')).toBe('sec=s');
    expect(jar.header('http://s.web2.qq.com/')).toBe('');
    expect(() => jar.setFromHeader('sec=forged; Domain=qq.com; Secure', 'http://w.qq.com/')).toThrow(/non-secure/);
    expect(jar.value('sec', 'https://s.web2.qq.com/')).toBe('s');
  });

  it('orders the header by longest path, then oldest, and a replaced cookie keeps its place', () => {
    const clock = clockAt();
    const jar = new CookieJar(clock);
    jar.setFromHeader('a=1; Domain=qq.com; Path=/', 'http://w.qq.com/');
    clock.advance(10);
    jar.setFromHeader('b=2; Domain=qq.com; Path=/', 'http://w.qq.com/');
    clock.advance(10);
    jar.setFromHeader('c=3; Domain=qq.com; Path=/cgi-bin', 'http://w.qq.com/');
    clock.advance(10);
    jar.setFromHeader('a=new; Domain=qq.com; Path=/', 'http://w.qq.com/');
    expect(jar.header('http://w.qq.com/cgi-bin/x')).toBe('c=3; a=new; b=2');
    expect(jar.header('http://w.qq.com/other')).toBe('a=new; b=2');
    // The same name on another path is another cookie; value() gives the most specific.
    expect(jar.value('a', 'http://w.qq.com/')).toBe('new');
  });

  it('uses the request path as the default Path', () => {
    const jar = new CookieJar();
    jar.setFromHeader('p=1', 'https://ssl.ptlogin2.qq.com/cgi-bin/login?x=1');
    expect(jar.all()[0]!.path).toBe('/cgi-bin');
    expect(jar.header('https://ssl.ptlogin2.qq.com/cgi-bin/other')).toBe('p=1');
    expect(jar.header('https://ssl.ptlogin2.qq.com/check')).toBe('');
  });

  it('expires cookies by Max-Age (over Expires) and Expires, and deletes with a past date', () => {
    const clock = clockAt();
    const jar = new CookieJar(clock);
    const tomorrow = new Date(T0 + 86_400_000).toUTCString();
    jar.setFromHeader(`ma=1; Max-Age=60; Expires=${tomorrow}; Domain=qq.com`, 'http://w.qq.com/');
    jar.setFromHeader(`ex=1; Expires=${tomorrow}; Domain=qq.com`, 'http://w.qq.com/');
    jar.setFromHeader('session=1; Domain=qq.com', 'http://w.qq.com/');
    jar.setFromHeader('doomed=1; Domain=qq.com', 'http://w.qq.com/');
    expect(names(jar, 'http://w.qq.com/')).toEqual(['ma', 'ex', 'session', 'doomed']);
    jar.setFromHeader('doomed=; Domain=qq.com; Expires=Thu, 01 Jan 1970 00:00:00 GMT', 'http://w.qq.com/');
    expect(names(jar, 'http://w.qq.com/')).toEqual(['ma', 'ex', 'session']);
    clock.advance(60_000);
    expect(names(jar, 'http://w.qq.com/')).toEqual(['ex', 'session']);
    clock.advance(86_400_000);
    expect(names(jar, 'http://w.qq.com/')).toEqual(['session']);
    jar.setFromHeader('session=x; Max-Age=0; Domain=qq.com', 'http://w.qq.com/');
    expect(jar.all()).toEqual([]);
  });

  it('caps a lifetime at 400 days, so an absurd Max-Age or Expires still saves and loads', () => {
    const clock = clockAt();
    const jar = new CookieJar(clock);
    jar.setFromHeader('forever=1; Max-Age=100000000000000000000; Domain=qq.com', 'http://w.qq.com/');
    jar.setFromHeader('far=1; Expires=Fri, 31 Dec 9999 23:59:59 GMT; Domain=qq.com', 'http://w.qq.com/');
    expect(jar.all().map((c) => c.expires)).toEqual([T0 + MAX_LIFETIME_MS, T0 + MAX_LIFETIME_MS]);
    const text = JSON.stringify(jar); // threw "Invalid time value" before the cap
    expect(CookieJar.fromJSON(JSON.parse(text), clock).jar.all()).toEqual(jar.all());
    clock.advance(MAX_LIFETIME_MS);
    expect(jar.all()).toEqual([]);
  });

  it('bounds what a server can store: cookie size and cookies per domain', () => {
    const jar = new CookieJar();
    expect(() => jar.setFromHeader(`big=${'x'.repeat(MAX_COOKIE_BYTES)}`, 'http://w.qq.com/')).toThrow(/4096 bytes/);
    for (let i = 0; i <= MAX_COOKIES_PER_DOMAIN; i++) jar.setFromHeader(`c${i}=${i}; Domain=qq.com`, 'http://w.qq.com/');
    expect(jar.all()).toHaveLength(MAX_COOKIES_PER_DOMAIN);
    expect(jar.value('c0', 'http://w.qq.com/')).toBeUndefined();
    expect(jar.value(`c${MAX_COOKIES_PER_DOMAIN}`, 'http://w.qq.com/')).toBe(String(MAX_COOKIES_PER_DOMAIN));
  });

  it('round-trips through JSON, expiry and creation order included, leaving out what expired', () => {
    const clock = clockAt();
    const jar = new CookieJar(clock);
    jar.setFromHeader('a=1; Domain=qq.com; Max-Age=3600; Secure; HttpOnly', 'https://ssl.ptlogin2.qq.com/');
    clock.advance(5);
    jar.setFromHeader('b=2; Path=/cgi-bin', 'https://ssl.ptlogin2.qq.com/');
    jar.setFromHeader('c=3; Max-Age=10; Domain=qq.com', 'https://ssl.ptlogin2.qq.com/');
    clock.advance(10_000);
    const text = JSON.stringify(jar);
    const { jar: back, skipped } = CookieJar.fromJSON(JSON.parse(text), clock);
    expect(skipped).toBe(0);
    expect(back.all()).toEqual(jar.all());
    expect(back.all().map((c) => c.name)).toEqual(['a', 'b']);
    expect(back.all()[0]).toMatchObject({ secure: true, httpOnly: true, hostOnly: false, expires: T0 + 3_600_000, creation: T0 });
    expect(CookieJar.fromJSON(text, clock).jar.all()).toEqual(jar.all());
    clock.advance(3_600_000);
    expect(CookieJar.fromJSON(JSON.parse(text), clock)).toMatchObject({ skipped: 1 });
  });

  it('throws on input that is no jar, and skips the cookies it cannot read, counted', () => {
    for (const bad of [null, 42, 'not json', [], { cookies: 'x' }, {}]) expect(() => CookieJar.fromJSON(bad), String(bad)).toThrow(CookieJarFormatError);
    const { jar, skipped } = CookieJar.fromJSON({
      cookies: [
        { key: 'ok', value: '1', domain: 'qq.com', path: '/' },
        { key: 'nodomain', value: '1' },
        { key: 'baddate', value: '1', domain: 'qq.com', expires: 'tomorrow' },
        { key: 42, value: '1', domain: 'qq.com' },
        { key: 'huge', value: 'x'.repeat(MAX_COOKIE_BYTES), domain: 'qq.com' },
        'garbage',
      ],
    });
    expect(skipped).toBe(5);
    expect(jar.all().map((c) => c.name)).toEqual(['ok']);
  });
});

describe('a session file written by tough-cookie 6.1.0 (qqbridge before its own jar)', () => {
  const loadFixture = async () => JSON.parse(await readFile(FIXTURE, 'utf8')) as { jar: unknown; savedAt: string };

  it('loads every cookie with its domain, host-only flag, path, flags and expiry', async () => {
    const { jar: raw, savedAt } = await loadFixture();
    const clock = clockAt(Date.parse(savedAt) + 2000);
    const { jar, skipped } = CookieJar.fromJSON(raw, clock);
    // Of 27 cookies, `shortlived` (Max-Age=1) has expired.
    expect(skipped).toBe(1);
    expect(jar.all()).toHaveLength(26);
    const by = new Map(jar.all().map((c) => [c.name, c]));
    expect(by.get('skey')).toMatchObject({ domain: 'qq.com', hostOnly: false, path: '/', secure: false });
    expect(by.get('skey')!.expires).toBeUndefined();
    expect(by.get('superkey')).toMatchObject({ domain: 'ptlogin2.qq.com', httpOnly: true });
    expect(by.get('hostonly')).toMatchObject({ domain: 'ssl.ptlogin2.qq.com', hostOnly: true });
    expect(by.get('sec')).toMatchObject({ secure: true });
    expect(by.get('deep')).toMatchObject({ path: '/cgi-bin' });
    // tough-cookie kept Max-Age as given, counted from lastAccessed; Expires as an ISO date.
    expect(by.get('maxage')!.expires).toBe(Date.parse('2026-12-06T23:14:02.100Z') + 31_536_000_000);
    expect(by.get('pt2gguin')!.expires).toBe(Date.parse('2027-12-06T23:14:02.000Z'));
    expect(by.get('pt_login_sig')!.creation).toBe(Date.parse('2026-12-06T23:14:02.072Z'));
  });

  it('sends the same cookies tough-cookie would have, and drops the dated ones when they expire', async () => {
    const { jar: raw, savedAt } = await loadFixture();
    const clock = clockAt(Date.parse(savedAt) + 2000);
    const { jar } = CookieJar.fromJSON(raw, clock);
    expect(names(jar, 'http://d.web2.qq.com/channel/poll2').sort()).toEqual(
      ['RK', 'maxage', 'p_skey', 'p_uin', 'pt2gguin', 'pt4_token', 'ptisp', 'ptwebqq', 'skey', 'uin'],
    );
    const login = names(jar, 'https://ssl.ptlogin2.qq.com/cgi-bin/login');
    expect(login[0]).toBe('deep');
    expect(login).toEqual(expect.arrayContaining(['hostonly', 'sec', 'superkey', 'supertoken', 'ptwebqq', 'skey']));
    expect(login).not.toContain('p_skey');
    expect(names(jar, 'http://ssl.ptlogin2.qq.com/cgi-bin/login')).not.toContain('sec');
    expect(names(jar, 'https://xui.ptlogin2.qq.com/')).not.toContain('hostonly');
    clock.advance(400 * 86_400_000);
    expect(names(jar, 'http://d.web2.qq.com/channel/poll2').sort()).toEqual(['p_skey', 'p_uin', 'pt4_token', 'ptisp', 'ptwebqq', 'skey', 'uin']);
  });
});

describe('the jar in the transport, over real HTTP', () => {
  let sim: RunningSimulator;
  let echo: http.Server;
  let echoUrl: string;
  const heard: Array<string | undefined> = [];
  let dir: string;

  beforeAll(async () => {
    sim = await startSimulator({ pollHoldMs: 200 });
    echo = http.createServer((req, res) => { heard.push(req.headers.cookie); res.end('ok'); });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
    dir = await mkdtemp(path.join(os.tmpdir(), 'qq-jar-'));
  });
  afterAll(async () => {
    await sim?.close();
    await new Promise((r) => echo.close(r));
    await rm(dir, { recursive: true, force: true });
  });
  const cookiesHeard = () => (heard[heard.length - 1] ?? '').split('; ').filter(Boolean).sort();

  it('an old session file still gives the saved cookies to each real host after the upgrade', async () => {
    await writeFile(path.join(dir, 'session.json'), await readFile(FIXTURE, 'utf8'));
    const stored = (await new SessionStore(dir).load())!;
    const t = createTransport({ endpoint: echoUrl, jar: stored.jar, log: silentLogger });
    const fixture = JSON.parse(await readFile(FIXTURE, 'utf8')) as { jar: { cookies: Array<{ key: string; value: string }> } };
    const value = (k: string) => fixture.jar.cookies.find((c) => c.key === k)!.value;
    await t.get('http://d1.web2.qq.com/channel/poll2');
    // Session cookies only: the dated ones in the file expire in 2027.
    expect(cookiesHeard()).toEqual(expect.arrayContaining(
      ['p_skey', 'p_uin', 'pt4_token', 'ptisp', 'ptwebqq', 'skey', 'uin'].map((k) => `${k}=${value(k)}`),
    ));
    expect(cookiesHeard().join(';')).not.toMatch(/superkey|hostonly|sec=|pt_login_sig/);
    await t.get('https://ssl.ptlogin2.qq.com/cgi-bin/login');
    expect(cookiesHeard()).toEqual(expect.arrayContaining(['deep=d1', 'hostonly=h1', 'sec=s1', `superkey=${value('superkey')}`]));
    expect(t.cookie('ptwebqq', 'http://d1.web2.qq.com/')).toBe(value('ptwebqq'));
    // Written back in the jar's own form, it reads the same.
    const again = createTransport({ endpoint: echoUrl, jar: JSON.parse(JSON.stringify(t.serialize())), log: silentLogger });
    await again.get('https://ssl.ptlogin2.qq.com/cgi-bin/login');
    const first = heard[heard.length - 2];
    expect(heard[heard.length - 1]).toBe(first);
  });

  it('holds the simulator\'s login cookies on their real domains, and a saved jar relinks', async () => {
    const t = createTransport({ endpoint: sim.url, log: silentLogger });
    const ctx = { transport: t, log: silentLogger, mode: 'password' as const, uin: 2769546520, password: '123456', stateDir: dir, qrPollMs: 50 };
    const s = await login(ctx);
    const saved = JSON.parse(JSON.stringify(t.serialize())) as { cookies: Array<Record<string, unknown>> };
    const by = new Map(saved.cookies.map((c) => [c.key, c]));
    expect(by.get('skey')).toMatchObject({ domain: 'qq.com', hostOnly: false, path: '/' });
    expect(by.get('skey')).not.toHaveProperty('expires');
    expect(by.get('superkey')).toMatchObject({ domain: 'ptlogin2.qq.com', httpOnly: true });
    expect(by.get('p_skey')).toMatchObject({ domain: 'web2.qq.com' });
    // pt2gguin is dated a year ahead by the server (to the second).
    expect(Date.parse(by.get('pt2gguin')!.expires as string) - Date.now()).toBeGreaterThan(364 * 86_400_000);
    expect(t.cookie('skey', 'http://s.web2.qq.com/')).toBe(t.cookie('skey', 'https://ssl.ptlogin2.qq.com/'));
    expect(t.cookie('superkey', 'http://d1.web2.qq.com/')).toBeUndefined();
    const store = new SessionStore(dir);
    await store.save(s, t.serialize());
    const stored = (await store.load())!;
    const t2 = createTransport({ endpoint: sim.url, jar: stored.jar, log: silentLogger });
    const { how } = await establishSession({ ...ctx, transport: t2 }, stored);
    expect(how).toBe('relink');
  });
});
