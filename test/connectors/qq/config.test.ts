import { describe, expect, it } from 'vitest';
import { qqConfigSchema } from '../../../src/connectors/qq/config.js';

describe('qq config section', () => {
  it('fills the defaults', () => {
    const c = qqConfigSchema.parse({ uin: 2769546520, password: '123456' });
    expect(c).toEqual({
      uin: 2769546520, password: '123456', login: 'password', stateDir: './state/qq', status: 'online',
      sendIntervalMs: 1500, captchaCodeFile: 'state/qq/captcha-code.txt',
    });
  });
  it('puts the captcha code file into a custom stateDir', () => {
    expect(qqConfigSchema.parse({ uin: 1, login: 'qrcode', stateDir: '/var/lib/qq' }).captchaCodeFile).toBe('/var/lib/qq/captcha-code.txt');
  });
  it('requires the password only for password login', () => {
    const r = qqConfigSchema.safeParse({ uin: 1 });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['password']);
    expect(r.error?.issues[0]?.message).toMatch(/password is required/);
    expect(qqConfigSchema.safeParse({ uin: 1, login: 'qrcode' }).success).toBe(true);
  });
  it('rejects bad values with the key', () => {
    for (const bad of [
      { uin: 0, login: 'qrcode' },
      { uin: 1.5, login: 'qrcode' },
      { uin: 1, login: 'sms' },
      { uin: 1, login: 'qrcode', endpoint: 'ftp://x' },
      { uin: 1, login: 'qrcode', status: 'offline' },
      { uin: 1, login: 'qrcode', sendIntervalMs: -1 },
    ]) expect(qqConfigSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    expect(qqConfigSchema.parse({ uin: 1, login: 'qrcode', endpoint: 'http://127.0.0.1:8700' }).endpoint).toBe('http://127.0.0.1:8700');
  });
});
