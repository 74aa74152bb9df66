/**
 * A hand-built "browser" for driving the simulator in tests: node:http requests (global fetch
 * cannot set the Host header) to the simulator's port with the real Host, X-Forwarded-Proto,
 * Referer and a tiny cookie jar honouring Domain. Deliberately independent of the client code.
 */
import { request } from 'node:http';
import { md5Password, saltFromUin, parseSalt } from '../../src/connectors/qq/webqq/protocol-crypto.js';
import type { RunningSimulator } from '../../src/simulator/index.js';

export const UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10.9; rv:29.0) Gecko/20100101 Firefox/29.0';
export const LOGIN_PAGE_A =
  'https://ui.ptlogin2.qq.com/cgi-bin/login?daid=164&target=self&style=5&mibao_css=m_webqq&appid=1003903&enable_qlogin=0&no_verifyimg=1&s_url=http%3A%2F%2Fweb2.qq.com%2Floginproxy.html&f_url=loginerroralert&strong_login=1&login_state=10&t=20130723001';
export const LOGIN_PAGE_C =
  'https://ui.ptlogin2.qq.com/cgi-bin/login?daid=164&target=self&style=16&mibao_css=m_webqq&appid=501004106&enable_qlogin=0&no_verifyimg=1&s_url=http%3A%2F%2Fw.qq.com%2Fproxy.html&f_url=loginerroralert&strong_login=1&login_state=10&t=20131024001';
export const D_REF = 'http://d.web2.qq.com/proxy.html?v=20110331002&callback=1&id=2';
export const D1_REF = 'http://d1.web2.qq.com/proxy.html?v=20151105001&callback=1&id=2';
export const S_REF = 'http://s.web2.qq.com/proxy.html?v=20110412001&callback=1&id=1';
export const FONT = ['font', { name: '宋体', size: '10', style: [0, 0, 0], color: '000000' }];

interface Cookie {
  name: string;
  value: string;
  domain: string;
}

export interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
  setCookies: string[];
}

export interface ReqOpts {
  method?: string;
  headers?: Record<string, string>;
  /** url-encoded form body */
  form?: Record<string, string>;
  body?: Buffer;
  /** skip these default headers */
  omit?: ('referer' | 'user-agent' | 'origin' | 'cookie')[];
  referer?: string;
}

export class Browser {
  cookies: Cookie[] = [];
  constructor(readonly sim: RunningSimulator) {}

  cookie(name: string): string | undefined {
    return this.cookies.find((c) => c.name === name)?.value;
  }
  setCookie(name: string, value: string, domain: string): void {
    this.cookies = this.cookies.filter((c) => !(c.name === name && c.domain === domain));
    this.cookies.push({ name, value, domain });
  }
  private cookieHeader(host: string): string {
    return this.cookies
      .filter((c) => host === c.domain || host.endsWith(`.${c.domain}`))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  /** `url` is the REAL WebQQ URL; it is sent to the simulator with its Host and scheme. */
  req(url: string, opts: ReqOpts = {}): Promise<Res> {
    const u = new URL(url);
    const sim = new URL(this.sim.url);
    const omit = new Set(opts.omit ?? []);
    const method = opts.method ?? (opts.form || opts.body ? 'POST' : 'GET');
    const headers: Record<string, string> = {
      host: u.hostname,
      'x-forwarded-proto': u.protocol.replace(':', ''),
    };
    if (!omit.has('user-agent')) headers['user-agent'] = UA;
    if (opts.referer && !omit.has('referer')) headers.referer = opts.referer;
    if (method === 'POST' && !omit.has('origin') && opts.referer) headers.origin = new URL(opts.referer).origin;
    const ch = this.cookieHeader(u.hostname);
    if (ch && !omit.has('cookie')) headers.cookie = ch;
    let body: Buffer | undefined = opts.body;
    if (opts.form) {
      body = Buffer.from(new URLSearchParams(opts.form).toString());
      headers['content-type'] = 'application/x-www-form-urlencoded; charset=UTF-8';
    }
    Object.assign(headers, opts.headers ?? {});
    return new Promise((resolve, reject) => {
      const r = request({ host: sim.hostname, port: sim.port, path: u.pathname + u.search, method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const setCookies = (res.headers['set-cookie'] ?? []) as string[];
          for (const sc of setCookies) {
            const [nv, ...attrs] = sc.split(';');
            const i = nv!.indexOf('=');
            const domain = attrs.map((a) => /^\s*domain=(.*)$/i.exec(a)?.[1]).find(Boolean) ?? u.hostname;
            this.setCookie(nv!.slice(0, i).trim(), nv!.slice(i + 1).trim(), domain.replace(/^\./, ''));
          }
          const b = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b, text: b.toString('utf8'), setCookies });
        });
      });
      r.on('error', reject);
      if (body) r.write(body);
      r.end();
    });
  }

  async json(url: string, opts: ReqOpts = {}): Promise<Record<string, any>> {
    const res = await this.req(url, opts);
    return JSON.parse(res.text) as Record<string, any>;
  }

  /** POST a D/S call with form `r` (plus WebQQ's duplicated clientid/psessionid fields). */
  post(url: string, r: unknown, referer: string): Promise<Record<string, any>> {
    return this.json(url, { form: { r: JSON.stringify(r) }, referer });
  }
}

