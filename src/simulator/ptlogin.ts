/**
 * ptlogin: the login page, check, captcha, password login (Era A md5 scheme, verified exactly;
 * Era B RSA then TEA, its TEA layer verified exactly, its RSA block when given the key), QR login (ptqrshow/ptqrlogin), check_sig, pt4_auth silent relogin and logout (§1).
 */
import { constants, createHash, privateDecrypt, randomInt, type KeyObject } from 'node:crypto';
import QRCode from 'qrcode';
import { formatSalt, hash33, md5Password, openRsaTeaPassword, QqTeaError, saltFromUin, time33 } from '../connectors/qq/webqq/protocol-crypto.js';
import { newCaptchaCode, renderCaptcha } from './captcha.js';
import { checkCookies, checkReferer, checkScheme, checkUserAgent, PRODUCT_PAGES, PTLOGIN_PAGE } from './rules.js';
import { route, type Ctx, type Routes } from './server.js';
import { ALNUM, PT_ALPHABET, randomFrom, randomHex, type QrCode, type Session, type SimState } from './sessions.js';

export const APPID_WEBQQ = '1003903';
export const APPID_SMARTQQ = '501004106';
const JS_VER = '10062';

/** ptlogin's JS answers quote every argument in single quotes. */
const q = (s: string | number) => `'${String(s).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
export function ptuiCB(code: string, n: string, url: string, msg: string, nick: string): string {
  return `ptuiCB(${q(code)},${q(n)},${q(url)},'0',${q(msg)}, ${q(nick)});`;
}
const errNo = () => randomInt(1_000_000_000, 4_000_000_000);
const MSG_COOKIES = () => `很遗憾，网络连接出现异常，请您检查是否禁用cookies。(${errNo()})`;
const MSG_PARAMS = () => `很遗憾，网络连接出现异常，请您稍后再试。(${errNo()})`;
const MSG_BAD_PASSWORD = '您输入的帐号或密码不正确，请重新输入。';
const MSG_BAD_CODE = '您输入的验证码不正确，请重新输入。';
const MSG_EXPIRED = '页面过期，请重试。*';

/** Headers every ptlogin call needs; a browser would never send these calls without them. */
function ptloginHeaders(ctx: Ctx, referers: RegExp[] = PTLOGIN_PAGE, scheme: 'https' | 'http' = 'https'): boolean {
  const ok = [checkScheme(ctx, scheme), checkUserAgent(ctx), checkReferer(ctx, referers)].every(Boolean);
  if (!ok) ctx.send(403, '<html><body><h1>403 Forbidden</h1></body></html>', 'text/html; charset=utf-8');
  return ok;
}

/** The check_sig link of a fresh login (§1.1.5 / §1.3.3 sample). */
function checkSigUrl(s: Session, service: string, sUrl: string, aid: string): string {
  const p = new URLSearchParams({
    pttype: '1',
    uin: String(s.qq),
    service,
    nodirect: '0',
    ptsigx: s.ptsigx ?? '',
    s_url: sUrl,
    f_url: '',
    ptlang: '2052',
    ptredirect: '100',
    aid,
    daid: '164',
    j_later: '0',
    low_login_hour: '0',
    regmaster: '0',
    pt_login_type: service === 'ptqrlogin' ? '3' : '1',
    pt_aid: '0',
    pt_aaid: service === 'ptqrlogin' ? '16' : '0',
    pt_light: '0',
    pt_3rd_aid: '0',
  });
  return `http://ptlogin4.web2.qq.com/check_sig?${p.toString()}`;
}

