import { z } from 'zod';

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
  })
  .strict()
  .default({});

export type StoreConfig = z.infer<typeof storeConfigSchema>;
