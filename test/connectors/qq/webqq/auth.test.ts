/**
 * Login against the real WebQQ simulator over HTTP (endpoint override): password login, wrong
 * password, captcha rounds, QR login, silent re-login, relink, and no protocol violations.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../src/log.js';
import { capturedLogger } from '../../../support/log-capture.js';
import { defaultWorld } from '../../../../src/simulator/index.js';
import { startSimulator, type RunningSimulator } from '../../../../src/simulator/index.js';
import {
  establishSession, login, LoginError, relink, RelinkError, silentRelogin, type LoginContext, type Session,
} from '../../../../src/connectors/qq/webqq/auth.js';
import { createTransport, type Transport } from '../../../../src/connectors/qq/webqq/transport.js';
import { ERA_A, ERA_C, hostsFor } from '../../../../src/connectors/qq/webqq/hosts.js';
import { decodeQr } from '../../../../src/connectors/qq/webqq/auth.js';
import { SessionStore } from '../../../../src/connectors/qq/webqq/session-store.js';
import { codeFilePrompt } from '../../../../src/connectors/qq/webqq/login-prompt.js';

const QQ = 2769546520;
let sim: RunningSimulator;
let stateDir: string;

beforeAll(async () => { sim = await startSimulator({ pollHoldMs: 200, qrLifetimeMs: 60_000 }); });
afterAll(async () => { await sim?.close(); });
beforeEach(async () => {
  stateDir = await mkdtemp(path.join(os.tmpdir(), 'qq-auth-'));
  await control('DELETE', '/violations');
  // A captcha stays required until a login through one succeeds: tests that give up leave it set.
  await control('POST', '/captcha', { qq: QQ, required: false });
});
afterEach(async () => { await rm(stateDir, { recursive: true, force: true }); });

async function control<T = unknown>(method: string, p: string, body?: unknown): Promise<T> {
  const res = await fetch(`${sim.controlUrl}${p}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`control ${method} ${p}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

function context(mode: 'password' | 'qrcode', extra: Partial<LoginContext> = {}): LoginContext & { transport: Transport } {
  return {
    transport: createTransport({ endpoint: sim.url, log: silentLogger }),
    log: silentLogger,
    mode,
    uin: QQ,
    password: '123456',
    stateDir,
    qrPollMs: 50,
    ...extra,
  };
}

/** What a poller/list call would do first: the warm-up call; proves the session is live. */
async function onlineBuddies(t: Transport, s: Session): Promise<number> {
  const h = hostsFor(s.era);
  const res = await t.get(`${h.d}/channel/get_online_buddies2`, {
    query: { vfwebqq: s.vfwebqq, clientid: s.clientid, psessionid: s.psessionid, t: Date.now() },
    referer: h.dReferer,
  });
  return res.json<{ retcode: number }>().retcode;
}

async function poll(t: Transport, s: Session): Promise<{ retcode: number }> {
  const h = hostsFor(s.era);
  const r = s.era === 'qrcode'
    ? { ptwebqq: s.ptwebqq, clientid: s.clientid, psessionid: s.psessionid, key: '' }
    : { clientid: s.clientid, psessionid: s.psessionid, key: 0, ids: [] };
  const form: Record<string, string> = { r: JSON.stringify(r) };
  if (s.era === 'password') Object.assign(form, { clientid: String(s.clientid), psessionid: s.psessionid });
  const res = await t.postForm(`${h.d}/channel/poll2`, form, { referer: h.dReferer, origin: h.dOrigin });
  return res.json<{ retcode: number }>();
}

async function qrDriver(ctx: LoginContext, confirmAfter = 1): Promise<{ codes: string[] }> {
  const codes: string[] = [];
  ctx.prompt = { ...ctx.prompt!, qrShown: (qr) => {
    codes.push(qr.text ?? '');
    if (codes.length < confirmAfter) {
      void control('POST', '/qr/expire');
      return;
    }
    void (async () => {
      await control('POST', '/qr/scan', { qq: QQ });
      await new Promise((r) => setTimeout(r, 120));
      await control('POST', '/qr/confirm', { qq: QQ });
    })();
  } };
  return { codes };
}

