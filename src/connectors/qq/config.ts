/**
 * The `qq` section of the bridge config: `protocol` picks the backend (webqq, the default, or
 * onebot), and each backend has its own keys (see backends.ts). A key of another backend is an
 * error naming the protocol it belongs to, so a half-switched config is caught by check-config.
 */
import { z } from 'zod';
import { alertSchema, pacingSchema } from './account/config.js';
import { QQ_BACKENDS, QQ_PROTOCOLS, type QqProtocol } from './backends.js';
import type { MilkyConfig } from './milky/config.js';
import type { OnebotConfig } from './onebot/config.js';
import type { WebqqConfig } from './webqq/config.js';

export { QQ_STATUSES } from './webqq/config.js';
export type { MilkyConfig } from './milky/config.js';
export type { OnebotConfig } from './onebot/config.js';
export type { WebqqConfig } from './webqq/config.js';

/** The whole `qq` section, whichever backend it names. */
export type QqSectionConfig = WebqqConfig | OnebotConfig | MilkyConfig;

/**
 * The WebQQ client's options until it has its own type (issue 9 part 3); keep for its imports.
 * @deprecated use WebqqConfig
 */
export type QqConfig = WebqqConfig;

/** `password` under `protocol: onebot` says which protocol it belongs to, not just "unknown key". */
function withForeignKeys(protocol: QqProtocol) {
  const own = QQ_BACKENDS[protocol].config;
  const foreign: Record<string, z.ZodType> = {};
  for (const other of QQ_PROTOCOLS) {
    if (other === protocol) continue;
    for (const key of Object.keys(QQ_BACKENDS[other].config.shape)) {
      if (key in own.shape || key in foreign) continue;
      foreign[key] = z.unknown().refine((v) => v === undefined, { error: `a setting of protocol: ${other}; this config says protocol: ${protocol}` }).optional();
    }
  }
  // qq.pacing is the account's, whatever the backend (account/config.ts).
  return own.extend({ ...foreign, pacing: pacingSchema.optional(), alert: alertSchema.optional() }).strict();
}

const options = QQ_PROTOCOLS.map(withForeignKeys) as unknown as [z.ZodObject, z.ZodObject, ...z.ZodObject[]];

export const qqConfigSchema = z
  .discriminatedUnion('protocol', options, { error: `qq.protocol must be one of: ${QQ_PROTOCOLS.join(', ')}` })
  .superRefine((c, ctx) => {
    const e = QQ_BACKENDS[(c as { protocol: QqProtocol }).protocol];
    (e.check as ((c: unknown, ctx: z.RefinementCtx) => void) | undefined)?.(c, ctx);
  })
  .transform((c): QqSectionConfig => {
    const e = QQ_BACKENDS[(c as { protocol: QqProtocol }).protocol];
    const normalize = e.normalize as ((c: unknown) => unknown) | undefined;
    return (normalize ? normalize(c) : c) as QqSectionConfig;
  });