/** The cookies of a successful ptlogin (§1.6), on their real domains. */
function issueLoginCookies(ctx: Ctx, s: Session, withNick: boolean): void {
  const year = new Date(Date.now() + 365 * 86400_000);
  ctx.setCookie('pt2gguin', `o${s.qq}`, 'qq.com', { expires: year });
  ctx.setCookie('uin', `o${s.qq}`, 'qq.com');
  ctx.setCookie('skey', s.skey, 'qq.com');
  ctx.setCookie('ptisp', 'ctc', 'qq.com');
  ctx.setCookie('RK', s.rk, 'qq.com', { expires: year });
  ctx.setCookie('ptwebqq', s.ptwebqq, 'qq.com');
  ctx.setCookie('ptcz', s.ptcz, 'ptlogin2.qq.com', { expires: year });
  ctx.setCookie('ptui_loginuin', String(s.qq), 'ptlogin2.qq.com', { expires: year });
  ctx.setCookie('superuin', `o${s.qq}`, 'ptlogin2.qq.com');
  ctx.setCookie('superkey', s.superkey, 'ptlogin2.qq.com', { httpOnly: true });
  ctx.setCookie('supertoken', s.supertoken, 'ptlogin2.qq.com');
  if (withNick) ctx.setCookie(`ptnick_${s.qq}`, Buffer.from(s.account.nick, 'utf8').toString('hex'), 'ptlogin2.qq.com');
}

function loginPage(state: SimState) {
  return (ctx: Ctx) => {
    if (!ptloginHeaders(ctx, PRODUCT_PAGES)) return;
    const appid = ctx.query.get('appid') ?? '';
    if (appid !== APPID_WEBQQ && appid !== APPID_SMARTQQ) ctx.violation('appid', `login page for unknown appid ${appid}`);
    const sig = randomFrom(PT_ALPHABET, 64);
    state.loginSigs.add(sig);
    ctx.setCookie('pt_login_sig', sig, 'ptlogin2.qq.com');
    ctx.setCookie('pt_clientip', randomHex(8), 'ptlogin2.qq.com');
    ctx.setCookie('pt_serverip', randomHex(16), 'ptlogin2.qq.com');
    ctx.setCookie('pt_local_token', String(randomInt(1, 2_000_000_000)), 'ptlogin2.qq.com');
    ctx.setCookie('uikey', randomHex(64), 'ptlogin2.qq.com');
    ctx.send(
      200,
      `<!DOCTYPE html><html><head><meta charset="utf-8"><title>QQ帐号安全登录</title><script type="text/javascript">
var g_href="${ctx.scheme}://${ctx.host}${ctx.req.url ?? ''}",g_appid=${Number(appid) || 0},g_daid=164,g_style=${ctx.query.get('style') ?? 5};
var g_login_sig=encodeURIComponent("${sig}"),g_pt_version=${JS_VER},g_mibao_css="m_webqq";
</script></head><body><div id="login"></div></body></html>`,
      'text/html; charset=utf-8',
    );
  };
}

/** login_sig: empty or one this server put on a login page. */
function checkLoginSig(state: SimState, ctx: Ctx): boolean {
  const sig = ctx.query.get('login_sig') ?? '';
  if (sig === '' || state.loginSigs.has(sig)) return true;
  ctx.violation('login_sig', 'login_sig was not issued by a login page');
  return false;
}

