import { describe, expect, it } from 'vitest';
import { parseAuthCB, parseCheckVC, parseLoginPage, parsePtuiCB, ptuiCodeMeaning } from '../../../../src/connectors/qq/webqq/ptlogin.js';

describe('ptlogin callback parsing', () => {
  it('reads 3-, 4- and 5-argument ptui_checkVC', () => {
    expect(parseCheckVC("ptui_checkVC('0','!UGX','\\x00\\x00\\x00\\x00\\xa5\\x13\\xed\\x18');")).toMatchObject({
      captchaRequired: false, code: '!UGX', salt: '\\x00\\x00\\x00\\x00\\xa5\\x13\\xed\\x18', verifysession: '', randSalt: '', argc: 3,
    });
    expect(parseCheckVC("ptui_checkVC('1','cap_cd_xyz','\\x00\\x00\\x00\\x00\\xa5\\x13\\xed\\x18','');")).toMatchObject({ captchaRequired: true, code: 'cap_cd_xyz', argc: 4 });
    expect(parseCheckVC("ptui_checkVC('0','!ABC','\\x96\\x00\\xb9\\xd6\\xcf\\x87\\xae\\xf4','vs123','1')")).toMatchObject({ verifysession: 'vs123', randSalt: '1', argc: 5 });
  });
  it('reads ptuiCB with the space before the last arg, with or without ;', () => {
    const ok = parsePtuiCB("ptuiCB('0','0','http://ptlogin4.web2.qq.com/check_sig?pttype=1&uin=1','0','登录成功！', 'qqbot');");
    expect(ok).toMatchObject({ code: '0', url: 'http://ptlogin4.web2.qq.com/check_sig?pttype=1&uin=1', message: '登录成功！', nick: 'qqbot' });
    expect(parsePtuiCB("ptuiCB('65','0','','0','二维码已失效。(4171256442)', '')").code).toBe('65');
    expect(parsePtuiCB("ptuiCB('65','0','','0','二维码已失效。')").message).toBe('二维码已失效。');
    expect(parsePtuiCB("ptuiCB('3','0','','0','it\\'s wrong', '1')").message).toBe("it's wrong");
  });
  it('fails clearly on other text', () => {
    expect(() => parsePtuiCB('<html>502</html>')).toThrow(/expected ptuiCB/);
  });
  it('maps every ptuiCB code to a clear meaning', () => {
    expect(ptuiCodeMeaning('3').kind).toBe('wrong-password');
    expect(ptuiCodeMeaning('4').kind).toBe('wrong-captcha');
    expect(ptuiCodeMeaning('24').text).toMatch(/cookies/);
    expect(ptuiCodeMeaning('10005').text).toMatch(/qrcode/);
    expect(ptuiCodeMeaning('3', 'http://aq.qq.com/007').kind).toBe('frozen');
    for (const c of ['1', '2', '5', '6', '7', '8', '71']) expect(ptuiCodeMeaning(c).kind).not.toBe('unknown');
    expect(ptuiCodeMeaning('999').text).toMatch(/999/);
  });
  it('reads pt4_auth and login page values', () => {
    expect(parseAuthCB("ptui_auth_CB('0','https://ptlogin4.web2.qq.com/check_sig?a=1')")).toEqual({ code: '0', url: 'https://ptlogin4.web2.qq.com/check_sig?a=1' });
    expect(parseLoginPage('var g_login_sig=encodeURIComponent("abc*-");var g_pt_version=encodeURIComponent("10062")')).toEqual({ loginSig: 'abc*-', jsVer: 10062 });
  });
});
