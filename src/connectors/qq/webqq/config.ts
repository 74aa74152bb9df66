/** The `qq` section's keys for `protocol: webqq` (the historic WebQQ login of a QQ account). */
import path from 'node:path';
import { z } from 'zod';

export const QQ_STATUSES = ['online', 'away', 'busy', 'silent', 'hidden', 'callme'] as const;

export const webqqConfigObject = z.object({
  protocol: z.literal('webqq').default('webqq'),
  /** The bot account's QQ number. */
  uin: z.number().int().positive(),
  /** Required when login = password. */
  password: z.string().min(1).optional(),
  login: z.enum(['password', 'qrcode']).default('password'),
  /**
   * Which web client's login: webqq (WebQQ on web2.qq.com, 2012-2014: md5 password scheme; the
   * default with a password) or smartqq (SmartQQ on w.qq.com: its 2014-12 → 2015-09 password
   * login, RSA then TEA; the QR login is always SmartQQ's).
   */
  era: z.enum(['webqq', 'smartqq']).optional(),
  /** Send every WebQQ request to this origin instead (the simulator), keeping the real Host. */
  endpoint: z
    .url({ protocol: /^https?$/, error: 'qq.endpoint must be an http(s) URL' })
    .optional(),
  /** Session file, captcha and QR images live here. */
  stateDir: z.string().min(1).default('./state/qq'),
  status: z.enum(QQ_STATUSES).default('online'),
  /** Minimum gap between two sends (Tencent's spam filter answers 1202 to bursts). */
  sendIntervalMs: z.number().int().min(0).default(1500),
  /** Where a non-interactive run waits for the captcha code; default `<stateDir>/captcha-code.txt`. */
  captchaCodeFile: z.string().min(1).optional(),
});

type Parsed = z.output<typeof webqqConfigObject>;

export function checkWebqqConfig(c: Parsed, ctx: z.RefinementCtx): void {
  if (c.login === 'password' && !c.password) {
    ctx.addIssue({ code: 'custom', path: ['password'], message: 'qq.password is required when qq.login is "password"' });
  }
  if (c.login === 'qrcode' && c.era === 'webqq') {
    ctx.addIssue({ code: 'custom', path: ['era'], message: 'webqq has no QR-code login (QR codes are SmartQQ\'s); use era: smartqq or leave era out' });
  }
}

export function normalizeWebqqConfig(c: Parsed): Parsed & { captchaCodeFile: string } {
  return { ...c, captchaCodeFile: c.captchaCodeFile ?? path.join(c.stateDir, 'captcha-code.txt') };
}

export type WebqqConfig = ReturnType<typeof normalizeWebqqConfig>;
