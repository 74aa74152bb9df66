/**
 * The bridge's HTTP entry points under attack, over real HTTP on loopback: the Matrix appservice
 * refuses a wrong hs_token, the Telegram webhook a wrong secret (compared in constant time), and
 * the media server serves its own files and nothing else.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createDurableAppService } from '../../src/connectors/matrix/appservice.js';
import { telegramConfigSchema } from '../../src/connectors/telegram/config.js';
import { secretMatches, TelegramConnector } from '../../src/connectors/telegram/connector.js';
import { Relay } from '../../src/core/relay.js';
import { StaticRoutes } from '../../src/core/routes.js';
import { silentLogger } from '../../src/log.js';
import { MediaCache } from '../../src/media/cache.js';
import { judgeRequest, MediaServer } from '../../src/media/server.js';
import { openStore } from '../../src/store/store.js';
import { FakeTelegram } from '../fakes/telegram.js';
import { LoopbackConnector } from '../support/loopback.js';
import { BOB, GROUP, cleanup as matrixCleanup, removeRoot as matrixRemoveRoot, setup as matrixSetup, waitFor } from '../connectors/matrix/harness.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-hostile-sec-'));
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  await matrixCleanup();
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
  matrixRemoveRoot();
});

/** Sends raw bytes as one HTTP/1.1 request and returns the status code and body (no client-side URL normalisation). */
function rawRequest(port: number, requestLine: string, headers: Record<string, string> = {}, body = ''): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let data = '';
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => (data += d));
    sock.on('error', reject);
    sock.on('end', () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      resolve({ status: m ? Number(m[1]) : 0, body: data.slice(data.indexOf('\r\n\r\n') + 4) });
    });
    const hdrs = Object.entries({ Host: '127.0.0.1', Connection: 'close', ...headers, ...(body ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}) }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    // Written, not ended: a half-closed socket may be dropped before an async answer is written.
    sock.write(`${requestLine}\r\n${hdrs}\r\n${body}`, 'latin1');
    sock.setTimeout(5_000, () => sock.destroy(new Error(`no answer to ${requestLine}`)));
  });
}

// ---------------------------------------------------------------------------------------- Matrix

describe('Matrix appservice: hs_token', () => {
  it('every wrong token (equal length, longer, shorter, prefix, case, query string, none) is refused on every endpoint and injects nothing', async () => {
    const b = await matrixSetup();
    const good = b.reg.hs_token;
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'a' ? 'b' : 'a') + s.slice(i + 1);
    const wrong = [flip(good, 0), flip(good, good.length - 1), `${good}x`, good.slice(0, -1), good.slice(0, 8), good.toUpperCase(), '', `${good}\t${good}`, b.reg.as_token];
    // (Not `${good} `: HTTP trims spaces around a header value, so that *is* the token on the wire.)
    const event = { event_id: '$forged', room_id: b.room, sender: BOB, type: 'm.room.message', origin_server_ts: Date.now(), content: { msgtype: 'm.text', body: 'forged' } };
    const port = b.matrix.port!;
    let txn = 0;
    for (const token of wrong) {
      for (const auth of [{ headers: { Authorization: `Bearer ${token}` }, query: '' }, { headers: {}, query: `?access_token=${encodeURIComponent(token)}` }] as Array<{ headers: Record<string, string>; query: string }>) {
        for (const [method, p, body] of [
          ['PUT', `/_matrix/app/v1/transactions/f${++txn}`, JSON.stringify({ events: [event] })],
          ['PUT', `/transactions/f${++txn}`, JSON.stringify({ events: [event] })],
          ['GET', `/_matrix/app/v1/users/${encodeURIComponent('@qq_1:test.hs')}`, ''],
          ['GET', `/_matrix/app/v1/rooms/${encodeURIComponent('#qq_1:test.hs')}`, ''],
        ] as const) {
          const res = await rawRequest(port, `${method} ${p}${auth.query} HTTP/1.1`, { ...auth.headers, 'Content-Type': 'application/json' }, body);
          // 308: the legacy path only redirects to the v1 one (checked here too), it processes nothing.
          if (![308, 401, 403, 404].includes(res.status)) throw new Error(`${method} ${p}${auth.query} with token ${JSON.stringify(token)} (${JSON.stringify(auth.headers)}): ${res.status} ${res.body}`);
          if (res.status === 401 || res.status === 403) expect(res.body).toMatch(/M_FORBIDDEN|M_UNKNOWN_TOKEN|M_MISSING_TOKEN/);
        }
      }
    }
    const none = await rawRequest(port, `PUT /_matrix/app/v1/transactions/none HTTP/1.1`, { 'Content-Type': 'application/json' }, JSON.stringify({ events: [event] }));
    expect([401, 403]).toContain(none.status);
    // The right token still works, and nothing forged got through.
    expect(await b.hs.pushTransaction([{ ...event, event_id: '$real', content: { msgtype: 'm.text', body: 'real' } }], 'ok1')).toBe(200);
    await waitFor(() => b.qq.remote.sent(GROUP).length === 1, 'the real event');
    await new Promise((r) => setTimeout(r, 100));
    expect(b.qq.remote.texts(GROUP)).toEqual(['real']);
  });
});

