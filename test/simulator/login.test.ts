import jpeg from 'jpeg-js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { md5Password, parseSalt, saltFromUin } from '../../src/connectors/qq/webqq/protocol-crypto.js';
import { CAPTCHA_SCALE, CAPTCHA_TOP, captchaLeft, FONT as GLYPHS } from '../../src/simulator/captcha.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index.js';
import { Browser, control, D_REF, jsArgs, LOGIN_PAGE_A, loginA, loginUrl, passwordLogin } from './browser.js';

let sim: RunningSimulator;
beforeAll(async () => {
  sim = await startSimulator({ pollHoldMs: 300 });
});
afterAll(() => sim.close());
beforeEach(() => control(sim, 'DELETE', '/violations'));

/** Reads the captcha JPEG back: for each glyph cell, which font letter matches the dark pixels best. */
function readCaptcha(img: Buffer): string {
  const { data, width } = jpeg.decode(img);
  const dark = (x: number, y: number) => data[(y * width + x) * 4]! < 128;
  let out = '';
  for (let i = 0; i < 4; i++) {
    let best = '';
    let bestScore = -1;
    for (const [ch, rows] of Object.entries(GLYPHS)) {
      let score = 0;
      rows.forEach((row, y) =>
        [...row].forEach((bit, x) => {
          const cx = captchaLeft(i) + x * CAPTCHA_SCALE + 2;
          const cy = CAPTCHA_TOP + y * CAPTCHA_SCALE + 2;
          if (dark(cx, cy) === (bit === '1')) score++;
        }),
      );
      if (score > bestScore) [best, bestScore] = [ch, score];
    }
    out += best;
  }
  return out;
}

