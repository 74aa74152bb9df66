import type { Db } from '../db.js';
import { stmt } from '../db.js';
import { optStr } from './values.js';
import type { Ghost, GhostStore } from '../store.js';

/** Matrix ghost profiles, over any `Db`. */
export class SqlGhosts implements GhostStore {
  constructor(private readonly db: Db) {}

  async setGhostProfile(userId: string, p: { displayName?: string; avatarUrl?: string }, now = Date.now()): Promise<void> {
    await this.db.run(
      `INSERT INTO ghosts (user_id, display_name, avatar_url, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET
         display_name = COALESCE(excluded.display_name, ghosts.display_name),
         avatar_url = COALESCE(excluded.avatar_url, ghosts.avatar_url),
         updated_at = excluded.updated_at`,
      [userId, p.displayName ?? null, p.avatarUrl ?? null, now],
    );
  }

  async setGhostRoomName(userId: string, room: string, displayName: string, now = Date.now()): Promise<void> {
    await this.db.batch([
      stmt('INSERT INTO ghosts (user_id, display_name, avatar_url, updated_at) VALUES (?, NULL, NULL, ?) ON CONFLICT DO NOTHING', userId, now),
      stmt(
        `INSERT INTO ghost_rooms (user_id, room, display_name, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (user_id, room) DO UPDATE SET display_name = excluded.display_name, updated_at = excluded.updated_at`,
        userId, room, displayName, now,
      ),
    ]);
  }

  async getGhost(userId: string): Promise<Ghost | undefined> {
    const [g] = await this.db.all('SELECT * FROM ghosts WHERE user_id = ?', [userId]);
    if (!g) return undefined;
    const rooms = await this.db.all('SELECT room, display_name FROM ghost_rooms WHERE user_id = ? ORDER BY room', [userId]);
    return {
      userId,
      displayName: optStr(g.display_name),
      avatarUrl: optStr(g.avatar_url),
      roomNames: Object.fromEntries(rooms.map((r) => [String(r.room), String(r.display_name)])),
    };
  }

  async deleteGhost(userId: string): Promise<boolean> {
    const [, n] = await this.db.batch([stmt('DELETE FROM ghost_rooms WHERE user_id = ?', userId), stmt('DELETE FROM ghosts WHERE user_id = ?', userId)]);
    return (n ?? 0) > 0;
  }
}
