/** The `qq` section of the bridge config. */
import path from 'node:path';
import { z } from 'zod';
import { pacingSchema } from './account/config.js';

export const QQ_STATUSES = ['online', 'away', 'busy', 'silent', 'hidden', 'callme'] as const;

export const qqConfigSchema = z
  .object({
    /** The bot account's QQ number. */
    uin: z.number().int().positive(),
    /** Required when login = password. */
    password: z.string().min(1).optional(),
    login: z.enum(['password', 'qrcode']).default('password'),
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
    /** Account-wide send pacing (account/config.ts); `sendIntervalMs` is its old name for intervalMs. */
    pacing: pacingSchema.optional(),
  })
  .superRefine((c, ctx) => {
    if (c.login === 'password' && !c.password) {
      ctx.addIssue({ code: 'custom', path: ['password'], message: 'qq.password is required when qq.login is "password"' });
    }
  })
  .transform((c) => ({
    ...c,
    captchaCodeFile: c.captchaCodeFile ?? path.join(c.stateDir, 'captcha-code.txt'),
    // pacing.intervalMs is the new name of sendIntervalMs: one value for both readers.
    sendIntervalMs: c.pacing?.intervalMs ?? c.sendIntervalMs,
  }));

export type QqConfig = z.infer<typeof qqConfigSchema>;
