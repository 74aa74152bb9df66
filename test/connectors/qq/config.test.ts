import { describe, expect, it } from 'vitest';
import { resolvePacing } from '../../../src/connectors/qq/account/config.js';
import { qqConfigSchema, type WebqqConfig } from '../../../src/connectors/qq/config.js';
import { formatIssue, parseConfig, type ConfigIssuesError } from '../../../src/config.js';

describe('qq config section', () => {
  it('fills the defaults', () => {
    const c = qqConfigSchema.parse({ uin: 2769546520, password: '123456' });
    expect(c).toEqual({
      protocol: 'webqq', uin: 2769546520, password: '123456', login: 'password', stateDir: './state/qq', status: 'online',
      sendIntervalMs: 1500, captchaCodeFile: 'state/qq/captcha-code.txt',
    });
  });
  it('puts the captcha code file into a custom stateDir', () => {
    expect((qqConfigSchema.parse({ uin: 1, login: 'qrcode', stateDir: '/var/lib/qq' }) as WebqqConfig).captchaCodeFile).toBe('/var/lib/qq/captcha-code.txt');
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
    expect((qqConfigSchema.parse({ uin: 1, login: 'qrcode', endpoint: 'http://127.0.0.1:8700' }) as WebqqConfig).endpoint).toBe('http://127.0.0.1:8700');
  });
});

describe('qq.protocol picks the backend and its keys', () => {
  const issues = (yaml: string): string[] => {
    try {
      parseConfig(yaml);
      return [];
    } catch (e) {
      return (e as ConfigIssuesError).issues.map(formatIssue);
    }
  };
  it('accepts a OneBot forward and a reverse config', () => {
    const f = parseConfig('qq:\n  protocol: onebot\n  onebot:\n    url: ws://127.0.0.1:3001\n    accessToken: t0k\n').qq;
    expect(f).toEqual({ protocol: 'onebot', onebot: { mode: 'forward', url: 'ws://127.0.0.1:3001', accessToken: 't0k' } });
    const r = parseConfig('qq:\n  protocol: onebot\n  uin: 10001\n  onebot:\n    mode: reverse\n    reverse: { port: 8765 }\n').qq;
    expect(r).toEqual({ protocol: 'onebot', uin: 10001, onebot: { mode: 'reverse', reverse: { bindAddress: '127.0.0.1', port: 8765, path: '/onebot/v11/ws' } } });
  });
  it('rejects a WebQQ key under protocol: onebot, and a OneBot key under webqq, at their line', () => {
    expect(issues('qq:\n  protocol: onebot\n  password: x\n  onebot:\n    url: ws://127.0.0.1:3001\n'))
      .toEqual(['<config>:3:13: qq.password: a setting of protocol: webqq; this config says protocol: onebot']);
    expect(issues('qq:\n  uin: 1\n  password: x\n  onebot:\n    url: ws://127.0.0.1:3001\n'))
      .toEqual(['<config>:5:5: qq.onebot: a setting of protocol: onebot; this config says protocol: webqq']);
  });
  it('rejects other backends\' keys under protocol: milky (and milky under onebot) at their line', () => {
    expect(issues('qq:\n  protocol: milky\n  password: x\n  milky:\n    url: http://127.0.0.1:3000\n'))
      .toEqual(['<config>:3:13: qq.password: a setting of protocol: webqq; this config says protocol: milky']);
    expect(issues('qq:\n  protocol: onebot\n  onebot:\n    url: ws://127.0.0.1:3001\n  milky:\n    url: http://127.0.0.1:3000\n'))
      .toEqual(['<config>:6:5: qq.milky: a setting of protocol: milky; this config says protocol: onebot']);
    expect(issues('qq:\n  protocol: milky\n  milky:\n    url: http://127.0.0.1:3000\n    events: webhook\n')[0]).toMatch(/^<config>:3:3: qq\.milky\.webhook: .*required with events: webhook/);
  });
  it('names typos, unknown protocols and missing mode keys', () => {
    expect(issues('qq:\n  protocol: onebot\n  onebot:\n    url: ws://127.0.0.1:3001\n    acessToken: x\n'))
      .toEqual(['<config>:5:5: qq.onebot.acessToken: unknown key (did you mean "accessToken"?)']);
    expect(issues('qq:\n  protocol: milk\n')).toEqual(['<config>:2:13: qq.protocol: qq.protocol must be one of: webqq, onebot, milky']);
    expect(issues('qq:\n  protocol: onebot\n  onebot:\n    mode: reverse\n')[0]).toMatch(/^<config>:3:3: qq\.onebot\.reverse: .*required with mode: reverse/);
    expect(issues('qq:\n  protocol: onebot\n  onebot: {}\n')[0]).toMatch(/qq\.onebot\.url: .*required with mode: forward/);
    expect(issues('qq:\n  protocol: onebot\n  onebot:\n    url: http://127.0.0.1:3001\n')[0]).toMatch(/qq\.onebot\.url: qq\.onebot\.url must be a ws:\/\/ or wss:\/\/ URL/);
  });
});

describe('qq.pacing', () => {
  it('defaults: WebQQ keeps its 1500 ms through the old name, OneBot 1000; jitter 0.3, burst 3, coalesceAfter 3', () => {
    expect(resolvePacing(qqConfigSchema.parse({ uin: 1, login: 'qrcode' }) as never)).toEqual({ intervalMs: 1500, jitter: 0.3, burst: 3, coalesceAfter: 3, backoffMinMs: 30_000, backoffMaxMs: 1_800_000 });
    expect(resolvePacing(qqConfigSchema.parse({ protocol: 'onebot', onebot: { url: 'ws://127.0.0.1:3001' } }) as never)).toEqual({ intervalMs: 1000, jitter: 0.3, burst: 3, coalesceAfter: 3, backoffMinMs: 30_000, backoffMaxMs: 1_800_000 });
  });
  it('sendIntervalMs is the old name of pacing.intervalMs; the new name wins', () => {
    expect(resolvePacing(qqConfigSchema.parse({ uin: 1, login: 'qrcode', sendIntervalMs: 2000 }) as never).intervalMs).toBe(2000);
    const c = qqConfigSchema.parse({ uin: 1, login: 'qrcode', sendIntervalMs: 2000, pacing: { intervalMs: 800, coalesceAfter: 0 } });
    expect(resolvePacing(c as never)).toEqual({ intervalMs: 800, jitter: 0.3, burst: 3, coalesceAfter: 0, backoffMinMs: 30_000, backoffMaxMs: 1_800_000 });
    const o = qqConfigSchema.parse({ protocol: 'onebot', onebot: { url: 'ws://127.0.0.1:3001' }, pacing: { burst: 1 } });
    expect(resolvePacing(o as never).burst).toBe(1);
  });
  it('rejects bad pacing with the key', () => {
    for (const pacing of [{ jitter: 1 }, { burst: 0 }, { intervalMs: -5 }, { coalesceAfter: 1.5 }, { typo: 1 }]) {
      const r = qqConfigSchema.safeParse({ uin: 1, login: 'qrcode', pacing });
      expect(r.success, JSON.stringify(pacing)).toBe(false);
      expect(r.error?.issues[0]?.path[0]).toBe('pacing');
    }
  });
});
