/** The `telegram` section of the configuration. */
import { z } from 'zod';

const webhookSchema = z
  .object({
    /** The public HTTPS URL Telegram posts updates to; its path is the one the local server answers. */
    url: z.string().url(),
    bindAddress: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8443),
    /** Sent by Telegram in X-Telegram-Bot-Api-Secret-Token: 1–256 of A-Z a-z 0-9 _ -. */
    secretToken: z.string().regex(/^[A-Za-z0-9_-]{1,256}$/, 'a secret of 1–256 characters A-Z, a-z, 0-9, _ or -'),
  })
  .strict();

export const telegramConfigSchema = z
  .object({
    token: z.string().regex(/^\d+:[A-Za-z0-9_-]+$/, 'a bot token from @BotFather, like "123456:ABC-DEF…"'),
    apiRoot: z
      .string()
      .url()
      .default('https://api.telegram.org')
      .transform((u) => u.replace(/\/+$/, '')),
    mode: z.enum(['polling', 'webhook']).default('polling'),
    webhook: webhookSchema.optional(),
    /** How a Telegram user is named on the other networks. */
    senderName: z.enum(['first_name', 'username']).default('first_name'),
    /** Per chat; Telegram allows about 20 messages a minute in a group. */
    rateLimit: z
      .object({ perSecond: z.number().positive(), burst: z.number().int().min(1) })
      .strict()
      .default({ perSecond: 0.33, burst: 5 }),
  })
  .strict()
  .refine((c) => c.mode !== 'webhook' || c.webhook !== undefined, {
    message: 'telegram.mode is "webhook" but telegram.webhook { url, bindAddress, port, secretToken } is missing',
    path: ['webhook'],
  });

export type TelegramConfigInput = z.input<typeof telegramConfigSchema>;
export type TelegramConfig = z.output<typeof telegramConfigSchema>;