function check(state: SimState) {
  return (ctx: Ctx) => {
    if (!ptloginHeaders(ctx)) return;
    const uinText = ctx.query.get('uin') ?? '';
    if (!/^\d{5,10}$/.test(uinText) || Number(uinText) > 0xffffffff) {
      ctx.violation('param:uin', `check with invalid uin ${uinText}`);
      ctx.js(`ptui_checkVC('1','${randomFrom(PT_ALPHABET, 32)}','\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00');`);
      return;
    }
    // Era A (WebQQ, appid 1003903) or Era B (SmartQQ, appid 501004106, always with pt_tea=1).
    const appid = ctx.query.get('appid') ?? '';
    const era: 'A' | 'B' = appid === APPID_SMARTQQ ? 'B' : 'A';
    if (appid !== APPID_WEBQQ && appid !== APPID_SMARTQQ) ctx.violation('appid', `check with appid ${appid} (password login is WebQQ's ${APPID_WEBQQ} or SmartQQ's ${APPID_SMARTQQ})`);
    if (era === 'B' && ctx.query.get('pt_tea') !== '1') ctx.violation('param:pt_tea', "SmartQQ's check is sent with pt_tea=1 (its password is RSA then TEA)");
    if (era === 'B' && ctx.query.get('u1') !== 'http://w.qq.com/proxy.html') ctx.violation('param:u1', `SmartQQ's check u1 is http://w.qq.com/proxy.html, got ${ctx.query.get('u1') ?? ''}`);
    checkLoginSig(state, ctx);
    const qq = Number(uinText);
    // Asked again at every check until a login through a captcha succeeds.
    const captcha = state.captchaRequired.has(qq);
    const salt = saltFromUin(qq);
    const ptvfsession = randomHex(112);
    const pending = {
      qq,
      vc: captcha ? newCaptchaCode() : `!${randomFrom('ABCDEFGHIJKLMNOPQRSTUVWXYZ', 3)}`,
      salt,
      captcha,
      era,
      capCd: randomFrom(PT_ALPHABET, 32),
      verifysession: null,
      used: false,
      at: Date.now(),
    };
    state.checks.set(ptvfsession, pending);
    ctx.setCookie('confirmuin', String(qq), 'ptlogin2.qq.com');
    ctx.setCookie('ptvfsession', ptvfsession, 'ptlogin2.qq.com');
    ctx.setCookie('ptisp', 'ctc', 'qq.com');
    const head = `ptui_checkVC('${captcha ? '1' : '0'}','${captcha ? pending.capCd : pending.vc}','${formatSalt(salt)}'`;
    // SmartQQ's check (2015) has the 4th (verifysession; empty until a captcha image) and 5th (randsalt) args.
    ctx.js(era === 'B' ? `${head},'','0');` : `${head});`);
  };
}

function getimage(state: SimState) {
  return (ctx: Ctx) => {
    if (!ptloginHeaders(ctx, PTLOGIN_PAGE, ctx.host === 'ssl.captcha.qq.com' ? 'https' : 'http')) return;
    const qq = Number(ctx.query.get('uin') ?? NaN);
    const capCd = ctx.query.get('cap_cd');
    const asked = [...state.checks.values()]
      .filter((c) => c.qq === qq && c.captcha && (!capCd || c.capCd === capCd))
      .sort((a, b) => b.at - a.at)[0];
    const pending = asked && !asked.used ? asked : undefined;
    const verifysession = `h02${randomFrom(PT_ALPHABET, 80)}**`;
    if (pending) pending.verifysession = verifysession;
    else if (asked) ctx.violation('captcha', `getimage for uin ${qq} on a check a login attempt already used (a check is good for one attempt: run check again)`);
    else ctx.violation('captcha', `getimage for uin ${ctx.query.get('uin') ?? ''} without a check that asked for a captcha`);
    ctx.setCookie('verifysession', verifysession, 'qq.com');
    ctx.send(200, renderCaptcha(pending?.vc ?? newCaptchaCode()), 'image/jpeg');
  };
}

