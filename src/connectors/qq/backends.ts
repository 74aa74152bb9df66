/**
 * The QQ backends, by `qq.protocol`. A new backend is one folder (its config keys, its library,
 * its `backend.ts` exporting `createBackend`) plus one line here. Only the configured backend's
 * module is imported, when the bridge starts.
 */
import type { z } from 'zod';
import type { QqBackend, QqBackendFeatures } from './backend.js';
import { checkMilkyConfig, milkyConfigObject } from './milky/config.js';
import { checkOnebotConfig, normalizeOnebotConfig, onebotConfigObject } from './onebot/config.js';
import { checkWebqqConfig, normalizeWebqqConfig, webqqConfigObject } from './webqq/config.js';
import type { LoginPrompt } from './webqq/login-prompt.js';

/** A small durable key-value store (the bridge's own). */
export interface BackendKv {
  kvGet(key: string): Promise<string | undefined>;
  kvSet(key: string, value: string): Promise<void>;
}

/** Options the bridge passes to every backend factory (tests shorten timings through `tuning`). */
export interface QqBackendOptions {
  /** Backend-specific knobs (WebQQ: login prompts, poll tuning; OneBot: timeouts), unchecked. */
  tuning?: Record<string, unknown>;
  /** Where a backend keeps what must survive a crash (WebQQ: poll answers not yet relayed). */
  kv?: BackendKv;
  /** Who answers a login that needs a person (captchas, QR codes); WebQQ only. */
  loginPrompt?: LoginPrompt;
}

export interface QqBackendModule<C> {
  createBackend(config: C, opts: QqBackendOptions): QqBackend;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyObject = z.ZodObject<any>;

export interface QqBackendEntry<O extends AnyObject = AnyObject> {
  /** The keys of the `qq` section with this protocol (`protocol` itself included). */
  config: O;
  /** Cross-key checks (`qq.password` with password login, …). */
  check?(c: z.output<O>, ctx: z.RefinementCtx): void;
  /** Defaults that depend on other keys. */
  normalize?(c: z.output<O>): z.output<O>;
  /** Known before the module loads: the connector's capabilities derive from them. */
  features: QqBackendFeatures;
  load(): Promise<QqBackendModule<never>>;
}

function entry<O extends AnyObject>(e: QqBackendEntry<O>): QqBackendEntry<O> {
  return e;
}

export const QQ_BACKENDS = {
  webqq: entry({
    config: webqqConfigObject, check: checkWebqqConfig, normalize: normalizeWebqqConfig,
    // WebQQ splits at ~720 encoded bytes (§4.5); a joined message stays one piece, one send.
    features: { replies: false, mentions: false, recall: false, discussions: true, joinLimit: { length: 600, unit: 'utf8' } },
    load: () => import('./webqq/backend.js'),
  }),
  onebot: entry({
    config: onebotConfigObject, check: checkOnebotConfig, normalize: normalizeOnebotConfig,
    features: { replies: true, mentions: true, recall: true, discussions: false },
    load: () => import('./onebot/backend.js'),
  }),
  milky: entry({ config: milkyConfigObject, check: checkMilkyConfig, features: { replies: true, mentions: true, recall: true, discussions: false }, load: () => import('./milky/backend.js') }),
} as const;

export type QqProtocol = keyof typeof QQ_BACKENDS;
export const QQ_PROTOCOLS = Object.keys(QQ_BACKENDS) as QqProtocol[];