/** Single-quoted args of a ptlogin JS answer. */
export function jsArgs(text: string): string[] {
  return [...text.matchAll(/'((?:[^'\\]|\\.)*)'/g)].map((m) => m[1]!.replace(/\\'/g, "'"));
}

export async function control(sim: RunningSimulator, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(sim.controlUrl + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = (await res.json()) as unknown;
  if (!res.ok) throw new Error(`control ${method} ${path}: ${res.status} ${JSON.stringify(data)}`);
  return data;
}

export interface Channel {
  qq: number;
  clientid: string | number;
  psessionid: string;
  vfwebqq: string;
  host: string;
  referer: string;
}

/** ptlogin Era A up to the ptuiCB of /login (check without captcha). */
export async function passwordLogin(b: Browser, qq: number, password: string): Promise<string[]> {
  await b.req(LOGIN_PAGE_A, { referer: 'http://web2.qq.com/webqq.html' });
  const sig = b.cookie('pt_login_sig') ?? '';
  b.setCookie('chkuin', String(qq), 'ptlogin2.qq.com');
  const chk = await b.req(
    `https://ssl.ptlogin2.qq.com/check?uin=${qq}&appid=1003903&js_ver=10062&js_type=0&login_sig=${sig}&u1=http%3A%2F%2Fweb2.qq.com%2Floginproxy.html&r=0.5`,
    { referer: LOGIN_PAGE_A },
  );
  const [need, vc, salt] = jsArgs(chk.text);
  if (need !== '0') throw new Error(`captcha unexpectedly required: ${chk.text}`);
  const p = md5Password(password, parseSalt(salt!), vc!);
  return jsArgs((await b.req(loginUrl(qq, p, vc!, sig), { referer: LOGIN_PAGE_A })).text);
}

export function loginUrl(qq: number, p: string, vc: string, sig: string): string {
  return `https://ssl.ptlogin2.qq.com/login?u=${qq}&p=${p}&verifycode=${encodeURIComponent(vc)}&webqq_type=10&remember_uin=1&login2qq=1&aid=1003903&u1=http%3A%2F%2Fweb2.qq.com%2Floginproxy.html%3Flogin2qq%3D1%26webqq_type%3D10&h=1&ptredirect=0&ptlang=2052&daid=164&from_ui=1&pttype=1&dumy=&fp=loginerroralert&action=3-15-72115&mibao_css=m_webqq&t=1&g=1&js_type=0&js_ver=10062&login_sig=${sig}`;
}

/** The whole Era A login: ptlogin, check_sig, login2, warm-up. */
export async function loginA(b: Browser, qq = 2769546520, password = '123456', warm = true): Promise<Channel> {
  const cb = await passwordLogin(b, qq, password);
  if (cb[0] !== '0') throw new Error(`login failed: ${cb.join(',')}`);
  const cs = await b.req(cb[2]!);
  if (cs.status !== 302) throw new Error(`check_sig: ${cs.status}`);
  const clientid = '30833194';
  const r = await b.post(
    'http://d.web2.qq.com/channel/login2',
    { status: 'online', ptwebqq: b.cookie('ptwebqq'), passwd_sig: '', clientid, psessionid: null },
    D_REF,
  );
  if (r.retcode !== 0) throw new Error(`login2: ${JSON.stringify(r)}`);
  const ch = { qq, clientid, psessionid: r.result.psessionid, vfwebqq: r.result.vfwebqq, host: 'd.web2.qq.com', referer: D_REF };
  if (warm) await onlineBuddies(b, ch);
  return ch;
}

export function onlineBuddies(b: Browser, ch: Channel): Promise<Record<string, any>> {
  return b.json(
    `http://${ch.host}/channel/get_online_buddies2?vfwebqq=${ch.vfwebqq}&clientid=${ch.clientid}&psessionid=${ch.psessionid}&t=1`,
    { referer: ch.referer },
  );
}

export function poll(b: Browser, ch: Channel): Promise<Record<string, any>> {
  const r: Record<string, unknown> = { clientid: ch.clientid, psessionid: ch.psessionid, key: ch.host === 'd1.web2.qq.com' ? '' : 0, ids: [] };
  if (ch.host === 'd1.web2.qq.com') r.ptwebqq = b.cookie('ptwebqq');
  return b.post(`http://${ch.host}/channel/poll2`, r, ch.referer);
}

export function sendQun(b: Browser, ch: Channel, gid: number, content: unknown[], msgId: number, extra: Record<string, unknown> = {}) {
  return b.post(
    `http://${ch.host}/channel/send_qun_msg2`,
    { group_uin: gid, content: JSON.stringify(content), face: 0, msg_id: msgId, clientid: ch.clientid, psessionid: ch.psessionid, ...extra },
    ch.referer,
  );
}

export async function groupList(b: Browser, ch: Channel, hash?: string): Promise<Record<string, any>> {
  const { hashP } = await import('../../src/connectors/qq/webqq/protocol-crypto.js');
  return b.post('http://s.web2.qq.com/api/get_group_name_list_mask2', { vfwebqq: ch.vfwebqq, hash: hash ?? hashP(ch.qq, b.cookie('ptwebqq')!) }, S_REF);
}

export { saltFromUin };