function login(state: SimState) {
  return (ctx: Ctx) => {
    if (!ptloginHeaders(ctx)) return;
    const u = ctx.query.get('u') ?? '';
    const fail = (code: string, n: string, msg: string) => ctx.js(ptuiCB(code, n, '', msg, u));
    if (!checkCookies(ctx, ['chkuin', 'confirmuin', 'ptvfsession'])) return fail('24', '0', MSG_COOKIES());
    const pending = state.checks.get(ctx.cookie('ptvfsession')!);
    if (!pending) {
      ctx.violation('cookie:ptvfsession', 'ptvfsession was not issued by check');
      return fail('4', '2', MSG_EXPIRED);
    }
    if (ctx.cookie('chkuin') !== u || ctx.cookie('confirmuin') !== u || String(pending.qq) !== u) {
      ctx.violation('param:u', `login for ${u} but check/cookies were for ${pending.qq}`);
      return fail('7', '0', MSG_PARAMS());
    }
    const missing = ['p', 'verifycode', 'u1', 'aid', 'webqq_type', 'js_ver'].filter((k) => !ctx.query.get(k));
    const aid = pending.era === 'B' ? APPID_SMARTQQ : APPID_WEBQQ;
    // Era A: 32 hex digits (md5 scheme); Era B: the TEA text in ptlogin's base64 (A-Z a-z 0-9 * - _).
    const pShape = pending.era === 'B' ? /^[A-Za-z0-9*-]+_{0,2}$/ : /^[0-9A-F]{32}$/;
    if (missing.length || ctx.query.get('aid') !== aid || !pShape.test(ctx.query.get('p') ?? '')) {
      ctx.violation('params', `login parameters wrong: ${missing.length ? `missing ${missing.join(',')}` : `aid=${ctx.query.get('aid')} p=${(ctx.query.get('p') ?? '').length} chars`}`);
      return fail('7', '0', MSG_PARAMS());
    }
    if (!checkLoginSig(state, ctx)) return fail('7', '0', MSG_PARAMS());
    if (pending.used) {
      // A check is good for one login attempt, whatever its outcome.
      ctx.violation('check-reused', 'login with a ptvfsession a login attempt already used (run check again)');
      return fail('4', '2', MSG_EXPIRED);
    }
    const vc = ctx.query.get('verifycode')!;
    if (pending.captcha) {
      const vs = ctx.cookie('verifysession') ?? ctx.query.get('pt_verifysession_v1') ?? '';
      if (!vs || vs !== pending.verifysession) {
        ctx.violation('cookie:verifysession', vs ? 'verifysession is not the one of the latest captcha image' : 'verifysession missing (captcha image not fetched?)');
        return fail('24', '0', MSG_COOKIES());
      }
      if (vc.toUpperCase() !== pending.vc) {
        // A wrong answer uses up the check: the next try starts at check (new salt, new image).
        pending.used = true;
        return fail('4', '0', MSG_BAD_CODE);
      }
    } else if (vc.toUpperCase() !== pending.vc) {
      ctx.violation('verifycode', `verifycode ${vc} is not the one check returned`);
      pending.used = true;
      return fail('4', '0', MSG_BAD_CODE);
    }
    pending.used = true;
    const account = state.account(Number(u));
    if (!account) return fail('3', '0', MSG_BAD_PASSWORD);
    if (pending.era === 'B') {
      if (!smartqqPasswordOk(state, ctx, ctx.query.get('p')!, account.password, pending.salt, vc)) return fail('3', '0', MSG_BAD_PASSWORD);
    } else if (ctx.query.get('p') !== md5Password(account.password, pending.salt, vc)) {
      return fail('3', '0', MSG_BAD_PASSWORD);
    }
    if (pending.captcha) state.captchaRequired.delete(account.qq);
    const s = state.newSession(account, pending.era === 'B' ? 'C' : 'A');
    issueLoginCookies(ctx, s, false);
    ctx.js(ptuiCB('0', '0', checkSigUrl(s, 'login', ctx.query.get('u1')!, aid), '登录成功！', account.nick));
  };
}

/**
 * Era B's `p` (§1.2.1): the TEA layer, keyed by MD5(MD5(pwd) ‖ salt), opens only with the right
 * password; inside it the salt and verify code must be this check's, and the RSA block is
 * 1024 bits. With the simulator's own RSA key the block must hold MD5(pwd).
 */
function smartqqPasswordOk(state: SimState, ctx: Ctx, p: string, password: string, salt: Uint8Array, vc: string): boolean {
  let inner: ReturnType<typeof openRsaTeaPassword>;
  try {
    inner = openRsaTeaPassword(p, password, salt);
  } catch (e) {
    if (e instanceof QqTeaError) return false; // not made with this password and salt: wrong password
    throw e;
  }
  if (!inner.salt.equals(Buffer.from(salt))) {
    ctx.violation('p', "p's salt is not the one check returned");
    return false;
  }
  if (inner.verifyCode !== vc.toUpperCase()) {
    ctx.violation('p', `p's verify code ${JSON.stringify(inner.verifyCode)} is not the upper-cased verifycode ${JSON.stringify(vc.toUpperCase())}`);
    return false;
  }
  if (inner.rsaH1.length !== 128) {
    ctx.violation('p', `p's RSA block is ${inner.rsaH1.length} bytes; SmartQQ's key is 1024 bits (128 bytes)`);
    return false;
  }
  const key = state.cfg.smartqqRsaKey;
  if (!key) return true;
  const h1 = rsaOpen(key, inner.rsaH1);
  if (!h1) {
    ctx.violation('p', "p's RSA block was not encrypted to this server's public key");
    return false;
  }
  return h1.equals(createHash('md5').update(Buffer.from(Array.from(password, (ch) => ch.charCodeAt(0) & 0xff))).digest());
}