describe('Matrix appservice: constant-time hs_token compare', () => {
  // matrix-appservice compares the hs_token with `!==`; our AppService subclass replaces that check.
  const check = (as: unknown, token: string | undefined) => {
    let status = 200;
    const res = { status: (c: number) => ((status = c), res), send: () => res };
    const req = { params: {}, headers: token === undefined ? {} : { authorization: `Bearer ${token}` }, query: {} };
    const refused = (as as { isInvalidToken(q: unknown, r: unknown): boolean }).isInvalidToken(req, res);
    return { refused, status };
  };

  it('refuses every token but the exact one, with 403', () => {
    const as = createDurableAppService('hs-secret-token', { onTransaction: async () => undefined, onAliasQuery: async () => undefined, onError: () => undefined });
    expect(check(as, 'hs-secret-token')).toEqual({ refused: false, status: 200 });
    for (const wrong of [undefined, '', 'hs-secret-toke', 'hs-secret-tokenX', 'HS-SECRET-TOKEN', 'x'.repeat(15)]) {
      expect(check(as, wrong)).toEqual({ refused: true, status: 403 });
    }
  });

  it('takes as long for an early mismatch as for a late one', () => {
    const n = 4 * 1024 * 1024;
    const secret = 'k'.repeat(n);
    const as = createDurableAppService(secret, { onTransaction: async () => undefined, onAliasQuery: async () => undefined, onError: () => undefined });
    const median = (f: () => unknown) => {
      const t: number[] = [];
      for (let i = 0; i < 9; i++) {
        const t0 = performance.now();
        f();
        t.push(performance.now() - t0);
      }
      return t.sort((a, b) => a - b)[4]!;
    };
    const e = median(() => check(as, `x${'k'.repeat(n - 1)}`));
    const l = median(() => check(as, `${'k'.repeat(n - 1)}x`));
    expect(Math.max(e, l) / Math.min(e, l)).toBeLessThan(2);
  });
});

describe('Matrix appservice: mass mentions from QQ', () => {
  it('a ghost message saying @room with hundreds of mentions reaches the homeserver defused', async () => {
    const b = await matrixSetup();
    const parts = [
      { type: 'text' as const, text: '@room @Room wake up ' },
      ...Array.from({ length: 300 }, (_, i) => ({ type: 'mention' as const, userId: String(10_000 + i), name: `member ${i}` })),
    ];
    await b.qq.inject(GROUP, { sender: { id: '10001', displayName: '@room' }, parts });
    await waitFor(() => b.hs.messages(b.room).length >= 1, 'the ghost message');
    for (const m of b.hs.messages(b.room)) {
      const c = m.content as { body?: string; formatted_body?: string; 'm.mentions'?: { room?: boolean; user_ids?: string[] } };
      expect(c.body).not.toMatch(/@room/i);
      expect(c.formatted_body ?? '').not.toMatch(/@room/i);
      expect(c['m.mentions']).toBeDefined();
      expect(c['m.mentions']!.room).toBeUndefined();
      expect((c['m.mentions']!.user_ids ?? []).length).toBeLessThanOrEqual(5);
    }
  });
});