describe('Era A password login', () => {
  it('the reference test vector holds for the hash the simulator verifies', () => {
    expect(md5Password('123456', saltFromUin(2769546520), '!UGX')).toBe('BB28CA7D6038207184922F960B88B940');
  });

  it('logs in end to end with the right password: cookies on their real domains, check_sig 302, login2', async () => {
    const b = new Browser(sim);
    const cb = await passwordLogin(b, 2769546520, '123456');
    expect(cb[0]).toBe('0');
    expect(cb[4]).toBe('登录成功！');
    expect(cb[5]).toBe('qqbot');
    expect(cb[2]).toMatch(/^http:\/\/ptlogin4\.web2\.qq\.com\/check_sig\?pttype=1&uin=2769546520&/);
    const domainOf = (n: string) => b.cookies.find((c) => c.name === n)?.domain;
    expect(domainOf('uin')).toBe('qq.com');
    expect(b.cookie('uin')).toBe('o2769546520');
    expect(b.cookie('skey')).toMatch(/^@[A-Za-z0-9]{9}$/);
    expect(b.cookie('ptwebqq')).toMatch(/^[0-9a-f]{64}$/);
    expect(domainOf('superkey')).toBe('ptlogin2.qq.com');
    const cs = await b.req(cb[2]!);
    expect(cs.status).toBe(302);
    expect(cs.headers.location).toBe('http://web2.qq.com/loginproxy.html?login2qq=1&webqq_type=10');
    expect(domainOf('p_skey')).toBe('web2.qq.com');
    expect(b.cookie('p_uin')).toBe('o2769546520');
    // the check_sig link is one-shot
    expect((await b.req(cb[2]!)).status).toBe(200);

    const r = await b.post(
      'http://d.web2.qq.com/channel/login2',
      { status: 'online', ptwebqq: b.cookie('ptwebqq'), passwd_sig: '', clientid: '12345678', psessionid: null },
      D_REF,
    );
    expect(r.retcode).toBe(0);
    expect(r.result).toMatchObject({ uin: 2769546520, index: 1075, status: 'online', user_state: 0, f: 0 });
    expect(r.result.vfwebqq).toMatch(/^[0-9a-f]{80}$/);
    // Erlang term {Pid, Uin, Skey, Vfwebqq}: 83 68 04 67 64 + atom, uin as SMALL_BIG_EXT, skey, vfwebqq bytes
    const ps: string = r.result.psessionid;
    expect(ps.startsWith('8368046764')).toBe(true);
    expect(Buffer.from(ps, 'hex').toString('latin1')).toContain('connserver_webqq@');
    expect(ps).toContain('6e040018ed13a5');
    expect(ps).toContain(Buffer.from(b.cookie('skey')!, 'latin1').toString('hex'));
    expect(ps.endsWith(r.result.vfwebqq)).toBe(true);
  });

  it('answers a wrong password with ptuiCB 3 and the real message', async () => {
    const cb = await passwordLogin(new Browser(sim), 2769546520, 'wrong');
    expect(cb).toEqual(['3', '0', '', '0', '您输入的帐号或密码不正确，请重新输入。', '2769546520']);
  });

  it('answers an unknown account with ptuiCB 3', async () => {
    const cb = await passwordLogin(new Browser(sim), 123456789, '123456');
    expect(cb[0]).toBe('3');
  });

  it('answers ptuiCB 24 when the check cookies are missing', async () => {
    const b = new Browser(sim);
    b.setCookie('chkuin', '2769546520', 'ptlogin2.qq.com');
    const chk = await b.req('https://ssl.ptlogin2.qq.com/check?uin=2769546520&appid=1003903&js_ver=10062&js_type=0&login_sig=&u1=x&r=0.1', { referer: LOGIN_PAGE_A });
    const [, vc, salt] = jsArgs(chk.text);
    b.cookies = b.cookies.filter((c) => c.name !== 'ptvfsession');
    const res = await b.req(loginUrl(2769546520, md5Password('123456', parseSalt(salt!), vc!), vc!, ''), { referer: LOGIN_PAGE_A });
    expect(jsArgs(res.text)[0]).toBe('24');
    const v = await control(sim, 'GET', '/violations');
    expect(v.map((x: { rule: string }) => x.rule)).toContain('cookie:ptvfsession');
  });

  it('a reused check (verify code) is "page expired"', async () => {
    const b = new Browser(sim);
    const first = await passwordLogin(b, 2769546520, 'wrong');
    expect(first[0]).toBe('3');
    const retry = await b.req(loginUrl(2769546520, 'A'.repeat(32), '!AAA', ''), { referer: LOGIN_PAGE_A });
    expect(jsArgs(retry.text).slice(0, 2)).toEqual(['4', '2']);
  });

  it('captcha round: check asks, getimage shows the code, a wrong code is 4 and uses up the check; a new check logs in', async () => {
    await control(sim, 'POST', '/captcha', { qq: 2769546520, required: true });
    const b = new Browser(sim);
    b.setCookie('chkuin', '2769546520', 'ptlogin2.qq.com');
    const checkUrl = 'https://ssl.ptlogin2.qq.com/check?uin=2769546520&appid=1003903&js_ver=10062&js_type=0&login_sig=&u1=x&r=0.1';
    const chk = await b.req(checkUrl, { referer: LOGIN_PAGE_A });
    const [need, capCd, saltText] = jsArgs(chk.text);
    expect(need).toBe('1');
    const salt = parseSalt(saltText!);
    const img = await b.req(`https://ssl.captcha.qq.com/getimage?aid=1003903&r=0.3&uin=2769546520&cap_cd=${capCd}`, { referer: LOGIN_PAGE_A });
    expect(img.headers['content-type']).toBe('image/jpeg');
    expect(b.cookie('verifysession')).toBeTruthy();
    const { code } = await control(sim, 'GET', '/captcha?qq=2769546520');
    expect(readCaptcha(img.body)).toBe(code);

    const wrong = code === 'AAAA' ? 'BBBB' : 'AAAA';
    const bad = await b.req(loginUrl(2769546520, md5Password('123456', salt, wrong), wrong, ''), { referer: LOGIN_PAGE_A });
    expect(jsArgs(bad.text)).toEqual(['4', '0', '', '0', '您输入的验证码不正确，请重新输入。', '2769546520']);
    expect(await control(sim, 'GET', '/violations')).toEqual([]);

    // The check is used up: the right code on it is "page expired", and both steps are violations.
    const img2 = await b.req(`https://ssl.captcha.qq.com/getimage?aid=1003903&r=0.4&uin=2769546520&cap_cd=${capCd}`, { referer: LOGIN_PAGE_A });
    expect(img2.status).toBe(200);
    const late = await b.req(loginUrl(2769546520, md5Password('123456', salt, code), code, ''), { referer: LOGIN_PAGE_A });
    expect(jsArgs(late.text).slice(0, 2)).toEqual(['4', '2']);
    expect((await control(sim, 'GET', '/violations')).map((x: { rule: string }) => x.rule)).toEqual(['captcha', 'check-reused']);
    await control(sim, 'DELETE', '/violations');

    // A new check asks for a captcha again; its code logs in.
    const chk2 = await b.req(checkUrl, { referer: LOGIN_PAGE_A });
    const [need2, capCd2, saltText2] = jsArgs(chk2.text);
    expect(need2).toBe('1');
    const img3 = await b.req(`https://ssl.captcha.qq.com/getimage?aid=1003903&r=0.5&uin=2769546520&cap_cd=${capCd2}`, { referer: LOGIN_PAGE_A });
    const code3 = readCaptcha(img3.body);
    expect(code3).toBe((await control(sim, 'GET', '/captcha?qq=2769546520')).code);
    const ok = await b.req(loginUrl(2769546520, md5Password('123456', parseSalt(saltText2!), code3.toLowerCase()), code3.toLowerCase(), ''), { referer: LOGIN_PAGE_A });
    expect(jsArgs(ok.text)[0]).toBe('0');
    expect(await control(sim, 'GET', '/violations')).toEqual([]);
    // Logged in through the captcha: the next check does not ask again.
    expect(jsArgs((await b.req(checkUrl, { referer: LOGIN_PAGE_A })).text)[0]).toBe('0');
  });

  it('records a missing Referer and refuses the call', async () => {
    const b = new Browser(sim);
    const res = await b.req('https://ssl.ptlogin2.qq.com/check?uin=2769546520&appid=1003903&js_ver=10062&js_type=0&login_sig=&u1=x&r=0.1');
    expect(res.status).toBe(403);
    const v = await control(sim, 'GET', '/violations');
    expect(v).toEqual([expect.objectContaining({ host: 'ssl.ptlogin2.qq.com', path: '/check', rule: 'referer' })]);
  });

  it('records ssl.ptlogin2 over plain http as a scheme violation', async () => {
    const res = await new Browser(sim).req('http://ssl.ptlogin2.qq.com/check?uin=1&appid=1003903', { referer: LOGIN_PAGE_A });
    expect(res.status).toBe(403);
    expect((await control(sim, 'GET', '/violations')).map((x: { rule: string }) => x.rule)).toContain('scheme');
  });

  it('unknown hosts and paths are 404 and violations', async () => {
    const b = new Browser(sim);
    expect((await b.req('http://example.qq.com/x')).status).toBe(404);
    expect((await b.req('http://d.web2.qq.com/channel/nope')).status).toBe(404);
    const rules = (await control(sim, 'GET', '/violations')).map((x: { rule: string }) => x.rule);
    expect(rules).toEqual(['host', 'path']);
  });

  it('login2 without the session cookies is 103 with a cookie violation', async () => {
    const b = new Browser(sim);
    await loginA(b);
    b.cookies = b.cookies.filter((c) => c.name !== 'p_skey');
    const r = await b.post('http://d.web2.qq.com/channel/login2', { status: 'online', ptwebqq: b.cookie('ptwebqq'), passwd_sig: '', clientid: '12345678', psessionid: null }, D_REF);
    expect(r.retcode).toBe(103);
    expect((await control(sim, 'GET', '/violations')).map((x: { rule: string }) => x.rule)).toContain('cookie:p_skey');
  });
});
