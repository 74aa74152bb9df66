/**
 * The header and cookie rules the real servers enforced (§0.3, §1.6), as checks that record a
 * violation and report whether the request may go on. What a handler answers on failure is
 * decided by the handler, because every host answered differently (ptuiCB('24'), 103, 108,
 * 100000, 100101, HTTP 403).
 */
import type { Ctx } from './server.js';
import type { Session } from './sessions.js';

/** Login page URL (Era A `ui…/cgi-bin/login`, Era C also `xui…/cgi-bin/xlogin`): Referer of ptlogin/captcha calls. */
export const PTLOGIN_PAGE = [/^https:\/\/x?ui\.ptlogin2\.qq\.com\/cgi-bin\/x?login\?/];
/** Pages that opened the ptlogin frame: WebQQ and SmartQQ. */
export const PRODUCT_PAGES = [/^http:\/\/web2\.qq\.com\/(webqq\.html)?$/, /^http:\/\/w\.qq\.com\/(proxy\.html.*)?$/];

export const D_REFERERS: Record<string, RegExp[]> = {
  'd.web2.qq.com': [
    /^http:\/\/d\.web2\.qq\.com\/proxy\.html\?v=20110331002&callback=1&id=[23]$/,
    /^https:\/\/d\.web2\.qq\.com\/cfproxy\.html\?v=20110331002&callback=1$/,
    /^http:\/\/d\.web2\.qq\.com\/proxy\.html\?v=20130916001&callback=1&id=2$/,
  ],
  'd1.web2.qq.com': [
    /^https?:\/\/d1\.web2\.qq\.com\/proxy\.html\?v=20151105001&callback=1&id=2$/,
    /^https:\/\/d1\.web2\.qq\.com\/cfproxy\.html\?v=20151105001&callback=1$/,
  ],
};
export const S_REFERERS = [/^https?:\/\/s\.web2\.qq\.com\/proxy\.html\?v=(20110412001|20130916001)&callback=1&id=[13]$/];
export const PIC_REFERERS = [/^http:\/\/web2\.qq\.com\/(webqq\.html)?$/, /^http:\/\/w\.qq\.com\/$/];

/** The cookie jar the API hosts (d/d1/s/up.web2) need after check_sig (§1.6). */
export const SESSION_COOKIES = ['uin', 'skey', 'ptwebqq', 'p_uin', 'p_skey', 'pt4_token'];

/** A browser sends `Mozilla/5.0 (…)`; libraries' defaults (got, node, curl, python) do not. */
export function checkUserAgent(ctx: Ctx): boolean {
  const ua = ctx.header('user-agent');
  if (/^Mozilla\/5\.0 \(.+\)/.test(ua)) return true;
  ctx.violation('user-agent', ua ? `non-browser User-Agent: ${ua.slice(0, 80)}` : 'User-Agent missing');
  return false;
}

export function checkReferer(ctx: Ctx, allowed: RegExp[]): boolean {
  const ref = ctx.header('referer');
  if (allowed.some((r) => r.test(ref))) return true;
  ctx.violation('referer', ref ? `unexpected Referer ${ref}` : 'Referer missing');
  return false;
}

/** POSTs from the proxy iframe carry its origin: the host itself, http or https. */
export function checkOrigin(ctx: Ctx, allowedOrigins?: string[]): boolean {
  const origin = ctx.header('origin');
  const ok = allowedOrigins ? allowedOrigins.includes(origin) : origin === `http://${ctx.host}` || origin === `https://${ctx.host}`;
  if (ok) return true;
  ctx.violation('origin', origin ? `unexpected Origin ${origin}` : 'Origin missing on POST');
  return false;
}

export function checkScheme(ctx: Ctx, scheme: 'https' | 'http'): boolean {
  if (ctx.scheme === scheme) return true;
  ctx.violation('scheme', `${ctx.host} is served over ${scheme} only, request came over ${ctx.scheme}`);
  return false;
}

/** Every listed cookie present and non-empty; each missing one is its own violation. */
export function checkCookies(ctx: Ctx, names: string[]): boolean {
  let ok = true;
  for (const n of names) {
    if (!ctx.cookie(n)) {
      ctx.violation(`cookie:${n}`, `cookie ${n} missing`);
      ok = false;
    }
  }
  return ok;
}

/**
 * Finds the session from the cookies (uin + skey) and checks the whole session jar against what
 * the server issued. Returns null (violation recorded) when the cookies do not belong to a session.
 */
export function sessionFromCookies(ctx: Ctx, names = SESSION_COOKIES): Session | null {
  if (!checkCookies(ctx, names)) return null;
  const s = ctx.state.bySkey.get(ctx.cookie('skey')!);
  if (!s) {
    ctx.violation('cookie:skey', 'skey cookie was not issued by this server');
    return null;
  }
  const expect: Record<string, string> = {
    uin: `o${s.qq}`,
    ptwebqq: s.ptwebqq,
    p_uin: `o${s.qq}`,
    p_skey: s.pSkey,
    pt4_token: s.pt4Token,
  };
  for (const n of names) {
    const want = expect[n];
    if (want !== undefined && ctx.cookie(n) !== want) {
      ctx.violation(`cookie:${n}`, n === 'ptwebqq' ? 'ptwebqq cookie is not the current value (rotated by 116?)' : `cookie ${n} does not match the session`);
      return null;
    }
  }
  return s;
}

/** Parses `r` (form field, or query of a GET) as a JSON object. Records a violation and returns null otherwise. */
export function parseR(ctx: Ctx): Record<string, unknown> | null {
  const raw = ctx.method === 'POST' ? ctx.form().get('r') : ctx.query.get('r');
  if (raw === null) {
    ctx.violation('r-missing', 'form field r missing');
    return null;
  }
  try {
    const v = JSON.parse(raw) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    /* reported below */
  }
  ctx.violation('r-json', `form field r is not a JSON object: ${raw.slice(0, 80)}`);
  return null;
}

/** Integer from a JSON number or a numeric string (the web client sent both, e.g. `did`). */
export function intOf(v: unknown): number | null {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return null;
}