// -------------------------------------------------------------------------------------- Telegram

describe('Telegram webhook secret', () => {
  it('secretMatches: only the exact secret matches, whatever the length of the guess', () => {
    fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 64 }), fc.string({ maxLength: 80 }), (secret, guess) => {
      expect(secretMatches(guess, secret)).toBe(guess === secret);
      expect(secretMatches(secret, secret)).toBe(true);
      expect(secretMatches(undefined, secret)).toBe(false);
      // Different lengths never throw (a bare timingSafeEqual would: it needs equal lengths).
      expect(() => secretMatches(`${secret}x`, secret)).not.toThrow();
    }), { numRuns: 300 });
  });

  it('secretMatches takes as long for an early mismatch as for a late one (a plain === would not)', () => {
    const n = 4 * 1024 * 1024;
    const secret = 'k'.repeat(n);
    const early = `x${'k'.repeat(n - 1)}`;
    const late = `${'k'.repeat(n - 1)}x`;
    /** Median time of `f` over a few runs, in ms. */
    const median = (f: () => unknown) => {
      const t: number[] = [];
      for (let i = 0; i < 9; i++) {
        const t0 = performance.now();
        f();
        t.push(performance.now() - t0);
      }
      return t.sort((a, b) => a - b)[4]!;
    };
    // The probe can tell: a short-circuiting compare returns at once on an early mismatch.
    const naive = (a: string, b: string) => {
      for (let i = 0; i < a.length; i++) if (a.charCodeAt(i) !== b.charCodeAt(i)) return false;
      return a.length === b.length;
    };
    expect(median(() => naive(late, secret))).toBeGreaterThan(5 * median(() => naive(early, secret)));
    const e = median(() => secretMatches(early, secret));
    const l = median(() => secretMatches(late, secret));
    expect(Math.max(e, l) / Math.min(e, l)).toBeLessThan(2);
    // And a short guess costs the same hashing work on the secret's side: no length oracle worth the name.
    expect(secretMatches('k', secret)).toBe(false);
  });

  it('over HTTP: random wrong secrets are refused with 401 and relay nothing; the right one is accepted', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const TOKEN = '123456:AAsecTOKEN_value';
    const SECRET = 'Right_Secret-123';
    const fake = await new FakeTelegram({ token: TOKEN }).start();
    cleanups.push(() => fake.stop());
    const store = await openStore({ stateDir: path.join(root, 'tg') }, silentLogger);
    const qq = new LoopbackConnector('qq');
    const relay = new Relay({
      store, log: silentLogger, media: undefined as never,
      routes: new StaticRoutes([[{ network: 'qq', room: 'group:1' }, { network: 'telegram', room: '-1001' }]]),
      outbox: { baseBackoffMs: 5, maxBackoffMs: 50, connectPollMs: 10 }, pruneIntervalMs: 0,
    });
    const config = telegramConfigSchema.parse({ token: TOKEN, apiRoot: fake.apiRoot, mode: 'webhook', webhook: { url: `http://127.0.0.1:${port}/hook`, bindAddress: '127.0.0.1', port, secretToken: SECRET } });
    const tg = new TelegramConnector(config, { pollTimeoutSec: 1, autoRetry: { maxRetryAttempts: 0 } });
    relay.register(qq);
    relay.register(tg);
    await relay.start();
    cleanups.push(async () => {
      await relay.stop();
      await store.close();
    });
    const update = (id: number, text: string) => ({ update_id: id, message: { message_id: id, date: 1, chat: { id: -1001, type: 'supergroup' }, from: { id: 42, is_bot: false, first_name: 'Tom' }, text } });
    const guesses = fc.sample(fc.oneof(
      fc.string({ minLength: SECRET.length, maxLength: SECRET.length, unit: fc.constantFrom(...'abcRightSecret_-123'.split('')) }),
      fc.string({ maxLength: 40, unit: fc.constantFrom(...'abcRightSecret_-123 '.split('')) }),
      fc.constantFrom(SECRET.toLowerCase(), `${SECRET} `, SECRET.slice(0, -1), `${SECRET}${SECRET}`),
    // HTTP itself trims the spaces around a header value: `SECRET ` is the secret on the wire.
    ), { numRuns: 40, seed: 7 }).filter((g) => g.trim() !== SECRET);
    let id = 0;
    for (const g of guesses) {
      const res = await rawRequest(port, 'POST /hook HTTP/1.1', { 'X-Telegram-Bot-Api-Secret-Token': g, 'Content-Type': 'application/json' }, JSON.stringify(update(++id, `forged ${id}`)));
      expect(res.status).toBe(401);
    }
    const missing = await rawRequest(port, 'POST /hook HTTP/1.1', { 'Content-Type': 'application/json' }, JSON.stringify(update(++id, 'no header')));
    expect(missing.status).toBe(401);
    const ok = await rawRequest(port, 'POST /hook HTTP/1.1', { 'X-Telegram-Bot-Api-Secret-Token': SECRET, 'Content-Type': 'application/json' }, JSON.stringify(update(++id, 'genuine')));
    expect(ok.status).toBe(200);
    await waitFor(() => qq.remote.sent('group:1').length === 1, 'the genuine update');
    expect(qq.remote.texts('group:1')).toEqual(['genuine']);
  });
});

