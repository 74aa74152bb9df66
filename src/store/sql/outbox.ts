import type { Db, Row } from '../db.js';
import { stmt } from '../db.js';
import { fromJson, num, optStr } from './values.js';
import type { DedupeStore, EnqueueItem, EnqueueResult, FailedItem, OriginEntry, OutboxItem, OutboxState, OutboxStore, StoreTarget, TargetDepth } from '../store.js';
import { originStmt } from './message-map.js';

/** The outbox and the dedupe claims written with it, over any `Db`. */
export class SqlOutbox implements OutboxStore, DedupeStore {
  constructor(
    private readonly db: Db,
    /** PostgreSQL's driver parses JSONB columns itself. */
    private readonly jsonParsed: boolean,
  ) {}

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
      ...(r.carries === null || r.carries === undefined ? {} : { carries: JSON.parse(String(r.carries)) as number[] }),
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
    if (opts.origin) stmts.push(originStmt(opts.origin, now));
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

  async recordSentIds(seq: number, sentIds: readonly string[], now = Date.now()): Promise<void> {
    await this.db.run(`UPDATE outbox SET sent_ids = ?, updated_at = ? WHERE seq = ?`, [sentIds.length > 0 ? JSON.stringify(sentIds) : null, now, seq]);
  }

  async markCarries(seq: number, carries: readonly number[], now = Date.now()): Promise<void> {
    await this.db.batch([stmt(`UPDATE outbox SET carries = ?, updated_at = ? WHERE seq = ?`, JSON.stringify(carries), now, seq)]);
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
}
