import { z } from 'zod';

/** The `metrics:` section: the Prometheus endpoint and `/health`, served on one port. */
export const metricsConfigSchema = z
  .object({
    /** Off by default: the endpoint shows room ids and traffic volumes. */
    enabled: z.boolean().default(false),
    bindAddress: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(9464),
  })
  .strict();

/** The `notices:` section: status messages the bridge posts in the bridged rooms. */
export const noticesConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** At most one notice of a kind per room in this many minutes. */
    intervalMinutes: z.number().positive().default(10),
    /** A network must stay disconnected this long before "connection lost" is posted (short relinks are not news). */
    graceSeconds: z.number().min(0).default(30),
  })
  .strict();

/** How long a stop (SIGINT/SIGTERM) waits for queued messages to be delivered before leaving them queued. */
export const shutdownTimeoutSchema = z.number().int().min(0).default(10_000);

export type MetricsConfig = z.output<typeof metricsConfigSchema>;
export type NoticesConfig = z.output<typeof noticesConfigSchema>;
