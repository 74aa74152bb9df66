/**
 * The real WebQQ URLs, appids, Referers and Origins of the two login eras we speak (reference §0.3,
 * §1.1, §1.3). Everything that builds a WebQQ URL takes it from here, so the client always talks
 * in real URLs and the transport's endpoint override is the only place that redirects them.
 */

export type Era = 'password' | 'qrcode';

export interface HostSet {
  /** Channel host (login2, poll2, send_*, …), e.g. `http://d.web2.qq.com`. */
  d: string;
  dReferer: string;
  dOrigin: string;
  /** API host (lists, getvfwebqq, …), e.g. `http://s.web2.qq.com`. */
  s: string;
  sReferer: string;
  sOrigin: string;
  /** Referer for upload / picture hosts. */
  webReferer: string;
  webOrigin: string;
}

export const PTLOGIN = 'https://ssl.ptlogin2.qq.com';

/** Era A: WebQQ on web2.qq.com, password login with the md5 scheme. */
export const ERA_A = {
  appid: 1003903,
  /** js_ver sent to check/login (the page's g_pt_version; 2014 value). */
  jsVer: 10114,
  loginPageReferer: 'http://web2.qq.com/webqq.html',
  loginPage:
    'https://ui.ptlogin2.qq.com/cgi-bin/login?daid=164&target=self&style=5&mibao_css=m_webqq&appid=1003903' +
    '&enable_qlogin=0&no_verifyimg=1&s_url=http%3A%2F%2Fweb2.qq.com%2Floginproxy.html&f_url=loginerroralert' +
    '&strong_login=1&login_state=10&t=20130723001',
  /** `u1` of check. */
  checkU1: 'http://web2.qq.com/loginproxy.html',
  /** `u1` of login. */
  loginU1: 'http://web2.qq.com/loginproxy.html?login2qq=1&webqq_type=10',
  check: `${PTLOGIN}/check`,
  login: `${PTLOGIN}/login`,
  captcha: 'https://ssl.captcha.qq.com/getimage',
  hosts: {
    d: 'http://d.web2.qq.com',
    dReferer: 'http://d.web2.qq.com/proxy.html?v=20110331002&callback=1&id=2',
    dOrigin: 'http://d.web2.qq.com',
    s: 'http://s.web2.qq.com',
    sReferer: 'http://s.web2.qq.com/proxy.html?v=20110412001&callback=1&id=1',
    sOrigin: 'http://s.web2.qq.com',
    webReferer: 'http://web2.qq.com/webqq.html',
    webOrigin: 'http://web2.qq.com',
  } satisfies HostSet,
} as const;

/**
 * Era B: SmartQQ's password login on w.qq.com (2014-12 → 2015-09, §1.2): Era A's ptlogin steps
 * with SmartQQ's appid and pages, `pt_tea=1` on check and the "RSA then TEA" `p`. Its channel is
 * SmartQQ's (getvfwebqq, then login2 with the constant clientid), served here on Era C's hosts:
 * one SmartQQ channel, as the simulator models it.
 */
export const ERA_B = {
  appid: 501004106,
  /** js_ver of check/login in 2015 (10114..10125). */
  jsVer: 10125,
  loginPageReferer: 'http://w.qq.com/',
  loginPage:
    'https://ui.ptlogin2.qq.com/cgi-bin/login?daid=164&target=self&style=16&mibao_css=m_webqq&appid=501004106' +
    '&enable_qlogin=0&no_verifyimg=1&s_url=http%3A%2F%2Fw.qq.com%2Fproxy.html&f_url=loginerroralert' +
    '&strong_login=1&login_state=10&t=20131024001',
  checkU1: 'http://w.qq.com/proxy.html',
  loginU1: 'http://w.qq.com/proxy.html?login2qq=1&webqq_type=10',
  check: `${PTLOGIN}/check`,
  login: `${PTLOGIN}/login`,
  captcha: 'https://ssl.captcha.qq.com/getimage',
} as const;

/** Era C: SmartQQ on w.qq.com, QR-code login, d1.web2 and https s.web2 (2018-12+). */
export const ERA_C = {
  appid: 501004106,
  /** SmartQQ's constant clientid, sent as a JSON number. */
  clientid: 53999199,
  jsVer: 10233,
  loginPageReferer: 'http://w.qq.com/',
  loginPage:
    'https://xui.ptlogin2.qq.com/cgi-bin/xlogin?daid=164&target=self&style=40&pt_disable_pwd=1&mibao_css=m_webqq' +
    '&appid=501004106&enable_qlogin=0&no_verifyimg=1&s_url=http%3A%2F%2Fw.qq.com%2Fproxy.html&f_url=loginerroralert' +
    '&strong_login=1&login_state=10&t=20131024001',
  loginU1: 'http://w.qq.com/proxy.html?login2qq=1&webqq_type=10',
  /** s_url appended to a pt4_auth check_sig URL (§1.3.8). */
  sUrl: 'http://w.qq.com/proxy.html',
  ptqrshow: `${PTLOGIN}/ptqrshow`,
  ptqrlogin: `${PTLOGIN}/ptqrlogin`,
  pt4auth: `${PTLOGIN}/pt4_auth`,
  logout: 'https://ptlogin2.qq.com/logout',
  hosts: {
    d: 'http://d1.web2.qq.com',
    dReferer: 'http://d1.web2.qq.com/proxy.html?v=20151105001&callback=1&id=2',
    dOrigin: 'http://d1.web2.qq.com',
    s: 'https://s.web2.qq.com',
    sReferer: 'https://s.web2.qq.com/proxy.html?v=20130916001&callback=1&id=1',
    sOrigin: 'https://s.web2.qq.com',
    webReferer: 'http://w.qq.com/',
    webOrigin: 'http://w.qq.com',
  } satisfies HostSet,
} as const;

export function hostsFor(era: Era): HostSet {
  return era === 'password' ? ERA_A.hosts : ERA_C.hosts;
}

export function appidFor(era: Era): number {
  return era === 'password' ? ERA_A.appid : ERA_C.appid;
}

/** Channel URL, e.g. `channelUrl('qrcode', 'poll2')` → `http://d1.web2.qq.com/channel/poll2`. */
export function channelUrl(era: Era, name: string): string {
  return `${hostsFor(era).d}/channel/${name}`;
}

/** API URL, e.g. `apiUrl('password', 'get_user_friends2')` → `http://s.web2.qq.com/api/get_user_friends2`. */
export function apiUrl(era: Era, name: string): string {
  return `${hostsFor(era).s}/api/${name}`;
}

/** Cookie URLs: where to read session cookies from the jar (`ptwebqq`, `skey` live on .qq.com). */
export const COOKIE_URL = {
  qq: 'http://qq.com/',
  ptlogin: 'https://ssl.ptlogin2.qq.com/',
  web2: 'http://d.web2.qq.com/',
} as const;

/** `t` cache-buster as the web client sent it. */
export function ts(): number {
  return Date.now();
}
