import { z } from 'zod';

/** The `media:` section: where the media server listens and how long it keeps files. */
export const mediaConfigSchema = z
  .object({
    /** When false no HTTP server runs and no URLs are handed out; bytes are still cached for uploads. */
    enabled: z.boolean().default(true),
    bindAddress: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8780),
    /** The base URL other networks' users reach the server at; defaults to http://<bindAddress>:<port>. */
    publicUrl: z
      .url({ protocol: /^https?$/, error: 'expected an http(s) URL such as https://bridge.example.org/qq' })
      .optional(),
    maxBytes: z.number().int().positive().default(10 * 1024 * 1024),
    maxAgeDays: z.number().positive().default(30),
  })
  .strict();

export type MediaConfig = z.output<typeof mediaConfigSchema>;
