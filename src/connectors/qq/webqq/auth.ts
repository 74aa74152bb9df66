/**
 * WebQQ login: password (Era A, §1.1, or SmartQQ's Era B, §1.2) with captcha, QR code (Era C,
 * §1.3), silent re-login via pt4_auth (§1.3.8) and relink (§1.4). Everything goes through the Transport, which keeps the
 * cookie jar; the Session holds the ids the channel/api calls need.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../../log.js';
import { hash33, md5Password, parseSalt, rsaTeaPassword, time33 } from './protocol-crypto.js';
import { ERA_A, ERA_B, ERA_C, hostsFor, type Era } from './hosts.js';
import {
  parseAuthCB, parseCheckVC, parseLoginPage, parsePtuiCB, ptuiCodeMeaning,
} from './ptlogin.js';
import { LoginError, RelinkError, TransportError } from './errors.js';
import { codeFilePrompt, type LoginPrompt } from './login-prompt.js';
import { decodeQr } from './qr-image.js';
import { ensureDir, type StoredSession } from './session-store.js';
import type { HttpResponse, Transport } from './transport.js';
import type { ApiSession } from './api-base.js';

export type { LoginErrorKind } from './ptlogin.js';
export { LoginError, ProtocolError, RelinkError } from './errors.js';
export { decodeQr } from './qr-image.js';

/** The login session: the ids every endpoint needs (api-base's `ApiSession`) plus the bot's nick. */
export interface Session extends ApiSession {
  nick?: string;
}

/** Which password login: WebQQ's md5 scheme (Era A, default) or SmartQQ's RSA then TEA (Era B). */
export type PasswordEra = 'webqq' | 'smartqq';

/** The channel a login ends on (`Session.era`): only Era A's password login stays on WebQQ's. */
export function channelEra(mode: Era, passwordEra: PasswordEra = 'webqq'): Era {
  return mode === 'password' && passwordEra === 'webqq' ? 'password' : 'qrcode';
}

export type QqStatus = 'online' | 'away' | 'busy' | 'silent' | 'hidden' | 'callme';

/** `webqq_type` of ptlogin's login (§2.8 numeric codes). */
const STATUS_CODE: Record<QqStatus, number> = { online: 10, away: 30, hidden: 40, busy: 50, callme: 60, silent: 70 };

export interface LoginContext {
  transport: Transport;
  log: Logger;
  mode: Era;
  /** Configured QQ number. */
  uin: number;
  password?: string;
  /** mode 'password': WebQQ's (default) or SmartQQ's password login. */
  passwordEra?: PasswordEra;
  /** SmartQQ password login: the RSA modulus (hex) `p` is encrypted to; default Tencent's (a simulator hands out its own). */
  rsaModulus?: string;
  /** Captcha and QR images are written here. */
  stateDir: string;
  status?: QqStatus;
  /** Who reads captchas and scans QR codes; default `codeFilePrompt` on `captchaCodeFile`. */
  prompt?: LoginPrompt;
  /** The default prompt waits for this file to hold the captcha code (default `<stateDir>/captcha-code.txt`). */
  captchaCodeFile?: string;
  /** How long the default prompt waits for a captcha code; default 10 min. */
  captchaTimeoutMs?: number;
  /** ptqrlogin polling interval; default 2000 ms. */
  qrPollMs?: number;
  /** Give up after this many expired QR codes; default 10. */
  maxQrCodes?: number;
  signal?: AbortSignal;
}

const MAX_CAPTCHA_RETRIES = 3;

// ---------------------------------------------------------------------------------------------
// Entry points

export async function login(ctx: LoginContext): Promise<Session> {
  return ctx.mode === 'password' ? passwordLogin(ctx) : qrLogin(ctx);
}

/**
 * SmartQQ re-login without a new scan: pt4_auth with the superuin/supertoken cookies still in the
 * jar (§1.3.8). Throws LoginError('silent-unavailable') when there is nothing to reuse.
 */