/** PKCS#1 v1.5 type 2 unpadding by hand: Node refuses RSA_PKCS1_PADDING for private decryption. */
function rsaOpen(key: KeyObject, block: Buffer): Buffer | undefined {
  let raw: Buffer;
  try {
    raw = privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, block);
  } catch {
    return undefined;
  }
  if (raw[0] !== 0 || raw[1] !== 2) return undefined;
  const end = raw.indexOf(0, 2);
  if (end < 10) return undefined;
  return raw.subarray(end + 1);
}

/** The live session of the query's `uin` whose one-time token `field` (cleared once used) is the query's `param`. */
function sessionHolding(state: SimState, ctx: Ctx, param: string, field: 'ptsigx' | 'mibaoToken') {
  const value = ctx.query.get(param) ?? '';
  const uin = Number(ctx.query.get('uin') ?? NaN);
  return [...state.current.values()].find((x) => x[field] !== null && x[field] === value && x.qq === uin && !x.dead);
}

function checkSig(state: SimState) {
  return (ctx: Ctx) => {
    if (!checkUserAgent(ctx)) return ctx.send(403, '403 Forbidden');
    const s = sessionHolding(state, ctx, 'ptsigx', 'ptsigx');
    const sUrl = ctx.query.get('s_url') ?? '';
    if (!s || !/^https?:\/\/(web2|w)\.qq\.com\//.test(sUrl)) {
      ctx.violation('check_sig', s ? `bad s_url ${sUrl}` : 'check_sig link unknown or already used');
      return ctx.send(200, '<html><head><script>location.href="http://ui.ptlogin2.qq.com/cgi-bin/err"</script></head></html>', 'text/html; charset=utf-8');
    }
    if (s.account.securityCheck && s.mibaoToken === null && !s.checkSigDone && s.mibaoNext === '') {
      // A "密保" account: a page that loads mibao_res, whose script leads to a fresh check_sig link.
      s.mibaoToken = randomHex(32);
      s.ptsigx = randomHex(128);
      const q2 = new URLSearchParams(ctx.query);
      q2.set('ptsigx', s.ptsigx);
      s.mibaoNext = `http://ptlogin4.web2.qq.com/check_sig?${q2.toString()}`;
      const src = `https://ssl.ptlogin2.qq.com/mibao_res?uin=${s.qq}&token=${s.mibaoToken}`;
      return ctx.send(200, `<!DOCTYPE html><html><head><meta charset="utf-8"><title>安全验证</title></head><body><script type="text/javascript" src="${src.replace(/&/g, '&amp;')}"></script></body></html>`, 'text/html; charset=utf-8');
    }
    s.ptsigx = null;
    s.checkSigDone = true;
    ctx.setCookie('p_uin', `o${s.qq}`, 'web2.qq.com');
    ctx.setCookie('p_skey', s.pSkey, 'web2.qq.com');
    ctx.setCookie('pt4_token', s.pt4Token, 'web2.qq.com');
    ctx.redirect(sUrl);
  };
}

// ------------------------------------------------------------------------------------ QR

const QR_TEXT: Record<string, string> = {
  '66': '二维码未失效。',
  '67': '二维码认证中。',
  '65': '二维码已失效。',
};

