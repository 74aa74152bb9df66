import type { Db } from '../db.js';
import { stmt } from '../db.js';

/** One schema step. `up` statements run in one transaction with the version's bookkeeping row. */
export interface Migration {
  version: number;
  name: string;
  up: readonly string[];
}

const BOOKKEEPING = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at BIGINT NOT NULL
)`;

/**
 * Applies the migrations not yet recorded in `schema_migrations`, in version order; running it
 * again is a no-op. Returns the versions it applied.
 */
export async function migrate(db: Db, migrations: readonly Migration[], now = Date.now()): Promise<number[]> {
  const versions = migrations.map((m) => m.version);
  if (versions.some((v, i) => i > 0 && v <= versions[i - 1]!)) {
    throw new Error(`migrations must be listed in increasing version order (got ${versions.join(', ')})`);
  }
  await db.run(BOOKKEEPING);
  const applied = new Set((await db.all('SELECT version FROM schema_migrations')).map((r) => Number(r.version)));
  const known = new Set(versions);
  const unknown = [...applied].filter((v) => !known.has(v));
  if (unknown.length > 0) {
    // A newer qqbridge migrated this database; running old code on it could corrupt it.
    throw new Error(`database schema has versions this qqbridge does not know (${unknown.join(', ')}); upgrade qqbridge`);
  }
  const done: number[] = [];
  for (const m of migrations) {
    if (applied.has(m.version)) continue;
    await db.batch([
      ...m.up.map((sql) => stmt(sql)),
      stmt('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', m.version, m.name, now),
    ]);
    done.push(m.version);
  }
  return done;
}
