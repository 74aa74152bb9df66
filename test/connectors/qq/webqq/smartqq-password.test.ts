/**
 * Era B: SmartQQ's password login (w.qq.com, appid 501004106, 2014-12 → 2015-09; reference
 * §1.2), its "RSA then TEA" `p` pinned by the reference's vectors, and the login end to end
 * against the simulator over real HTTP: live session, wrong password, captcha, restart.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { establishSession, login, LoginError, type LoginContext, type Session } from '../../../../src/connectors/qq/webqq/auth.js';
import { ERA_C, hostsFor } from '../../../../src/connectors/qq/webqq/hosts.js';
import { codeFilePrompt } from '../../../../src/connectors/qq/webqq/login-prompt.js';
import {
  openRsaTeaPassword, qqTeaDecrypt, qqTeaEncrypt, QqTeaError, rsaTeaKeys, rsaTeaPassword, saltFromUin, SMARTQQ_RSA_MODULUS,
} from '../../../../src/connectors/qq/webqq/protocol-crypto.js';
import { SessionStore } from '../../../../src/connectors/qq/webqq/session-store.js';
import { createTransport, type Transport } from '../../../../src/connectors/qq/webqq/transport.js';
import { silentLogger } from '../../../../src/log.js';
import { startSimulator, type RunningSimulator } from '../../../../src/simulator/index.js';

const QQ = 2769546520;
const zeros = (n: number) => new Uint8Array(n);

describe('"RSA then TEA" (§1.2.1), with the reference vectors', () => {
  const salt = saltFromUin(QQ);

  it('derives h1 and the TEA key of the deterministic cross-check', () => {
    const { h1, teaKey } = rsaTeaKeys('123456', salt);
    expect(h1.toString('hex').toUpperCase()).toBe('E10ADC3949BA59ABBE56E057F20F883E');
    expect(teaKey.toString('hex').toUpperCase()).toBe('56C3BC79DDDCBE802ACA75C5C1992CCE');
  });

  it('gives the reference p with Math.random = 0: its first block, length and padding', () => {
    const p = rsaTeaPassword('123456', salt, '!UGX', { random: zeros });
    // The first 8 cipher bytes depend on the key and the padding header only (the RSA part is random).
    expect(p.startsWith('w-Mevjq4I2')).toBe(true);
    expect(p.endsWith('__')).toBe(true);
    expect(p).toHaveLength(216); // 144 bytes of plaintext + 16 of padding, in base64
    expect(p).toMatch(/^[A-Za-z0-9*_-]+$/);
  });

  it('builds the 144-byte plaintext of the reference: 0080 ‖ RSA ‖ salt ‖ 0004 ‖ !UGX', () => {
    const p = rsaTeaPassword('123456', salt, '!ugx', { random: zeros });
    const { teaKey } = rsaTeaKeys('123456', salt);
    const plain = qqTeaDecrypt(teaKey, Buffer.from(p.replace(/-/g, '/').replace(/\*/g, '+').replace(/_/g, '='), 'base64'));
    expect(plain).toHaveLength(144);
    expect(plain.subarray(0, 2).toString('hex')).toBe('0080');
    expect(plain.subarray(-14).toString('hex')).toBe('00000000a513ed18000421554758');
    expect(openRsaTeaPassword(p, '123456', salt).verifyCode).toBe('!UGX');
  });

  it('QQ-TEA round-trips every length, and a wrong key does not open it', () => {
    const { teaKey } = rsaTeaKeys('123456', salt);
    for (let n = 0; n < 40; n++) {
      const plain = Buffer.from(Array.from({ length: n }, (_, i) => (i * 37) & 0xff));
      const c = qqTeaEncrypt(teaKey, plain);
      expect(c.length % 8).toBe(0);
      expect(qqTeaDecrypt(teaKey, c)).toEqual(plain);
    }
    const other = rsaTeaKeys('654321', salt).teaKey;
    expect(() => openRsaTeaPassword(rsaTeaPassword('123456', salt, '!UGX'), '654321', salt)).toThrow(QqTeaError);
    expect(() => qqTeaDecrypt(other, qqTeaEncrypt(teaKey, Buffer.from('0123456789abcdef')))).toThrow(QqTeaError);
  });

  it('encrypts MD5(pwd) to Tencent\'s 1024-bit key by default (a 128-byte block)', () => {
    expect(SMARTQQ_RSA_MODULUS).toHaveLength(256);
    expect(openRsaTeaPassword(rsaTeaPassword('123456', salt, '!UGX'), '123456', salt).rsaH1).toHaveLength(128);
  });
});

// The simulator owns a key pair like Tencent's (1024 bits, e = 3) and opens the RSA block with it.
const keys = generateKeyPairSync('rsa', { modulusLength: 1024, publicExponent: 3 });
const simModulus = Buffer.from(keys.publicKey.export({ format: 'jwk' }).n!, 'base64url').toString('hex');

let sim: RunningSimulator;
let stateDir: string;
beforeAll(async () => {
  sim = await startSimulator({ pollHoldMs: 200, smartqqRsaKey: keys.privateKey });
});
afterAll(async () => {
  await sim?.close();
});
beforeEach(async () => {
  stateDir = await mkdtemp(path.join(os.tmpdir(), 'qq-smartqq-'));
  await control('DELETE', '/violations');
  await control('POST', '/captcha', { qq: QQ, required: false });
});
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

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

function context(extra: Partial<LoginContext> = {}): LoginContext & { transport: Transport } {
  return {
    transport: createTransport({ endpoint: sim.url, log: silentLogger }),
    log: silentLogger,
    mode: 'password',
    passwordEra: 'smartqq',
    rsaModulus: simModulus,
    uin: QQ,
    password: '123456',
    stateDir,
    ...extra,
  };
}