// ----------------------------------------------------------------------------------------- media

describe('media server', () => {
  it('serves its own files and answers 400/404 to every other path (property over raw request targets)', async () => {
    const stateDir = path.join(root, 'media-state');
    fs.mkdirSync(stateDir, { recursive: true });
    // Things next to the media folder an attacker would like: the session and the database.
    fs.writeFileSync(path.join(stateDir, 'session.json'), 'SECRET-SESSION', { mode: 0o600 });
    fs.writeFileSync(path.join(stateDir, 'qqbridge.sqlite'), 'SECRET-DB', { mode: 0o600 });
    const cache = new MediaCache({ dir: path.join(stateDir, 'media'), maxBytes: 1 << 20, maxAgeDays: 1 });
    const id = await cache.put(new TextEncoder().encode('PUBLIC-PASTE'), 'text/plain');
    fs.writeFileSync(path.join(stateDir, 'media', 'notmedia.txt'), 'SECRET-STRAY', { mode: 0o600 });
    const server = new MediaServer({ cache, bindAddress: '127.0.0.1', port: 0, log: silentLogger });
    await server.start();
    cleanups.push(() => server.stop());
    const port = server.port!;

    const own = await rawRequest(port, `GET /media/${id} HTTP/1.1`);
    expect(own).toMatchObject({ status: 200, body: 'PUBLIC-PASTE' });

    const segment = fc.constantFrom('..', '.', '%2e%2e', '%2E%2E', '%2f', '%5c', '\\', 'media', id, id.toUpperCase(), `${id}.`, `${id}%00`, `${id}/`, 'session.json', 'qqbridge.sqlite', 'notmedia.txt', '', '%00', '..%2f', '%252e', 'etc', 'passwd', '~', ';', 'media;', `${id};x`);
    const target = fc.tuple(fc.array(segment, { minLength: 1, maxLength: 5 }), fc.constantFrom('', '?x=1', '#f', '?../../session.json')).map(([segs, q]) => `/${segs.join('/')}${q}`);
    const methods = fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE');
    await fc.assert(fc.asyncProperty(target, methods, async (t, method) => {
      const res = await rawRequest(port, `${method} ${t} HTTP/1.1`);
      expect(res.body).not.toMatch(/SECRET/);
      const verdict = judgeRequest(method, t);
      const isOwn = (method === 'GET' || method === 'HEAD') && t.split('?')[0] === `/media/${id}`;
      if (isOwn) expect(res.status).toBe(200);
      else expect([400, 404, 405]).toContain(res.status);
      if (res.status === 200) expect(verdict).toEqual({ status: 200, id });
    }), { numRuns: 150 });

    // Absolute-form and odd request targets.
    for (const t of ['http://127.0.0.1/media/../session.json', '*', `//media/${id}`, `/media//${id}`, `/media/./${id}`, `/media/${id}/..`, '/../session.json']) {
      const res = await rawRequest(port, `GET ${t} HTTP/1.1`);
      expect(res.body).not.toMatch(/SECRET/);
      expect(res.status).not.toBe(200);
    }
  });
});
