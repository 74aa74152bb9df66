import { join } from 'node:path';
import type { MediaAccess } from '../core/connector.js';
import type { Logger } from '../log.js';
import { MediaCache } from './cache.js';
import type { MediaConfig } from './config.js';
import { MediaServer } from './server.js';
import { parseMediaId } from './types.js';

export { MediaCache, MediaError, isMediaError, type MediaErrorCode } from './cache.js';
export { MediaServer, judgeRequest } from './server.js';
export { mediaConfigSchema, type MediaConfig } from './config.js';
export { ALLOWED_MIME_TYPES, extensionFor, parseMediaId } from './types.js';

/** MediaAccess plus text pastes (IRC links a message too long to show in lines). */
export interface MediaStore extends MediaAccess {
  putText(text: string): Promise<{ mediaId: string; url?: string }>;
}

export interface MediaService {
  access: MediaStore;
  cache: MediaCache;
  server: {
    /** Starts the HTTP server (when media.enabled) and the hourly expiry sweep. */
    start(): Promise<void>;
    stop(): Promise<void>;
    /** The public base URL (no trailing slash), or undefined when the server is disabled. */
    readonly url: string | undefined;
  };
}

export interface CreateMediaOptions {
  now?: () => number;
  /** How often expired files are swept; default one hour. */
  sweepIntervalMs?: number;
}

/**
 * The media store for connectors and the server that publishes it. Files live in
 * `<stateDir>/media`; put() throws MediaError (`too-large`, `unsupported-type`) so the caller can
 * degrade the part to a notice instead of losing the message.
 */
export function createMedia(
  config: { stateDir: string; media: MediaConfig },
  log: Logger,
  opts: CreateMediaOptions = {},
): MediaService {
  const { media } = config;
  const mlog = log.child({ component: 'media' });
  const cache = new MediaCache({
    dir: join(config.stateDir, 'media'),
    maxBytes: media.maxBytes,
    maxAgeDays: media.maxAgeDays,
    ...(opts.now ? { now: opts.now } : {}),
  });
  const httpServer = media.enabled
    ? new MediaServer({ cache, bindAddress: media.bindAddress, port: media.port, log: mlog })
    : undefined;
  let sweepTimer: NodeJS.Timeout | undefined;

  const baseUrl = (): string | undefined => {
    if (!httpServer) return undefined;
    if (media.publicUrl) return media.publicUrl.replace(/\/+$/, '');
    const host = media.bindAddress.includes(':') ? `[${media.bindAddress}]` : media.bindAddress;
    return `http://${host}:${httpServer.port ?? media.port}`;
  };
  const urlFor = (mediaId: string): string | undefined => {
    const base = baseUrl();
    return base && parseMediaId(mediaId) ? `${base}/media/${mediaId}` : undefined;
  };
  const withUrl = (mediaId: string): { mediaId: string; url?: string } => {
    const url = urlFor(mediaId);
    return url ? { mediaId, url } : { mediaId };
  };
  const sweep = async (): Promise<void> => {
    try {
      const removed = await cache.sweep();
      if (removed > 0) mlog.info({ removed }, 'expired media files removed');
    } catch (err) {
      mlog.warn({ err }, 'media expiry sweep failed');
    }
  };

  return {
    cache,
    access: {
      put: async (data, mime) => withUrl(await cache.put(data, mime)),
      putText: async (text) => withUrl(await cache.putText(text)),
      get: (mediaId) => cache.get(mediaId),
      urlFor,
    },
    server: {
      async start() {
        await httpServer?.start();
        if (!sweepTimer) {
          void sweep();
          sweepTimer = setInterval(() => void sweep(), opts.sweepIntervalMs ?? 60 * 60 * 1000);
          sweepTimer.unref();
        }
      },
      async stop() {
        if (sweepTimer) clearInterval(sweepTimer);
        sweepTimer = undefined;
        await httpServer?.stop();
      },
      get url() {
        return baseUrl();
      },
    },
  };
}
