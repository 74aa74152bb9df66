/**
 * Parsers for ptlogin's JavaScript-callback answers (`ptui_checkVC(...)`, `ptuiCB(...)`,
 * `ptui_auth_CB(...)`) and the ptuiCB code table (§1.1.4, §1.3.3). Pure.
 */

export class PtloginParseError extends Error {
  constructor(fn: string, text: string) {
    super(`expected ${fn}(...) from ptlogin, got: ${JSON.stringify(text.slice(0, 200))}`);
    this.name = 'PtloginParseError';
  }
}

/** All single-quoted arguments of `fn('a','b', 'c')` (with or without a trailing `;`). */
export function parseJsCall(text: string, fn: string): string[] {
  const start = text.indexOf(`${fn}(`);
  if (start < 0) throw new PtloginParseError(fn, text);
  const open = start + fn.length + 1;
  const args: string[] = [];
  const re = /\s*'((?:[^'\\]|\\.)*)'\s*(,|\))/gy;
  re.lastIndex = open;
  for (;;) {
    const m = re.exec(text);
    if (!m) break;
    args.push(m[1]!.replace(/\\(['\\])/g, '$1'));
    if (m[2] === ')') return args;
  }
  if (args.length === 0) throw new PtloginParseError(fn, text);
  return args;
}

export interface CheckVC {
  captchaRequired: boolean;
  /** The verify code (no captcha) or cap_cd (captcha). */
  code: string;
  /** `\xHH` × 8. */
  salt: string;
  verifysession: string;
  /** `pt_randsalt` to echo in login (empty when absent). */
  randSalt: string;
  /** How many args the server sent (3, 4 or 5). */
  argc: number;
}

export function parseCheckVC(text: string): CheckVC {
  const a = parseJsCall(text, 'ptui_checkVC');
  if (a.length < 3) throw new PtloginParseError('ptui_checkVC', text);
  return {
    captchaRequired: a[0] === '1',
    code: a[1]!,
    salt: a[2]!,
    verifysession: a[3] ?? '',
    randSalt: a[4] ?? '',
    argc: a.length,
  };
}

export interface PtuiCB {
  code: string;
  /** arg 3: the check_sig URL on success (or a help URL on some failures). */
  url: string;
  message: string;
  /** arg 6: nick (or QQ) on success. */
  nick: string;
  args: string[];
}

export function parsePtuiCB(text: string): PtuiCB {
  const a = parseJsCall(text, 'ptuiCB');
  return { code: a[0] ?? '', url: a[2] ?? '', message: a[4] ?? '', nick: a[5] ?? '', args: a };
}

export type LoginErrorKind =
  | 'busy'
  | 'invalid-account'
  | 'wrong-password'
  | 'wrong-captcha'
  | 'verify-failed'
  | 'retry'
  | 'banned'
  | 'bad-request'
  | 'rate-limited'
  | 'cookies'
  | 'qr-required'
  | 'frozen'
  | 'qr-refused'
  | 'qr-expired'
  | 'captcha-timeout'
  | 'silent-unavailable'
  | 'channel'
  | 'protocol'
  | 'unknown';

export interface CodeMeaning {
  kind: LoginErrorKind;
  text: string;
  /** Trying again later can succeed without the user changing anything. */
  retryable: boolean;
}

/** ptuiCB code → what it means for the user. `url` catches the "frozen account" case. */
export function ptuiCodeMeaning(code: string, url = ''): CodeMeaning {
  if (/aq\.qq\.com/i.test(url)) {
    return { kind: 'frozen', text: 'the QQ account is frozen or flagged as abnormal; unlock it at aq.qq.com', retryable: false };
  }
  switch (code) {
    case '1':
      return { kind: 'busy', text: 'the QQ login server is busy; try again later', retryable: true };
    case '2':
      return { kind: 'invalid-account', text: 'the QQ number is invalid or expired', retryable: false };
    case '3':
      return { kind: 'wrong-password', text: 'wrong QQ number or password', retryable: false };
    case '4':
      return { kind: 'wrong-captcha', text: 'wrong captcha code (or the login page expired)', retryable: true };
    case '5':
      return { kind: 'verify-failed', text: 'QQ login verification failed', retryable: true };
    case '6':
      return { kind: 'retry', text: 'QQ asked to retry the login', retryable: true };
    case '71':
      return { kind: 'banned', text: 'this QQ account is banned from logging in (abnormal account)', retryable: false };
    case '7':
      return { kind: 'bad-request', text: 'QQ rejected the login request parameters (client bug)', retryable: false };
    case '8':
      return { kind: 'rate-limited', text: 'too many logins from this IP address; wait before trying again', retryable: true };
    case '24':
      return { kind: 'cookies', text: 'QQ says cookies are missing (the check/captcha cookies were not sent)', retryable: false };
    case '10005':
      return { kind: 'qr-required', text: 'QQ requires a QR-code login for this account; set qq.login to "qrcode"', retryable: false };
    default:
      return { kind: 'unknown', text: `QQ login failed with code ${code}`, retryable: false };
  }
}

/** `ptui_auth_CB('<code>','<url>')` from pt4_auth. */
export function parseAuthCB(text: string): { code: string; url: string } {
  const a = parseJsCall(text, 'ptui_auth_CB');
  return { code: a[0] ?? '', url: a[1] ?? '' };
}

/** `var g_login_sig=encodeURIComponent("...")` / `g_pt_version=encodeURIComponent("10114")` from the login page. */
export function parseLoginPage(html: string): { loginSig?: string; jsVer?: number } {
  const sig = /g_login_sig\s*=\s*encodeURIComponent\(\s*"([^"]*)"\s*\)/.exec(html)?.[1];
  const ver = /g_pt_version\s*=\s*(?:encodeURIComponent\(\s*)?"?(\d+)/.exec(html)?.[1];
  return { ...(sig !== undefined ? { loginSig: sig } : {}), ...(ver ? { jsVer: Number(ver) } : {}) };
}