function qrExpired(state: SimState, c: QrCode): boolean {
  if (c.state === 'created' || c.state === 'scanned') {
    if (Date.now() - c.createdAt > state.cfg.qrLifetimeMs) c.state = 'expired';
  }
  return c.state === 'expired' || c.state === 'used';
}

function ptqrshow(state: SimState) {
  return async (ctx: Ctx) => {
    if (!ptloginHeaders(ctx)) return;
    if (ctx.query.get('appid') !== APPID_SMARTQQ) ctx.violation('appid', `ptqrshow with appid ${ctx.query.get('appid') ?? ''}`);
    const qrsig = randomFrom(`${ALNUM}*-`, 64);
    state.qrcodes.push({ qrsig, state: 'created', qq: null, createdAt: Date.now() });
    if (state.qrcodes.length > 50) state.qrcodes.shift();
    ctx.setCookie('qrsig', qrsig, 'ptlogin2.qq.com');
    const png = await QRCode.toBuffer(`http://txz.qq.com/p?k=${qrsig}&f=${APPID_SMARTQQ}`, { type: 'png', margin: 2, scale: 3 });
    ctx.send(200, png, 'image/png');
  };
}

function ptqrlogin(state: SimState) {
  return (ctx: Ctx) => {
    if (!ptloginHeaders(ctx)) return;
    const forbid = (rule: string, detail: string) => {
      ctx.violation(rule, detail);
      ctx.send(403, '<html><body><h1>403 Forbidden</h1></body></html>', 'text/html; charset=utf-8');
    };
    const qrsig = ctx.cookie('qrsig');
    if (!qrsig) return forbid('cookie:qrsig', 'ptqrlogin without the qrsig cookie');
    const token = ctx.query.get('ptqrtoken');
    if (token === null || token !== String(hash33(qrsig))) return forbid('ptqrtoken', token === null ? 'ptqrtoken missing' : 'ptqrtoken is not hash33(qrsig)');
    const c = state.qrcodes.find((x) => x.qrsig === qrsig);
    if (!c) return forbid('cookie:qrsig', 'qrsig was not issued by ptqrshow');
    const u1 = ctx.query.get('u1') ?? '';
    if (ctx.query.get('aid') !== APPID_SMARTQQ || !u1) {
      ctx.violation('params', `ptqrlogin parameters wrong: aid=${ctx.query.get('aid') ?? ''} u1=${u1 ? 'set' : 'missing'}`);
      return ctx.js(ptuiCB('7', '0', '', MSG_PARAMS(), ''));
    }
    const answer = (code: string) => ctx.js(ptuiCB(code, '0', '', `${QR_TEXT[code]}(${errNo()})`, ''));
    if (qrExpired(state, c)) return answer('65');
    if (c.state === 'created') return answer('66');
    if (c.state === 'scanned') return answer('67');
    const account = c.qq !== null ? state.account(c.qq) : undefined;
    if (!account) return ctx.js(ptuiCB('10005', '0', '', '本次登录已被拒绝', ''));
    c.state = 'used';
    const s = state.newSession(account, 'C');
    issueLoginCookies(ctx, s, true);
    ctx.js(ptuiCB('0', '0', checkSigUrl(s, 'ptqrlogin', u1, APPID_SMARTQQ), '登录成功！', account.nick));
  };
}

/** Newest QR code, for the control API. */
export function newestQr(state: SimState): QrCode {
  const c = state.qrcodes[state.qrcodes.length - 1];
  if (!c) throw new Error('no QR code has been shown yet');
  qrExpired(state, c);
  return c;
}