describe('password login (Era A) against the simulator', () => {
  it('logs in, gets a live session and breaks no protocol rule', async () => {
    const ctx = context('password');
    const s = await login(ctx);
    expect(s.era).toBe('password');
    expect(s.uin).toBe(QQ);
    expect(String(s.clientid)).toMatch(/^\d{8}$/);
    expect(s.psessionid).not.toBe('');
    expect(s.vfwebqq).not.toBe('');
    expect(s.ptwebqq).toBe(ctx.transport.cookie('ptwebqq', 'http://d.web2.qq.com/'));
    expect(s.nick).toBe('qqbot');
    expect(await onlineBuddies(ctx.transport, s)).toBe(0);
    expect(await control('GET', '/violations')).toEqual([]);
  });

  it('says clearly that the password is wrong', async () => {
    const err = await login(context('password', { password: 'nope' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LoginError);
    expect((err as LoginError).kind).toBe('wrong-password');
    expect((err as LoginError).message).toMatch(/wrong QQ number or password.*密码不正确/);
  });

  it('recovers from a wrong captcha code: a new check, a new image, then the right code logs in (zero violations)', async () => {
    await control('POST', '/captcha', { qq: QQ, required: true });
    const codeFile = path.join(stateDir, 'code.txt');
    let rounds = 0;
    // The operator: reads the hint in the log, writes a wrong code first, then the right one.
    const file = codeFilePrompt({ file: codeFile });
    const ctx = context('password', {
      prompt: {
        captchaCode: (c, signal) => {
          rounds++;
          const answer = file.captchaCode(c, signal);
          const round = rounds;
          // Written once the prompt has cleared the file of the previous image.
          setTimeout(() => void (async () => {
            const { code } = await control<{ code: string }>('GET', `/captcha?qq=${QQ}`);
            await writeFile(codeFile, round === 1 ? 'ZZZZ\n' : `${code.toLowerCase()}\n`);
          })(), 100);
          return answer;
        },
      },
    });
    const s = await login(ctx);
    expect(rounds).toBe(2);
    expect(s.uin).toBe(QQ);
    // The simulator records a getimage or a login on a used check as a violation (asserted below).
    const img = await readFile(path.join(stateDir, 'captcha.jpg'));
    expect(img.subarray(0, 2).toString('hex')).toBe('ffd8');
    expect(existsSync(codeFile)).toBe(false);
    expect(await onlineBuddies(ctx.transport, s)).toBe(0);
    expect(await control('GET', '/violations')).toEqual([]);
  });

  it('gives up with a clear error after 3 retries with wrong captcha codes', async () => {
    await control('POST', '/captcha', { qq: QQ, required: true });
    const codeFile = path.join(stateDir, 'code.txt');
    let rounds = 0;
    const file = codeFilePrompt({ file: codeFile });
    const ctx = context('password', {
      prompt: {
        captchaCode: (c, signal) => {
          rounds++;
          const answer = file.captchaCode(c, signal);
          // Written once the prompt has cleared the file of the previous image.
          setTimeout(() => void writeFile(codeFile, 'ZZZZ'), 100);
          return answer;
        },
      },
    });
    const err = await login(ctx).catch((e: unknown) => e);
    expect(rounds).toBe(4);
    expect((err as LoginError).kind).toBe('wrong-captcha');
    expect((err as Error).message).toMatch(/wrong captcha code.*验证码不正确/);
  });

  it('times out clearly when nobody enters the captcha', async () => {
    await control('POST', '/captcha', { qq: QQ, required: true });
    const err = await login(context('password', { captchaTimeoutMs: 600 })).catch((e: unknown) => e);
    expect((err as LoginError).kind).toBe('captcha-timeout');
    expect((err as Error).message).toMatch(/captcha-code\.txt/);
  });
});

describe('QR login (Era C) against the simulator', () => {
  it('shows the QR code, waits for scan + confirm and gets a live SmartQQ session', async () => {
    let scanned = 0;
    const ctx = context('qrcode', { prompt: { captchaCode: () => Promise.reject(new Error('no captcha in QR login')), qrScanned: () => { scanned++; } } });
    const { codes } = await qrDriver(ctx);
    const s = await login(ctx);
    expect(s.era).toBe('qrcode');
    expect(s.clientid).toBe(ERA_C.clientid);
    expect(s.uin).toBe(QQ);
    expect(codes).toHaveLength(1);
    expect(codes[0]).toMatch(/^http:\/\/txz\.qq\.com\/p\?k=/);
    const png = await readFile(path.join(stateDir, 'qrcode.png'));
    expect(decodeQr(png)).toBe(codes[0]);
    expect(scanned).toBe(1);
    expect(await onlineBuddies(ctx.transport, s)).toBe(0);
    expect(await control('GET', '/violations')).toEqual([]);
  });

  it('fetches a new QR code when one expires', async () => {
    const ctx = context('qrcode');
    const { codes } = await qrDriver(ctx, 2);
    const s = await login(ctx);
    expect(codes).toHaveLength(2);
    expect(codes[0]).not.toBe(codes[1]);
    expect(s.psessionid).not.toBe('');
  });

  it('gives up after maxQrCodes expired codes', async () => {
    const ctx = context('qrcode', { maxQrCodes: 2 });
    ctx.prompt = { ...ctx.prompt!, qrShown: () => { void control('POST', '/qr/expire'); } };
    const err = await login(ctx).catch((e: unknown) => e);
    expect((err as LoginError).kind).toBe('qr-expired');
  });

  it('re-logs in silently via pt4_auth with the cookies of the last login', async () => {
    const ctx = context('qrcode');
    await qrDriver(ctx);
    const first = await login(ctx);
    ctx.prompt = { ...ctx.prompt!, qrShown: () => { throw new Error('silent re-login must not show a QR code'); } };
    const second = await silentRelogin(ctx);
    expect(second.uin).toBe(QQ);
    expect(second.psessionid).not.toBe(first.psessionid);
    expect(await onlineBuddies(ctx.transport, second)).toBe(0);
    expect(await control('GET', '/violations')).toEqual([]);
  });

  it('has no silent re-login without superuin/supertoken', async () => {
    const err = await silentRelogin(context('qrcode')).catch((e: unknown) => e);
    expect((err as LoginError).kind).toBe('silent-unavailable');
  });
});

describe('relink', () => {
  it.each(['password', 'qrcode'] as const)('%s: relinks after the server drops the psessionid (poll 121)', async (mode) => {
    const ctx = context(mode);
    if (mode === 'qrcode') await qrDriver(ctx);
    const s = await login(ctx);
    expect(await onlineBuddies(ctx.transport, s)).toBe(0);
    await control('POST', '/fault', { poll: { retcode: 121 } });
    expect((await poll(ctx.transport, s)).retcode).toBe(121);
    const s2 = await relink(ctx, s);
    expect(s2.psessionid).not.toBe(s.psessionid);
    expect(s2.clientid).toBe(s.clientid);
    expect(await onlineBuddies(ctx.transport, s2)).toBe(0);
    expect((await poll(ctx.transport, s2)).retcode).toBe(102);
    expect(await control('GET', '/violations')).toEqual([]);
  });

  it('throws RelinkError asking for a full relogin after poll 100', async () => {
    const ctx = context('password');
    const s = await login(ctx);
    expect(await onlineBuddies(ctx.transport, s)).toBe(0);
    await control('POST', '/fault', { poll: { retcode: 100 } });
    expect((await poll(ctx.transport, s)).retcode).toBe(100);
    const err = await relink(ctx, s).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RelinkError);
    expect((err as RelinkError).needsRelogin).toBe(true);
    expect((err as RelinkError).retcode).toBe(103);
  });

  it('keeps the session when relink fails only because the network is down', async () => {
    const ctx = context('password');
    const s = await login(ctx);
    await control('POST', '/down', { ms: 500 });
    const err = await relink(ctx, s).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RelinkError);
    expect((err as RelinkError).needsRelogin).toBe(false);
    await new Promise((r) => setTimeout(r, 600));
    expect(await onlineBuddies(ctx.transport, await relink(ctx, s))).toBe(0);
  });

  it('resumes a stored session after a restart by relinking with the saved jar', async () => {
    const ctx = context('password');
    const s = await login(ctx);
    const store = new SessionStore(stateDir);
    await store.save(s, ctx.transport.serialize());
    expect((await stat(store.file)).mode & 0o777).toBe(0o600);
    // "restart": a fresh transport built from the saved jar
    const stored = (await store.load())!;
    const ctx2 = context('password', { transport: createTransport({ endpoint: sim.url, log: silentLogger, jar: stored.jar }) });
    const { session, how } = await establishSession(ctx2, stored);
    expect(how).toBe('relink');
    expect(await onlineBuddies(ctx2.transport, session)).toBe(0);
  });
});

