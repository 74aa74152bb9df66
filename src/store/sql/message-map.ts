import type { Db } from '../db.js';
import { stmt } from '../db.js';
import type { MapEntry, MapRole, MessageMapStore, OriginEntry, StoreTarget } from '../store.js';

/** The message_map row recording where a message came from (written inside the outbox's enqueue too). */
export function originStmt(o: OriginEntry, now: number) {
  return stmt(
    `INSERT INTO message_map (network, room, remote_id, source_id, role, part_index, summary, created_at)
     VALUES (?, ?, ?, ?, 'origin', 0, ?, ?) ON CONFLICT DO NOTHING`,
    o.network, o.room, o.remoteId, o.sourceId, o.summary ? JSON.stringify(o.summary) : null, now,
  );
}

/** Bridge message ↔ remote ids, over any `Db`. */
export class SqlMessageMap implements MessageMapStore {
  constructor(private readonly db: Db) {}

  async recordOrigin(entry: OriginEntry, now = Date.now()): Promise<void> {
    const s = originStmt(entry, now);
    await this.db.run(s.sql, s.params);
  }

  async remoteIds(sourceId: string, target: StoreTarget): Promise<string[]> {
    const rows = await this.db.all(
      'SELECT remote_id FROM message_map WHERE source_id = ? AND network = ? AND room = ? ORDER BY part_index, created_at',
      [sourceId, target.network, target.room],
    );
    return rows.map((r) => String(r.remote_id));
  }

  async lookupRemote(target: StoreTarget, remoteId: string): Promise<MapEntry | undefined> {
    const [r] = await this.db.all('SELECT source_id, role FROM message_map WHERE network = ? AND room = ? AND remote_id = ?', [
      target.network, target.room, remoteId,
    ]);
    if (!r) return undefined;
    return { network: target.network, room: target.room, remoteId, sourceId: String(r.source_id), role: String(r.role) as MapRole };
  }

  async getOrigin(sourceId: string): Promise<(OriginEntry & { summary: OriginEntry['summary'] }) | undefined> {
    const [r] = await this.db.all(`SELECT network, room, remote_id, summary FROM message_map WHERE source_id = ? AND role = 'origin' LIMIT 1`, [sourceId]);
    if (!r) return undefined;
    return {
      sourceId,
      network: String(r.network),
      room: String(r.room),
      remoteId: String(r.remote_id),
      summary: r.summary === null || r.summary === undefined ? undefined : (JSON.parse(String(r.summary)) as { nick: string; text: string }),
    };
  }

  pruneMessageMap(before: number): Promise<number> {
    return this.db.run('DELETE FROM message_map WHERE created_at < ?', [before]);
  }
}
