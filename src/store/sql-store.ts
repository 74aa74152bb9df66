import type { Db, Row } from './db.js';
import { stmt } from './db.js';
import type {
  EnqueueItem,
  EnqueueResult,
  FailedItem,
  Ghost,
  LinkRecord,
  MapEntry,
  MapRole,
  OriginEntry,
  OutboxItem,
  OutboxState,
  Store,
  StoreTarget,
  TargetDepth,
} from './store.js';

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const optStr = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : String(v));

/** JSON columns are TEXT in SQLite and JSONB in PostgreSQL (which pg hands back parsed). */
function fromJson(v: unknown, parsedByDriver: boolean): unknown {
  if (v === null || v === undefined) return undefined;
  return parsedByDriver ? v : JSON.parse(String(v));
}

/** The Store over any `Db`: one implementation, two drivers. */
export class SqlStore implements Store {
  constructor(
    private readonly db: Db,
    readonly dialect: 'sqlite' | 'postgres',
    readonly location: string,
  ) {}

  private get jsonParsed(): boolean {
    return this.dialect === 'postgres';
  }

  private toItem(r: Row): OutboxItem {
    return {
      seq: num(r.seq),
      network: String(r.network),
      room: String(r.room),
      key: String(r.idem_key),
      payload: fromJson(r.payload, this.jsonParsed),
      state: String(r.state) as OutboxState,
      attempts: num(r.attempts),
      nextAttemptAt: num(r.next_attempt_at),
      lastError: optStr(r.last_error),
      createdAt: num(r.created_at),
      sentIds: r.sent_ids === null || r.sent_ids === undefined ? [] : (JSON.parse(String(r.sent_ids)) as string[]),
    };
  }

  async enqueue(
    items: readonly EnqueueItem[],
    opts: { dedupe?: { network: string; key: string }; origin?: OriginEntry; now?: number } = {},
  ): Promise<EnqueueResult> {
    const now = opts.now ?? Date.now();
    const stmts = [];
    if (opts.dedupe) {
      stmts.push(stmt('INSERT INTO dedupe (network, native_key, seen_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', opts.dedupe.network, opts.dedupe.key, now));
    }
    if (opts.origin) stmts.push(this.originStmt(opts.origin, now));
    const first = stmts.length;
    for (const it of items) {
      stmts.push(
        stmt(
          `INSERT INTO outbox (network, room, idem_key, payload, state, attempts, next_attempt_at, created_at, updated_at)
           VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?) ON CONFLICT (idem_key) DO NOTHING`,
          it.network, it.room, it.key, JSON.stringify(it.payload ?? null), now, now, now,
        ),
      );
    }
    if (stmts.length === 0) return { inserted: 0, firstSeen: true };
    const changes = await this.db.batch(stmts);
    return {
      inserted: changes.slice(first).reduce((a, b) => a + b, 0),
      firstSeen: opts.dedupe ? changes[0] === 1 : true,
    };
  }

  async nextPending(target: StoreTarget, limit: number): Promise<OutboxItem[]> {
    const rows = await this.db.all(
      `SELECT * FROM outbox WHERE network = ? AND room = ? AND state = 'pending' ORDER BY seq LIMIT ?`,
      [target.network, target.room, limit],
    );
    return rows.map((r) => this.toItem(r));
  }

  async markDelivered(seq: number, d: { sourceId: string; remoteIds: readonly string[] } & StoreTarget, now = Date.now()): Promise<void> {
    await this.db.batch([
      stmt(`UPDATE outbox SET state = 'delivered', last_error = NULL, updated_at = ? WHERE seq = ?`, now, seq),
      ...d.remoteIds.map((remoteId, i) =>
        stmt(
          `INSERT INTO message_map (network, room, remote_id, source_id, role, part_index, summary, created_at)
           VALUES (?, ?, ?, ?, 'delivered', ?, NULL, ?) ON CONFLICT DO NOTHING`,
          d.network, d.room, remoteId, d.sourceId, i, now,
        ),
      ),
    ]);
  }

  async markAttemptFailed(seq: number, f: { error: string; nextAttemptAt: number; sentIds?: readonly string[] }, now = Date.now()): Promise<void> {
    await this.db.batch([
      stmt(
        `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, sent_ids = ?, updated_at = ? WHERE seq = ?`,
        f.nextAttemptAt, f.error, f.sentIds && f.sentIds.length > 0 ? JSON.stringify(f.sentIds) : null, now, seq,
      ),
    ]);
  }

  async markFailed(seq: number, error: string, now = Date.now()): Promise<void> {
    await this.db.run(
      `UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?, updated_at = ? WHERE seq = ?`,
      [error, now, seq],
    );
  }

