/** The `qq` section's keys for `protocol: milky` (Lagrange.Milky, Yogurt, LuckyLilliaBot). */
import { z } from 'zod';
import { listenerSchema } from '../listener-config.js';

const webhookSchema = listenerSchema('qq.milky.webhook', '/milky/event');

export const milkyConfigObject = z.object({
  protocol: z.literal('milky'),
  milky: z
    .object({
      /** The implementation's base URL: API at {url}/api/:endpoint, events at {url}/event. */
      url: z.url({ protocol: /^https?$/, error: 'qq.milky.url must be an http(s) URL, e.g. http://127.0.0.1:3000' }),
      /** "Authorization: Bearer <token>" on every API call and on the event stream (and required on webhook POSTs). */
      accessToken: z.string().min(1).optional(),
      events: z.enum(['websocket', 'sse', 'webhook']).default('websocket'),
      /** Only with events: webhook — where the implementation POSTs events. */
      webhook: webhookSchema.optional(),
    })
    .strict(),
});

type Parsed = z.output<typeof milkyConfigObject>;

export function checkMilkyConfig(c: Parsed, ctx: z.RefinementCtx): void {
  const m = c.milky;
  if (m.events === 'webhook' && !m.webhook) ctx.addIssue({ code: 'custom', path: ['milky', 'webhook'], message: 'qq.milky.webhook is required with events: webhook ({ bindAddress, port, path })' });
  if (m.events !== 'webhook' && m.webhook) ctx.addIssue({ code: 'custom', path: ['milky', 'webhook'], message: 'qq.milky.webhook is only used with events: webhook' });
}

export type MilkyConfig = Parsed;
