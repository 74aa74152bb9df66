import { z } from 'zod';
import type { HoldOptions } from '../core/relay.js';

/**
 * The `store` section of the config. Without `url` the bridge keeps its state in SQLite at
 * `<stateDir>/qqbridge.sqlite`; `stateDir` itself is configured elsewhere (top level).
 */
export const storeConfigSchema = z
  .object({
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'store.url must be a PostgreSQL URL (postgres://user:password@host:port/database)')
      .optional(),
    /** While the store is unavailable: what is held in memory, and when the bridge gives up. */
    outage: z
      .object({
        /** Messages held in memory at most (default 10,000); past it the oldest are dropped and counted. */
        holdMessages: z.number().int().min(1).optional(),
        /** …and their size (default 32 MiB). */
        holdMiB: z.number().min(1).optional(),
        /** Exit non-zero after this long unavailable (default 600); 0: never exit, ride every outage out. */
        exitAfterSeconds: z.number().min(0).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .default({});

export type StoreConfig = z.infer<typeof storeConfigSchema>;

export function holdOptions(c: StoreConfig): HoldOptions {
  const o = c.outage ?? {};
  return { maxMessages: o.holdMessages ?? 10_000, maxBytes: (o.holdMiB ?? 32) * 1024 * 1024, exitAfterMs: (o.exitAfterSeconds ?? 600) * 1000 };
}
