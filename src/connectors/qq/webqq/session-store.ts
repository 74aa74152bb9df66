/**
 * Persists the WebQQ session (ids + cookie jar) so a restart can relink instead of asking for a
 * new password round or QR scan. The file holds credentials: mode 0600 in a 0700 directory,
 * written atomically so a crash never leaves half a session behind.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Logger } from '../../../log.js';
import type { HashVersion } from './protocol-crypto.js';
import type { Session } from './auth.js';

export const storedSessionSchema = z.object({
  uin: z.number().int().positive(),
  clientid: z.union([z.string(), z.number()]),
  ptwebqq: z.string(),
  vfwebqq: z.string(),
  psessionid: z.string(),
  era: z.enum(['password', 'qrcode']),
  nick: z.string().optional(),
  jar: z.unknown(),
  savedAt: z.string(),
  hashVersion: z.enum(['P', 'O', 'Q', 'N']).optional(),
  /**
   * This session's group numbers by gid (with the name seen beside it): a restart that relinks the
   * session keeps its gids, so it need not ask get_friend_uin2 for each group again.
   */
  groups: z.array(z.object({ gid: z.number().int(), name: z.string(), number: z.number().int().positive() })).optional(),
});

export type StoredGroupNumber = NonNullable<z.infer<typeof storedSessionSchema>['groups']>[number];

export type StoredSession = z.infer<typeof storedSessionSchema>;

export class CorruptSessionError extends Error {
  readonly file: string;
  constructor(file: string, reason: string) {
    super(`session file ${file} is unreadable (${reason}); it will be ignored and a fresh login done`);
    this.name = 'CorruptSessionError';
    this.file = file;
  }
}

export class SessionStore {
  readonly file: string;

  constructor(readonly stateDir: string, private readonly log?: Logger) {
    this.file = path.join(stateDir, 'session.json');
  }

  async save(session: Session, jar: unknown, hashVersion?: HashVersion, groups?: readonly StoredGroupNumber[]): Promise<void> {
    const data: StoredSession = {
      uin: session.uin,
      clientid: session.clientid,
      ptwebqq: session.ptwebqq,
      vfwebqq: session.vfwebqq,
      psessionid: session.psessionid,
      era: session.era,
      ...(session.nick !== undefined ? { nick: session.nick } : {}),
      jar,
      savedAt: new Date().toISOString(),
      ...(hashVersion ? { hashVersion } : {}),
      ...(groups?.length ? { groups: [...groups] } : {}),
    };
    await ensureDir(this.stateDir);
    const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await fs.writeFile(tmp, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 });
      await fs.chmod(tmp, 0o600);
      await fs.rename(tmp, this.file);
      // rename keeps the temp file's mode, but chmod again in case of an odd filesystem/umask.
      await fs.chmod(this.file, 0o600);
    } catch (e) {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw e;
    }
  }

  /** undefined when there is no file; throws CorruptSessionError when it cannot be used. */
  async load(): Promise<StoredSession | undefined> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new CorruptSessionError(this.file, (e as Error).message);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new CorruptSessionError(this.file, `not JSON: ${(e as Error).message}`);
    }
    const parsed = storedSessionSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new CorruptSessionError(this.file, `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
    }
    return parsed.data;
  }

  /** Like load(), but a corrupt file is logged as a warning and treated as absent. */
  async loadOrWarn(): Promise<StoredSession | undefined> {
    try {
      return await this.load();
    } catch (e) {
      if (e instanceof CorruptSessionError) {
        this.log?.warn({ file: this.file }, e.message);
        return undefined;
      }
      throw e;
    }
  }

  async clear(): Promise<void> {
    await fs.rm(this.file, { force: true });
  }
}

export async function ensureDir(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}

/** The session ids in a stored file, as auth/relink take them. */
export function sessionFromStored(s: StoredSession): Session {
  return {
    era: s.era,
    uin: s.uin,
    clientid: s.clientid,
    ptwebqq: s.ptwebqq,
    vfwebqq: s.vfwebqq,
    psessionid: s.psessionid,
    ...(s.nick !== undefined ? { nick: s.nick } : {}),
  };
}
