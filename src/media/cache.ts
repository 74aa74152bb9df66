import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, unlink, utimes, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { extensionFor, normalizeMime, parseMediaId, ALLOWED_MIME_TYPES } from './types.js';

export type MediaErrorCode = 'too-large' | 'unsupported-type';

/** Why a file was not stored; the caller degrades the part to a notice. */
export class MediaError extends Error {
  readonly code: MediaErrorCode;
  constructor(code: MediaErrorCode, message: string) {
    super(message);
    this.name = 'MediaError';
    this.code = code;
  }
}

export function isMediaError(e: unknown): e is MediaError {
  return e instanceof MediaError;
}

export interface MediaCacheOptions {
  /** The directory the files live in (`<stateDir>/media`). */
  dir: string;
  maxBytes: number;
  maxAgeDays: number;
  /** Milliseconds since the epoch; injectable so tests can age files. */
  now?: () => number;
}

export interface StoredMedia {
  data: Uint8Array;
  mime: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * A content-addressed file cache: a file's name is the sha256 of its bytes plus an extension from
 * its MIME type, so the same picture arriving twice is stored once and its URL never changes.
 * Files are private to the bridge's user (0600); the HTTP server is the only way out.
 */
export class MediaCache {
  readonly dir: string;
  readonly maxBytes: number;
  readonly maxAgeMs: number;
  private readonly now: () => number;
  private ready: Promise<void> | undefined;

  constructor(opts: MediaCacheOptions) {
    this.dir = opts.dir;
    this.maxBytes = opts.maxBytes;
    this.maxAgeMs = opts.maxAgeDays * DAY_MS;
    this.now = opts.now ?? Date.now;
  }

  private ensureDir(): Promise<void> {
    // A failed mkdir (a full disk, a directory made read-only) must not fail every later put
    // until restart: forget the failure so the next call tries again.
    this.ready ??= mkdir(this.dir, { recursive: true, mode: 0o700 }).then(
      () => undefined,
      (e: unknown) => {
        this.ready = undefined;
        throw e;
      },
    );
    return this.ready;
  }

  /** Stores bytes and returns their media id (`<sha256>.<ext>`). Throws MediaError for large or disallowed files. */
  async put(data: Uint8Array, mime: string): Promise<string> {
    const ext = extensionFor(mime);
    if (!ext) {
      throw new MediaError(
        'unsupported-type',
        `media type ${JSON.stringify(normalizeMime(mime))} is not served by the bridge (allowed: ${ALLOWED_MIME_TYPES.join(', ')})`,
      );
    }
    if (data.byteLength > this.maxBytes) {
      throw new MediaError(
        'too-large',
        `file of ${formatBytes(data.byteLength)} is larger than the media limit of ${formatBytes(this.maxBytes)} (media.maxBytes)`,
      );
    }
    const id = `${createHash('sha256').update(data).digest('hex')}.${ext}`;
    await this.ensureDir();
    const path = join(this.dir, id);
    const when = new Date(this.now());
    try {
      await stat(path);
      // Already stored: refresh its age so a picture still being shared does not expire.
      await utimes(path, when, when);
      return id;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    // Write then rename, so a reader never sees half a file under its final name.
    const tmp = join(this.dir, `.tmp-${randomBytes(8).toString('hex')}`);
    try {
      await writeFile(tmp, data, { mode: 0o600, flag: 'wx' });
      await chmod(tmp, 0o600); // the umask cannot widen it, but an odd umask could narrow; be exact
      await utimes(tmp, when, when);
      await rename(tmp, path);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    return id;
  }

  /** Stores a text paste as `text/plain` (UTF-8). */
  putText(text: string): Promise<string> {
    return this.put(new TextEncoder().encode(text), 'text/plain');
  }

  /** The path of a stored file, or undefined for anything that is not a well-formed media id. */
  pathFor(id: string): string | undefined {
    return parseMediaId(id) ? join(this.dir, id) : undefined;
  }

  /** Size and age of a stored, unexpired file. */
  async stat(id: string): Promise<{ path: string; size: number; mime: string } | undefined> {
    const parsed = parseMediaId(id);
    if (!parsed) return undefined;
    const path = join(this.dir, id);
    try {
      const st = await stat(path);
      if (!st.isFile() || this.isExpired(st.mtimeMs)) return undefined;
      return { path, size: st.size, mime: parsed.mime };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async get(id: string): Promise<StoredMedia | undefined> {
    const found = await this.stat(id);
    if (!found) return undefined;
    try {
      return { data: new Uint8Array(await readFile(found.path)), mime: found.mime };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  private isExpired(mtimeMs: number): boolean {
    return this.now() - mtimeMs > this.maxAgeMs;
  }

  /** Removes files older than maxAgeDays (and stale temp files); returns how many were removed. */
  async sweep(): Promise<number> {
    await this.ensureDir();
    let removed = 0;
    for (const name of await readdir(this.dir)) {
      if (!parseMediaId(name) && !name.startsWith('.tmp-')) continue; // not ours: leave it alone
      const path = join(this.dir, name);
      try {
        const st = await stat(path);
        if (st.isFile() && this.isExpired(st.mtimeMs)) {
          await unlink(path);
          removed++;
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    return removed;
  }
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1).replace(/\.0$/, '')} KiB`;
  return `${n} bytes`;
}
