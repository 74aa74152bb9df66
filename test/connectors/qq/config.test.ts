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

describe('qq.pacing', () => {
  it('defaults: WebQQ keeps its 1500 ms through the old name; jitter 0.3, burst 3, coalesceAfter 3', async () => {
    const { resolvePacing } = await import('../../../src/connectors/qq/account/config.js');
    const c = qqConfigSchema.parse({ uin: 1, login: 'qrcode' });
    expect(resolvePacing(c)).toEqual({ intervalMs: 1500, jitter: 0.3, burst: 3, coalesceAfter: 3 });
    expect(resolvePacing({})).toEqual({ intervalMs: 1000, jitter: 0.3, burst: 3, coalesceAfter: 3 });
  });
  it('sendIntervalMs is the old name of pacing.intervalMs; the new name wins and feeds both', async () => {
    const { resolvePacing } = await import('../../../src/connectors/qq/account/config.js');
    expect(resolvePacing(qqConfigSchema.parse({ uin: 1, login: 'qrcode', sendIntervalMs: 2000 })).intervalMs).toBe(2000);
    const c = qqConfigSchema.parse({ uin: 1, login: 'qrcode', pacing: { intervalMs: 800, coalesceAfter: 0 } });
    expect(c.sendIntervalMs).toBe(800);
    expect(resolvePacing(c)).toEqual({ intervalMs: 800, jitter: 0.3, burst: 3, coalesceAfter: 0 });
  });
  it('rejects bad pacing with the key', () => {
    for (const pacing of [{ jitter: 1 }, { burst: 0 }, { intervalMs: -5 }, { coalesceAfter: 1.5 }, { typo: 1 }]) {
      const r = qqConfigSchema.safeParse({ uin: 1, login: 'qrcode', pacing });
      expect(r.success, JSON.stringify(pacing)).toBe(false);
      expect(r.error?.issues[0]?.path[0]).toBe('pacing');
    }
  });
});