  async getOutboxItem(seq: number): Promise<OutboxItem | undefined> {
    const [r] = await this.db.all('SELECT * FROM outbox WHERE seq = ?', [seq]);
    return r ? this.toItem(r) : undefined;
  }

  async pendingDepths(): Promise<TargetDepth[]> {
    const rows = await this.db.all(
      `SELECT network, room, COUNT(*) AS depth, MIN(created_at) AS oldest FROM outbox
       WHERE state = 'pending' GROUP BY network, room ORDER BY network, room`,
    );
    return rows.map((r) => ({ network: String(r.network), room: String(r.room), depth: num(r.depth), oldestCreatedAt: num(r.oldest) }));
  }

  async failedItems(limit: number): Promise<{ total: number; recent: FailedItem[] }> {
    const [count] = await this.db.all(`SELECT COUNT(*) AS n FROM outbox WHERE state = 'failed'`);
    const rows = await this.db.all(`SELECT seq, network, room, updated_at, last_error FROM outbox WHERE state = 'failed' ORDER BY seq DESC LIMIT ?`, [limit]);
    return {
      total: num(count?.n ?? 0),
      recent: rows.map((r) => ({ seq: num(r.seq), network: String(r.network), room: String(r.room), error: optStr(r.last_error), failedAt: num(r.updated_at) })),
    };
  }

  async pendingTargets(): Promise<StoreTarget[]> {
    const rows = await this.db.all(`SELECT DISTINCT network, room FROM outbox WHERE state = 'pending' ORDER BY network, room`);
    return rows.map((r) => ({ network: String(r.network), room: String(r.room) }));
  }

  pruneOutbox(before: number): Promise<number> {
    return this.db.run(`DELETE FROM outbox WHERE state <> 'pending' AND updated_at < ?`, [before]);
  }

  async claimDedupe(network: string, key: string, now = Date.now()): Promise<boolean> {
    const n = await this.db.run('INSERT INTO dedupe (network, native_key, seen_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', [network, key, now]);
    return n === 1;
  }

  async hasSeen(network: string, key: string): Promise<boolean> {
    const rows = await this.db.all('SELECT 1 AS x FROM dedupe WHERE network = ? AND native_key = ?', [network, key]);
    return rows.length > 0;
  }

  pruneDedupe(before: number): Promise<number> {
    return this.db.run('DELETE FROM dedupe WHERE seen_at < ?', [before]);
  }

  private originStmt(o: OriginEntry, now: number) {
    return stmt(
      `INSERT INTO message_map (network, room, remote_id, source_id, role, part_index, summary, created_at)
       VALUES (?, ?, ?, ?, 'origin', 0, ?, ?) ON CONFLICT DO NOTHING`,
      o.network, o.room, o.remoteId, o.sourceId, o.summary ? JSON.stringify(o.summary) : null, now,
    );
  }

  async recordOrigin(entry: OriginEntry, now = Date.now()): Promise<void> {
    const s = this.originStmt(entry, now);
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

  async putLink(l: { id: string; link: unknown; createdBy?: string }, now = Date.now()): Promise<void> {
    await this.db.run(
      `INSERT INTO links (id, link, created_by, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET link = excluded.link, created_by = excluded.created_by`,
      [l.id, JSON.stringify(l.link ?? null), l.createdBy ?? null, now],
    );
  }

  private toLink(r: Row): LinkRecord {
    return { id: String(r.id), link: fromJson(r.link, this.jsonParsed), createdBy: optStr(r.created_by), createdAt: num(r.created_at) };
  }

  async getLink(id: string): Promise<LinkRecord | undefined> {
    const [r] = await this.db.all('SELECT * FROM links WHERE id = ?', [id]);
    return r ? this.toLink(r) : undefined;
  }

  async listLinks(): Promise<LinkRecord[]> {
    return (await this.db.all('SELECT * FROM links ORDER BY created_at, id')).map((r) => this.toLink(r));
  }

  async deleteLink(id: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM links WHERE id = ?', [id])) > 0;
  }

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

  async kvGet(key: string): Promise<string | undefined> {
    const [r] = await this.db.all('SELECT value FROM kv WHERE key = ?', [key]);
    return r ? String(r.value) : undefined;
  }

  async kvSet(key: string, value: string, now = Date.now()): Promise<void> {
    await this.db.run(
      'INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
      [key, value, now],
    );
  }

  async kvDelete(key: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM kv WHERE key = ?', [key])) > 0;
  }

  async schemaVersions(): Promise<number[]> {
    return (await this.db.all('SELECT version FROM schema_migrations ORDER BY version')).map((r) => num(r.version));
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
