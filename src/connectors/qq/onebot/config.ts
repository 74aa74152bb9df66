/** The `qq` section's keys for `protocol: onebot` (a OneBot v11 implementation: NapCat, Lagrange.OneBot, …). */
import { z } from 'zod';
import { listenerSchema } from '../listener-config.js';

const reverseSchema = listenerSchema('qq.onebot.reverse', '/onebot/v11/ws');

export const onebotConfigObject = z.object({
  protocol: z.literal('onebot'),
  /** Optional: when set it must equal get_login_info's user_id. */
  uin: z.number().int().positive().optional(),
  onebot: z
    .object({
      mode: z.enum(['forward', 'reverse']).default('forward'),
      /** forward: the implementation's WebSocket server (API and events on one socket). */
      url: z.url({ protocol: /^wss?$/, error: 'qq.onebot.url must be a ws:// or wss:// URL' }).optional(),
      /** forward: sent as "Authorization: Bearer <token>"; reverse: required from the implementation. */
      accessToken: z.string().min(1).optional(),
      reverse: reverseSchema.optional(),
      /** No frame for this long means a dead socket; default 2.5 × the announced heartbeat interval, else 60 s. */
      heartbeatTimeoutMs: z.number().int().min(1000).optional(),
    })
    .strict(),
});

type Parsed = z.output<typeof onebotConfigObject>;

export function checkOnebotConfig(c: Parsed, ctx: z.RefinementCtx): void {
  const o = c.onebot;
  if (o.mode === 'forward') {
    if (!o.url) ctx.addIssue({ code: 'custom', path: ['onebot', 'url'], message: 'qq.onebot.url is required with mode: forward (the implementation\'s WebSocket server, e.g. ws://127.0.0.1:3001)' });
    if (o.reverse) ctx.addIssue({ code: 'custom', path: ['onebot', 'reverse'], message: 'qq.onebot.reverse is only used with mode: reverse' });
  } else {
    if (!o.reverse) ctx.addIssue({ code: 'custom', path: ['onebot', 'reverse'], message: 'qq.onebot.reverse is required with mode: reverse (where the implementation connects to: { bindAddress, port, path })' });
    if (o.url) ctx.addIssue({ code: 'custom', path: ['onebot', 'url'], message: 'qq.onebot.url is only used with mode: forward' });
  }
}

export function normalizeOnebotConfig(c: Parsed): Parsed {
  return c;
}

export type OnebotConfig = Parsed;