describe('hosts', () => {
  it('uses the era hosts', () => {
    expect(ERA_A.hosts.d).toBe('http://d.web2.qq.com');
    expect(ERA_C.hosts.d).toBe('http://d1.web2.qq.com');
    expect(ERA_C.hosts.s).toBe('https://s.web2.qq.com');
  });
});

describe('security-check page after check_sig (§1.3.4)', () => {
  it('follows the mibao_res page to a fresh check_sig and gets a live session, zero violations', async () => {
    const world = defaultWorld();
    world.accounts = world.accounts.map((a) => (a.qq === QQ ? { ...a, securityCheck: true } : a));
    const guarded = await startSimulator({ pollHoldMs: 200, world });
    try {
      const cap = capturedLogger();
      const ctx = { ...context('password'), log: cap.log, transport: createTransport({ endpoint: guarded.url, log: silentLogger }) };
      const s = await login(ctx);
      expect(cap.text()).toContain('following the security-check page after check_sig');
      expect(s.uin).toBe(QQ);
      expect(ctx.transport.cookie('p_skey', 'http://d.web2.qq.com/')).toBeTruthy();
      expect(await onlineBuddies(ctx.transport, s)).toBe(0);
      expect(await (await fetch(`${guarded.controlUrl}/violations`)).json()).toEqual([]);
    } finally {
      await guarded.close();
    }
  });
});