function pt4Auth(state: SimState) {
  return (ctx: Ctx) => {
    if (!ptloginHeaders(ctx)) return;
    const cb = (code: string, url: string) => ctx.js(`ptui_auth_CB(${q(code)},${q(url)})`);
    if (!checkCookies(ctx, ['superuin', 'superkey', 'supertoken'])) return cb('1', '');
    const old = [...state.current.values()].find(
      (s) => s.supertoken !== '' && s.supertoken === ctx.cookie('supertoken') && s.superkey === ctx.cookie('superkey') && `o${s.qq}` === ctx.cookie('superuin'),
    );
    if (!old) return cb('1', '');
    if (ctx.query.get('auth_token') !== String(time33(old.supertoken))) {
      ctx.violation('auth_token', 'auth_token is not time33(supertoken)');
      return cb('1', '');
    }
    const s = state.newSession(old.account, 'C');
    s.superkey = old.superkey;
    s.supertoken = old.supertoken;
    issueLoginCookies(ctx, s, true);
    cb('0', checkSigUrl(s, 'pt4_auth', 'http://w.qq.com/proxy.html', ctx.query.get('appid') ?? APPID_SMARTQQ));
  };
}

function logout(state: SimState) {
  return (ctx: Ctx) => {
    if (!checkUserAgent(ctx) || !checkReferer(ctx, PRODUCT_PAGES)) return ctx.send(403, '403 Forbidden');
    const s = state.bySkey.get(ctx.cookie('skey') ?? '');
    if (!s || s.dead) {
      ctx.violation('cookie:skey', 'logout without a live session');
      return ctx.js(`ptui_logout_CB('1')`);
    }
    if (ctx.query.get('pt4_token') !== s.pt4Token || ctx.query.get('pt4_hkey') !== String(time33(s.skey))) {
      ctx.violation('params', 'logout: pt4_token or pt4_hkey (time33(skey)) wrong');
      return ctx.js(`ptui_logout_CB('1')`);
    }
    state.retire(s);
    s.supertoken = '';
    ctx.js(`ptui_logout_CB('0')`);
  };
}

/** The product pages a client may load first (w.qq.com in 2017-18, the s_url landing pages). */
function productPage(ctx: Ctx): void {
  ctx.send(200, '<!DOCTYPE html><html><head><meta charset="utf-8"><title>WebQQ</title></head><body></body></html>', 'text/html; charset=utf-8');
}

/** The security-check script (§1.3.4): valid once, for the page check_sig just showed. */
function mibaoRes(state: SimState) {
  return (ctx: Ctx) => {
    if (!checkUserAgent(ctx)) return ctx.send(403, '403 Forbidden');
    const s = sessionHolding(state, ctx, 'token', 'mibaoToken');
    if (!s) {
      ctx.violation('mibao', 'mibao_res without the token of a security-check page');
      return ctx.send(403, '403 Forbidden');
    }
    s.mibaoToken = null;
    ctx.send(200, `location.href="${s.mibaoNext}";`, 'application/javascript; charset=utf-8');
  };
}

export function registerPtlogin(state: SimState, routes: Routes): void {
  route(routes, 'ssl.ptlogin2.qq.com', '/mibao_res', mibaoRes(state));
  route(routes, 'ui.ptlogin2.qq.com', '/cgi-bin/login', loginPage(state));
  route(routes, 'xui.ptlogin2.qq.com', '/cgi-bin/xlogin', loginPage(state));
  route(routes, 'ssl.ptlogin2.qq.com', '/check', check(state));
  route(routes, 'ssl.ptlogin2.qq.com', '/login', login(state));
  route(routes, 'ssl.ptlogin2.qq.com', '/ptqrshow', ptqrshow(state));
  route(routes, 'ssl.ptlogin2.qq.com', '/ptqrlogin', ptqrlogin(state));
  route(routes, 'ssl.ptlogin2.qq.com', '/pt4_auth', pt4Auth(state));
  route(routes, ['captcha.qq.com', 'ssl.captcha.qq.com'], '/getimage', getimage(state));
  route(routes, 'ptlogin4.web2.qq.com', '/check_sig', checkSig(state));
  route(routes, 'ptlogin2.qq.com', '/logout', logout(state));
  route(routes, 'w.qq.com', '/', productPage);
  route(routes, 'w.qq.com', '/proxy.html', productPage);
  route(routes, 'web2.qq.com', '/', productPage);
  route(routes, 'web2.qq.com', '/webqq.html', productPage);
  route(routes, 'web2.qq.com', '/loginproxy.html', productPage);
}