/** The warm-up call a client makes first; 0 proves the session is live. */
async function onlineBuddies(t: Transport, s: Session): Promise<number> {
  const h = hostsFor(s.era);
  const res = await t.get(`${h.d}/channel/get_online_buddies2`, {
    query: { vfwebqq: s.vfwebqq, clientid: s.clientid, psessionid: s.psessionid, t: Date.now() },
    referer: h.dReferer,
  });
  return res.json<{ retcode: number }>().retcode;
}

describe('SmartQQ password login (Era B) against the simulator', () => {
  it('logs in to a live SmartQQ session and breaks no protocol rule', async () => {
    const ctx = context();
    const s = await login(ctx);
    expect(s.era).toBe('qrcode'); // the SmartQQ channel: getvfwebqq, constant clientid
    expect(s.clientid).toBe(ERA_C.clientid);
    expect(s.uin).toBe(QQ);
    expect(s.nick).toBe('qqbot');
    expect(await onlineBuddies(ctx.transport, s)).toBe(0);
    expect(await control('GET', '/violations')).toEqual([]);
  });

  it('says clearly that the password is wrong', async () => {
    const err = await login(context({ password: 'nope' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LoginError);
    expect((err as LoginError).kind).toBe('wrong-password');
    expect(await control('GET', '/violations')).toEqual([]);
  });

  it('is refused when MD5(pwd) is encrypted to a key the server does not hold', async () => {
    const err = await login(context({ rsaModulus: undefined as unknown as string })).catch((e: unknown) => e);
    expect((err as LoginError).kind).toBe('wrong-password');
    const v = await control<{ rule: string; detail: string }[]>('GET', '/violations');
    expect(v.map((x) => x.detail)).toEqual(["p's RSA block was not encrypted to this server's public key"]);
  });

  it('answers a captcha on SmartQQ\'s pages and logs in with the code, zero violations', async () => {
    await control('POST', '/captcha', { qq: QQ, required: true });
    const codeFile = path.join(stateDir, 'code.txt');
    const file = codeFilePrompt({ file: codeFile });
    let rounds = 0;
    const ctx = context({
      prompt: {
        captchaCode: (c, signal) => {
          rounds++;
          const answer = file.captchaCode(c, signal);
          setTimeout(() => void (async () => {
            const { code } = await control<{ code: string }>('GET', `/captcha?qq=${QQ}`);
            await writeFile(codeFile, `${code.toLowerCase()}\n`);
          })(), 100);
          return answer;
        },
      },
    });
    const s = await login(ctx);
    expect(rounds).toBe(1);
    expect(await onlineBuddies(ctx.transport, s)).toBe(0);
    expect(await control('GET', '/violations')).toEqual([]);
  });

  it('resumes its stored session after a restart by relinking, not logging in again', async () => {
    const ctx = context();
    const s = await login(ctx);
    const store = new SessionStore(stateDir);
    await store.save(s, ctx.transport.serialize());
    const stored = (await store.load())!;
    const ctx2 = context({ transport: createTransport({ endpoint: sim.url, log: silentLogger, jar: stored.jar }) });
    const { session, how } = await establishSession(ctx2, stored);
    expect(how).toBe('relink');
    expect(await onlineBuddies(ctx2.transport, session)).toBe(0);
    expect(await control('GET', '/violations')).toEqual([]);
  });
});

describe('the simulator holds an Era B login to SmartQQ\'s rules', () => {
  const LOGIN_PAGE = 'https://ui.ptlogin2.qq.com/cgi-bin/login?daid=164&target=self&style=16&mibao_css=m_webqq&appid=501004106&enable_qlogin=0&no_verifyimg=1&s_url=http%3A%2F%2Fw.qq.com%2Fproxy.html&f_url=loginerroralert&strong_login=1&login_state=10&t=20131024001';

  it('flags a SmartQQ check without pt_tea=1, and takes Era A\'s md5 p on SmartQQ\'s login for a wrong password', async () => {
    const t = createTransport({ endpoint: sim.url, log: silentLogger });
    t.setCookie('chkuin', String(QQ), 'ptlogin2.qq.com');
    const check = await t.get('https://ssl.ptlogin2.qq.com/check', {
      query: { uin: QQ, appid: 501004106, js_ver: 10125, js_type: 0, login_sig: '', u1: 'http://w.qq.com/proxy.html', r: 0.5 },
      referer: LOGIN_PAGE,
    });
    const args = [...check.text().matchAll(/'([^']*)'/g)].map((m) => m[1]);
    expect(args).toHaveLength(5);
    const res = await t.get('https://ssl.ptlogin2.qq.com/login', {
      query: {
        u: QQ, p: 'BB28CA7D6038207184922F960B88B940', verifycode: args[1]!, webqq_type: 10, remember_uin: 1, login2qq: 1, aid: 501004106,
        u1: 'http://w.qq.com/proxy.html?login2qq=1&webqq_type=10', h: 1, ptredirect: 0, ptlang: 2052, daid: 164, from_ui: 1, pttype: 1,
        dumy: '', fp: 'loginerroralert', action: '0-1-2', mibao_css: 'm_webqq', t: 1, g: 1, js_type: 0, js_ver: 10125, login_sig: '',
        pt_randsalt: 0, pt_vcode_v1: 0, pt_verifysession_v1: '',
      },
      referer: LOGIN_PAGE,
    });
    // An md5-scheme p does not open as Era B's TEA text: to the server it is a wrong password.
    expect(res.text()).toMatch(/^ptuiCB\('3','0','','0','您输入的帐号或密码不正确/);
    const rules = (await control<{ rule: string }[]>('GET', '/violations')).map((v) => v.rule);
    expect(rules).toEqual(['param:pt_tea']);
  });
});
