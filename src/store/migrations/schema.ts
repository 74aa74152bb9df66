import type { Migration } from './index.js';

/** The column types that differ between the dialects; everything else is the same SQL. */
interface Types {
  /** An ever-increasing row id. */
  serial: string;
  /** Epoch milliseconds. */
  time: string;
  /** A JSON document (TEXT in SQLite, JSONB in PostgreSQL, which the driver hands back parsed). */
  json: string;
}

const TYPES: Record<'sqlite' | 'postgres', Types> = {
  sqlite: { serial: 'INTEGER PRIMARY KEY AUTOINCREMENT', time: 'INTEGER', json: 'TEXT' },
  postgres: { serial: 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY', time: 'BIGINT', json: 'JSONB' },
};

/**
 * The schema, once for both dialects, in order. Versions and names are those already recorded in
 * existing databases' `schema_migrations`; never edit a released step, add one.
 */
const STEPS: ReadonlyArray<{ version: number; name: string; up: (t: Types) => string[] }> = [
  {
    version: 1,
    name: 'initial',
    up: (t) => [
      `CREATE TABLE outbox (
        seq ${t.serial},
        network TEXT NOT NULL,
        room TEXT NOT NULL,
        idem_key TEXT NOT NULL UNIQUE,
        payload ${t.json} NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at ${t.time} NOT NULL,
        last_error TEXT,
        created_at ${t.time} NOT NULL,
        updated_at ${t.time} NOT NULL
      )`,
      `CREATE INDEX outbox_pending ON outbox (network, room, seq) WHERE state = 'pending'`,
      `CREATE INDEX outbox_done ON outbox (updated_at) WHERE state <> 'pending'`,
      `CREATE TABLE dedupe (
        network TEXT NOT NULL,
        native_key TEXT NOT NULL,
        seen_at ${t.time} NOT NULL,
        PRIMARY KEY (network, native_key)
      )`,
      `CREATE INDEX dedupe_seen ON dedupe (seen_at)`,
      `CREATE TABLE message_map (
        network TEXT NOT NULL,
        room TEXT NOT NULL,
        remote_id TEXT NOT NULL,
        source_id TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('origin', 'delivered')),
        part_index INTEGER NOT NULL DEFAULT 0,
        summary TEXT,
        created_at ${t.time} NOT NULL,
        PRIMARY KEY (network, room, remote_id)
      )`,
      `CREATE INDEX message_map_source ON message_map (source_id, network, room, part_index)`,
      `CREATE INDEX message_map_created ON message_map (created_at)`,
      `CREATE TABLE links (
        id TEXT PRIMARY KEY,
        link ${t.json} NOT NULL,
        created_by TEXT,
        created_at ${t.time} NOT NULL
      )`,
      `CREATE TABLE ghosts (
        user_id TEXT PRIMARY KEY,
        display_name TEXT,
        avatar_url TEXT,
        updated_at ${t.time} NOT NULL
      )`,
      `CREATE TABLE ghost_rooms (
        user_id TEXT NOT NULL,
        room TEXT NOT NULL,
        display_name TEXT NOT NULL,
        updated_at ${t.time} NOT NULL,
        PRIMARY KEY (user_id, room)
      )`,
      `CREATE TABLE kv (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at ${t.time} NOT NULL
      )`,
    ],
  },
  {
    version: 2,
    name: 'outbox sent_ids',
    // Remote ids of the pieces of a split message already sent (JSON array), kept across restarts.
    up: () => [`ALTER TABLE outbox ADD COLUMN sent_ids TEXT`],
  },
  {
    version: 3,
    name: 'outbox carries',
    // Seqs one joined message carries (JSON array, Connector.join), recorded before it is sent.
    up: () => [`ALTER TABLE outbox ADD COLUMN carries TEXT`],
  },
];

export function migrationsFor(dialect: 'sqlite' | 'postgres'): Migration[] {
  const t = TYPES[dialect];
  return STEPS.map((s) => ({ version: s.version, name: s.name, up: s.up(t) }));
}
