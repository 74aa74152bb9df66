/**
 * `qq.pacing`: how the account sends. Defaults and why (docs/qq-account.md): one send a second on
 * average, ±30 % so the gaps do not look machine-made, a burst of 3 so a short exchange is not
 * delayed, and a backlog of more than 3 messages for a group joined into fewer QQ messages.
 * `qq.sendIntervalMs` (WebQQ, default 1500) is the old name of `pacing.intervalMs`.
 */
import { z } from 'zod';

export const pacingSchema = z
  .object({
    intervalMs: z.number().int().min(0).optional(),
    jitter: z.number().min(0).max(0.9, { error: 'qq.pacing.jitter must be within [0, 0.9]' }).default(0.3),
    burst: z.number().int().min(1).max(100).default(3),
    /** More than this many messages waiting for one group are joined; 0 turns it off. */
    coalesceAfter: z.number().int().min(0).default(3),
    /** While QQ refuses the account or it is offline: first probe after this (default 30 s)… */
    backoffMinMs: z.number().int().min(10).default(30_000),
    /** …doubling up to this (default 30 min). Shorter only makes risk control worse; tests shorten it. */
    backoffMaxMs: z.number().int().min(10).default(30 * 60_000),
  })
  .strict();

export type PacingConfig = z.infer<typeof pacingSchema>;

export interface ResolvedPacing {
  intervalMs: number;
  jitter: number;
  burst: number;
  coalesceAfter: number;
  backoffMinMs: number;
  backoffMaxMs: number;
}

/** Default mean gap for backends without their own (OneBot, Milky). */
export const DEFAULT_INTERVAL_MS = 1000;

/** The effective pacing: `pacing.intervalMs`, else the old `sendIntervalMs`, else 1000 ms. */
export function resolvePacing(section: { pacing?: PacingConfig | undefined; sendIntervalMs?: number | undefined }): ResolvedPacing {
  const p = section.pacing ?? pacingSchema.parse({});
  return {
    intervalMs: p.intervalMs ?? section.sendIntervalMs ?? DEFAULT_INTERVAL_MS,
    jitter: p.jitter,
    burst: p.burst,
    coalesceAfter: p.coalesceAfter,
    backoffMinMs: p.backoffMinMs,
    backoffMaxMs: Math.max(p.backoffMaxMs, p.backoffMinMs),
  };
}

/**
 * `qq.alert`: a room on any network where the operators hear once per episode that the account is
 * refused or offline, with the reason and what to do (besides the log's error line).
 */
export const alertSchema = z
  .object({
    network: z.string().min(1),
    room: z.string().min(1),
  })
  .strict();

export type AlertRoom = z.infer<typeof alertSchema>;