export async function silentRelogin(ctx: LoginContext): Promise<Session> {
  const t = ctx.transport;
  if (ctx.mode !== 'qrcode') {
    throw new LoginError('silent-unavailable', 'silent re-login (pt4_auth) exists only for SmartQQ QR-code sessions');
  }
  const superuin = t.cookie('superuin', ERA_C.pt4auth);
  const supertoken = t.cookie('supertoken', ERA_C.pt4auth);
  if (!superuin || !supertoken) {
    throw new LoginError('silent-unavailable', 'no superuin/supertoken cookies for a silent re-login; a QR scan is needed');
  }
  const res = await t.get(ERA_C.pt4auth, {
    query: { daid: 164, appid: ERA_C.appid, auth_token: time33(supertoken) },
    referer: ERA_C.loginPage,
    ...sig(ctx),
  });
  expectOk(res, 'pt4_auth');
  const cb = parseAuthCB(res.text());
  if (!/^https?:\/\/[^/?#]*\.qq\.com\/check_sig/.test(cb.url)) {
    throw new LoginError('silent-unavailable', `pt4_auth did not return a check_sig URL (code ${cb.code}); a QR scan is needed`, { code: cb.code, endpoint: 'pt4_auth' });
  }
  const url = `${cb.url}&regmaster=&aid=${ERA_C.appid}&s_url=${encodeURIComponent(ERA_C.sUrl)}`;
  ctx.log.info('silent re-login via pt4_auth');
  await checkSig(ctx, url);
  return smartqqChannelLogin(ctx, undefined);
}

/**
 * Relink (§1.4): login2 with the current psessionid and cookies. SmartQQ refreshes vfwebqq first.
 * Returns the new session; throws RelinkError when only a full relogin can help.
 */
export async function relink(ctx: Pick<LoginContext, 'transport' | 'log' | 'status' | 'signal'>, session: Session): Promise<Session> {
  const t = ctx.transport;
  const hosts = hostsFor(session.era);
  try {
    let vfwebqq = session.vfwebqq;
    if (session.era === 'qrcode') vfwebqq = await getVfwebqq(ctx, session.ptwebqq, session.clientid);
    const r: Record<string, unknown> =
      session.era === 'password'
        ? { status: ctx.status ?? 'online', key: '', ptwebqq: session.ptwebqq, passwd_sig: '', clientid: session.clientid, psessionid: session.psessionid }
        : { status: ctx.status ?? 'online', key: '', ptwebqq: session.ptwebqq, clientid: session.clientid, psessionid: session.psessionid };
    const form: Record<string, string> = { r: JSON.stringify(r) };
    if (session.era === 'password') Object.assign(form, { clientid: String(session.clientid), psessionid: session.psessionid });
    const res = await t.postForm(`${hosts.d}/channel/login2`, form, {
      referer: hosts.dReferer,
      origin: hosts.dOrigin,
      ...sig(ctx),
    });
    if (res.status !== 200) throw new RelinkError(`relink: login2 answered HTTP ${res.status}`);
    const body = res.json<Login2Answer>();
    if (body.retcode !== 0 || !body.result?.psessionid) {
      throw new RelinkError(`relink refused by login2 (retcode ${body.retcode}); a full re-login is needed`, body.retcode);
    }
    const out: Session = {
      ...session,
      psessionid: body.result.psessionid,
      vfwebqq: session.era === 'password' ? body.result.vfwebqq ?? vfwebqq : vfwebqq,
    };
    // Mojo sets a relinked ptwebqq/skey as .qq.com cookies so later calls and hashes use them.
    if (body.result.ptwebqq) {
      t.setCookie('ptwebqq', body.result.ptwebqq, 'qq.com');
      out.ptwebqq = body.result.ptwebqq;
    }
    if (body.result.skey) t.setCookie('skey', body.result.skey, 'qq.com');
    ctx.log.info({ era: session.era }, 'relinked WebQQ session');
    return out;
  } catch (e) {
    if (e instanceof RelinkError) throw e;
    if (ctx.signal?.aborted) throw e;
    const network = e instanceof TransportError;
    throw new RelinkError(`relink failed: ${(e as Error).message}`, undefined, { cause: e, needsRelogin: !network });
  }
}

/**
 * Start of a run: relink a stored session (its jar must already be in the transport), else
 * pt4_auth (QR mode), else a full login.
 */
export async function establishSession(
  ctx: LoginContext,
  stored?: StoredSession,
): Promise<{ session: Session; how: 'relink' | 'silent' | 'login' }> {
  if (stored && stored.era === channelEra(ctx.mode, ctx.passwordEra) && stored.uin === ctx.uin) {
    try {
      const { jar: _jar, savedAt: _s, hashVersion: _h, groups: _g, ...ids } = stored;
      return { session: await relink(ctx, ids), how: 'relink' };
    } catch (e) {
      ctx.log.warn({ err: e }, 'stored WebQQ session could not be relinked');
    }
  }
  if (ctx.mode === 'qrcode') {
    try {
      return { session: await silentRelogin(ctx), how: 'silent' };
    } catch (e) {
      if (!(e instanceof LoginError && e.kind === 'silent-unavailable')) ctx.log.warn({ err: e }, 'silent re-login failed');
    }
  }
  ctx.transport.clearCookies();
  return { session: await login(ctx), how: 'login' };
}

// ---------------------------------------------------------------------------------------------
// Eras A and B: password

async function passwordLogin(ctx: LoginContext): Promise<Session> {
  const t = ctx.transport;
  if (!ctx.password) throw new LoginError('bad-request', 'a password is required for password login', { endpoint: 'ptlogin/login' });
  // Era B is Era A's flow with SmartQQ's pages and appid, pt_tea=1 and the RSA-then-TEA `p` (§1.2).
  const smart = ctx.passwordEra === 'smartqq';
  const E = smart ? ERA_B : ERA_A;
  const page = await t.get(E.loginPage, { referer: E.loginPageReferer, ...sig(ctx) });
  expectOk(page, 'login page');
  const pageInfo = parseLoginPage(page.text());
  const loginSig = pageInfo.loginSig ?? t.cookie('pt_login_sig', E.check) ?? '';
  const jsVer = pageInfo.jsVer ?? E.jsVer;
  let captchaRounds = 0;

  for (;;) {
    t.setCookie('chkuin', String(ctx.uin), 'ptlogin2.qq.com');
    const checkRes = await t.get(E.check, {
      query: {
        ...(smart ? { pt_tea: 1 } : {}),
        uin: ctx.uin, appid: E.appid, js_ver: jsVer, js_type: 0, login_sig: loginSig, u1: E.checkU1, r: Math.random(),
      },
      referer: E.loginPage,
      ...sig(ctx),
    });
    expectOk(checkRes, 'check');
    const check = parseCheckVC(checkRes.text());
    const salt = parseSalt(check.salt);

    let vc = check.code;
    const needCaptcha = check.captchaRequired;
    // One login attempt per check: a rejected code starts again from check.
    let verifysession = check.verifysession;
    if (needCaptcha) {
      captchaRounds++;
      vc = await solveCaptcha(ctx, E, check.code, captchaRounds);
      verifysession = t.cookie('verifysession', E.login) ?? verifysession;
    } else if (!verifysession) {
      verifysession = t.cookie('verifysession', E.login) ?? '';
    }
    const p = smart
      ? rsaTeaPassword(ctx.password, salt, vc, ctx.rsaModulus ? { modulusHex: ctx.rsaModulus } : {})
      : md5Password(ctx.password, salt, vc);
    const query: Record<string, string | number> = {
      u: ctx.uin, p, verifycode: vc, webqq_type: STATUS_CODE[ctx.status ?? 'online'], remember_uin: 1, login2qq: 1,
      aid: E.appid, u1: E.loginU1, h: 1, ptredirect: 0, ptlang: 2052, daid: 164, from_ui: 1, pttype: 1,
      dumy: '', fp: 'loginerroralert', action: `0-${10 + Math.floor(Math.random() * 20)}-${5000 + Math.floor(Math.random() * 60000)}`,
      mibao_css: 'm_webqq', t: 1, g: 1, js_type: 0, js_ver: jsVer, login_sig: loginSig,
    };
    if (smart) {
      Object.assign(query, { pt_randsalt: check.randSalt || '0', pt_vcode_v1: 0, pt_verifysession_v1: verifysession });
    } else if (check.argc >= 4) {
      Object.assign(query, { pt_uistyle: 5, pt_randsalt: check.randSalt || '0', pt_vcode_v1: 0, pt_verifysession_v1: verifysession });
    }
    const res = await t.get(E.login, { query, referer: E.loginPage, ...sig(ctx) });
    expectOk(res, 'login');
    const cb = parsePtuiCB(res.text());
    if (cb.code === '0' && !/aq\.qq\.com/i.test(cb.url)) {
      ctx.log.info({ uin: ctx.uin, era: smart ? 'smartqq' : 'webqq' }, 'ptlogin password login accepted');
      await checkSig(ctx, cb.url);
      // SmartQQ's channel: getvfwebqq, then login2 with its constant clientid (§1.2, §1.3.5-6).
      return smart ? smartqqChannelLogin(ctx, cb.nick || undefined) : webqqChannelLogin(ctx, cb.nick || undefined);
    }
    const meaning = ptuiCodeMeaning(cb.code, cb.url);
    if (meaning.kind === 'wrong-captcha' && captchaRounds <= MAX_CAPTCHA_RETRIES) {
      // A check is good for one login attempt: after a rejected code (and after "page expired")
      // only a new check (new salt, new captcha if asked) can log in.
      if (needCaptcha) ctx.log.warn({ attempt: captchaRounds }, 'QQ rejected the captcha code; starting again from check');
      else captchaRounds++;
      continue;
    }
    throw new LoginError(meaning.kind, meaning.text, { code: cb.code, serverMessage: cb.message, retryable: meaning.retryable, endpoint: 'ptlogin/login' });
  }
}

async function webqqChannelLogin(ctx: LoginContext, nick: string | undefined): Promise<Session> {
  const t = ctx.transport;
  const hosts = ERA_A.hosts;
  const ptwebqq = requirePtwebqq(ctx, hosts.d);
  const clientid = String(10_000_000 + Math.floor(Math.random() * 90_000_000));
  const r = { status: ctx.status ?? 'online', ptwebqq, passwd_sig: '', clientid, psessionid: null };
  const res = await t.postForm(`${hosts.d}/channel/login2`, { r: JSON.stringify(r), clientid, psessionid: 'null' }, {
    referer: hosts.dReferer,
    origin: hosts.dOrigin,
    ...sig(ctx),
  });
  const body = login2Result(res);
  return {
    era: 'password',
    uin: body.uin,
    clientid,
    ptwebqq,
    vfwebqq: body.vfwebqq ?? '',
    psessionid: body.psessionid,
    ...(nick ? { nick } : {}),
  };
}

async function solveCaptcha(ctx: LoginContext, E: typeof ERA_A | typeof ERA_B, capCd: string, attempt: number): Promise<string> {
  const t = ctx.transport;
  const res = await t.get(E.captcha, {
    query: { aid: E.appid, r: Math.random(), uin: ctx.uin, cap_cd: capCd },
    referer: E.loginPage,
    ...sig(ctx),
  });
  expectOk(res, 'captcha getimage');
  const ext = extensionOf(res.headers['content-type']);
  const file = path.join(ctx.stateDir, `captcha.${ext}`);
  await ensureDir(ctx.stateDir);
  await fs.writeFile(file, res.body, { mode: 0o600 });
  const code = await prompt(ctx).captchaCode({ image: res.body, mime: ext === 'jpg' ? 'image/jpeg' : `image/${ext}`, file, attempt }, ctx.signal);
  return code.trim();
}

function prompt(ctx: LoginContext): LoginPrompt {
  return ctx.prompt ?? codeFilePrompt({
    file: ctx.captchaCodeFile ?? path.join(ctx.stateDir, 'captcha-code.txt'),
    ...(ctx.captchaTimeoutMs !== undefined ? { timeoutMs: ctx.captchaTimeoutMs } : {}),
    log: ctx.log,
  });
}

function extensionOf(contentType: string | string[] | undefined): string {
  const ct = (Array.isArray(contentType) ? contentType[0] : contentType)?.toLowerCase() ?? '';
  if (ct.includes('png')) return 'png';
  if (ct.includes('gif')) return 'gif';
  if (ct.includes('bmp')) return 'bmp';
  return 'jpg';
}

// ---------------------------------------------------------------------------------------------
// Era C: QR code

async function qrLogin(ctx: LoginContext): Promise<Session> {
  const t = ctx.transport;
  const page = await t.get(ERA_C.loginPage, { referer: ERA_C.loginPageReferer, ...sig(ctx) });
  expectOk(page, 'login page');
  const loginSig = t.cookie('pt_login_sig', ERA_C.ptqrlogin) ?? parseLoginPage(page.text()).loginSig ?? '';
  const maxCodes = ctx.maxQrCodes ?? 10;
  const pageLoaded = Date.now();

  for (let n = 1; n <= maxCodes; n++) {
    const img = await t.get(ERA_C.ptqrshow, {
      query: { appid: ERA_C.appid, e: 2, l: 'M', s: 3, d: 72, v: 4, t: Math.random(), daid: 164, pt_3rd_aid: 0 },
      referer: ERA_C.loginPage,
      ...sig(ctx),
    });
    expectOk(img, 'ptqrshow');
    const qrsig = t.cookie('qrsig', ERA_C.ptqrlogin);
    if (!qrsig) throw new LoginError('protocol', 'ptqrshow did not set the qrsig cookie', { endpoint: 'ptqrshow' });
    await showQrCode(ctx, img.body, n);
    let scanned = false;

    for (;;) {
      const res = await t.get(ERA_C.ptqrlogin, {
        query: {
          u1: ERA_C.loginU1, ptqrtoken: hash33(qrsig), ptredirect: 0, h: 1, t: 1, g: 1, from_ui: 1, ptlang: 2052,
          action: `0-0-${Date.now() - pageLoaded}`, js_ver: ERA_C.jsVer, js_type: 1, login_sig: loginSig, pt_uistyle: 40,
          aid: ERA_C.appid, daid: 164, mibao_css: 'm_webqq',
        },
        referer: ERA_C.loginPage,
        ...sig(ctx),
      });
      expectOk(res, 'ptqrlogin');
      const cb = parsePtuiCB(res.text());
      if (cb.code === '66' || cb.code === '67') {
        if (cb.code === '67' && !scanned) {
          scanned = true;
          prompt(ctx).qrScanned?.();
        }
        await sleep(ctx.qrPollMs ?? 2000, undefined, ctx.signal ? { signal: ctx.signal } : {});
        continue;
      }
      if (cb.code === '65') {
        ctx.log.info({ n, max: maxCodes }, 'QR code expired; fetching a new one');
        break;
      }
      if (cb.code === '0' && !/aq\.qq\.com/i.test(cb.url)) {
        ctx.log.info('QR code confirmed');
        await checkSig(ctx, cb.url);
        return smartqqChannelLogin(ctx, cb.nick || undefined);
      }
      const meaning = ptuiCodeMeaning(cb.code, cb.url);
      throw new LoginError(meaning.kind === 'unknown' ? 'qr-refused' : meaning.kind, meaning.kind === 'unknown' ? `QR login refused (code ${cb.code})` : meaning.text, {
        code: cb.code,
        serverMessage: cb.message,
        retryable: meaning.retryable,
        endpoint: 'ptqrlogin',
      });
    }
  }
  throw new LoginError('qr-expired', `${maxCodes} QR codes expired without being confirmed; start the login again`, { retryable: true, endpoint: 'ptqrlogin' });
}

async function showQrCode(ctx: LoginContext, png: Buffer, n: number): Promise<void> {
  await ensureDir(ctx.stateDir);
  const file = path.join(ctx.stateDir, 'qrcode.png');
  await fs.writeFile(file, png, { mode: 0o600 });
  ctx.log.info({ file }, 'waiting for the QR code to be scanned');
  prompt(ctx).qrShown?.({ png, file, text: decodeQr(png, ctx.log), n });
}

async function smartqqChannelLogin(ctx: LoginContext, nick: string | undefined): Promise<Session> {
  const t = ctx.transport;
  const hosts = ERA_C.hosts;
  // 2018: ptwebqq could be empty and still be accepted (Yinzo #144).
  const ptwebqq = t.cookie('ptwebqq', `${hosts.d}/`) ?? '';
  const clientid = ERA_C.clientid;
  const vfwebqq = await getVfwebqq(ctx, ptwebqq, clientid);
  const r = { ptwebqq, clientid, psessionid: '', status: ctx.status ?? 'online' };
  const res = await t.postForm(`${hosts.d}/channel/login2`, { r: JSON.stringify(r) }, {
    referer: hosts.dReferer,
    origin: hosts.dOrigin,
    ...sig(ctx),
  });
  const body = login2Result(res);
  if (body.uin !== ctx.uin) {
    ctx.log.warn({ configured: ctx.uin, scanned: body.uin }, 'the QR code was confirmed by a different QQ account than configured');
  }
  return { era: 'qrcode', uin: body.uin, clientid, ptwebqq, vfwebqq, psessionid: body.psessionid, ...(nick ? { nick } : {}) };
}

/** GET s.web2/api/getvfwebqq, retrying the sporadic HTTP 404 up to 3 times (§0.3). */
export async function getVfwebqq(
  ctx: Pick<LoginContext, 'transport' | 'log' | 'signal'>,
  ptwebqq: string,
  clientid: string | number,
): Promise<string> {
  const hosts = ERA_C.hosts;
  for (let attempt = 0; ; attempt++) {
    const res = await ctx.transport.get(`${hosts.s}/api/getvfwebqq`, {
      query: { ptwebqq, clientid, psessionid: '', t: Date.now() },
      referer: hosts.sReferer,
      origin: hosts.sOrigin,
      ...sig(ctx),
    });
    if (res.status === 404 && attempt < 3) {
      ctx.log.debug({ attempt: attempt + 1 }, 'getvfwebqq 404; retrying');
      await sleep(300 * (attempt + 1), undefined, ctx.signal ? { signal: ctx.signal } : {});
      continue;
    }
    expectOk(res, 'getvfwebqq');
    const body = res.json<{ retcode?: number; result?: { vfwebqq?: string } }>();
    if (body.retcode !== 0 || !body.result?.vfwebqq) {
      throw new LoginError('channel', `getvfwebqq failed (retcode ${body.retcode ?? '?'})`, { code: `getvfwebqq:${body.retcode}`, endpoint: 'getvfwebqq' });
    }
    return body.result.vfwebqq;
  }
}

// ---------------------------------------------------------------------------------------------
// Shared steps

/**
 * check_sig (§1.1.5/§1.3.4): only its cookies matter; the redirect target is not fetched. Some
 * ("密保") accounts first get a security-check page: load its mibao_res script and follow the
 * location it sets, which is a fresh check_sig link (pitfall 11).
 */
async function checkSig(ctx: LoginContext, url: string, depth = 0): Promise<void> {
  const res = await ctx.transport.get(url, { ...sig(ctx) });
  if (res.status >= 400) throw new LoginError('protocol', `check_sig answered HTTP ${res.status}`, { code: `http:${res.status}`, endpoint: 'check_sig' });
  if (res.status !== 200) return;
  const src = /src="([^"]*mibao_res[^"]*)"/.exec(res.text())?.[1];
  if (!src) return;
  if (depth >= 3) throw new LoginError('protocol', 'security-check pages after check_sig kept coming', { endpoint: 'check_sig' });
  ctx.log.info('following the security-check page after check_sig');
  const script = await ctx.transport.get(new URL(src.replace(/&amp;/g, '&'), url).href, { referer: url, ...sig(ctx) });
  expectOk(script, 'mibao_res');
  const next = /location\.href\s*=\s*["']([^"']+)["']/.exec(script.text())?.[1];
  if (!next) throw new LoginError('protocol', 'the security-check page did not say where to go next', { endpoint: 'mibao_res' });
  const target = new URL(next, url).href;
  if (/\/check_sig\?/.test(target)) return checkSig(ctx, target, depth + 1);
  await ctx.transport.get(target, { referer: url, ...sig(ctx) });
}

function requirePtwebqq(ctx: LoginContext, dHost: string): string {
  const v = ctx.transport.cookie('ptwebqq', `${dHost}/`);
  if (v === undefined) {
    throw new LoginError('cookies', 'login succeeded but no ptwebqq cookie was set (check_sig cookies missing)', { endpoint: 'check_sig' });
  }
  return v;
}

interface Login2Answer {
  retcode?: number;
  result?: { uin?: number; psessionid?: string; vfwebqq?: string; ptwebqq?: string; skey?: string; status?: string };
}

function login2Result(res: HttpResponse): { uin: number; psessionid: string; vfwebqq?: string } {
  expectOk(res, 'login2');
  const body = res.json<Login2Answer>();
  if (body.retcode !== 0 || !body.result?.psessionid || typeof body.result.uin !== 'number') {
    const why = body.retcode === 103 || body.retcode === 108 ? ' (cookies missing)' : '';
    throw new LoginError('channel', `channel login2 failed with retcode ${body.retcode ?? '?'}${why}`, {
      code: `login2:${body.retcode}`,
      retryable: body.retcode !== 103 && body.retcode !== 108,
      endpoint: 'login2',
    });
  }
  return {
    uin: body.result.uin,
    psessionid: body.result.psessionid,
    ...(body.result.vfwebqq !== undefined ? { vfwebqq: body.result.vfwebqq } : {}),
  };
}

function expectOk(res: HttpResponse, what: string): void {
  if (res.status === 200) return;
  throw new LoginError('protocol', `${what} answered HTTP ${res.status}`, { code: `http:${res.status}`, retryable: res.status >= 500, endpoint: what });
}

function sig(ctx: { signal?: AbortSignal }): { signal?: AbortSignal } {
  return ctx.signal ? { signal: ctx.signal } : {};
}


