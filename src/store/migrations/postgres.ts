import type { Migration } from './index.js';

/** PostgreSQL schema, in order. Times are epoch milliseconds (BIGINT). */
export const postgresMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'initial',
    up: [
      `CREATE TABLE outbox (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        network TEXT NOT NULL,
        room TEXT NOT NULL,
        idem_key TEXT NOT NULL UNIQUE,
        payload JSONB NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at BIGINT NOT NULL,
        last_error TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      )`,
      `CREATE INDEX outbox_pending ON outbox (network, room, seq) WHERE state = 'pending'`,
      `CREATE INDEX outbox_done ON outbox (updated_at) WHERE state <> 'pending'`,
      `CREATE TABLE dedupe (
        network TEXT NOT NULL,
        native_key TEXT NOT NULL,
        seen_at BIGINT NOT NULL,
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
        created_at BIGINT NOT NULL,
        PRIMARY KEY (network, room, remote_id)
      )`,
      `CREATE INDEX message_map_source ON message_map (source_id, network, room, part_index)`,
      `CREATE INDEX message_map_created ON message_map (created_at)`,
      `CREATE TABLE links (
        id TEXT PRIMARY KEY,
        link JSONB NOT NULL,
        created_by TEXT,
        created_at BIGINT NOT NULL
      )`,
      `CREATE TABLE ghosts (
        user_id TEXT PRIMARY KEY,
        display_name TEXT,
        avatar_url TEXT,
        updated_at BIGINT NOT NULL
      )`,
      `CREATE TABLE ghost_rooms (
        user_id TEXT NOT NULL,
        room TEXT NOT NULL,
        display_name TEXT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (user_id, room)
      )`,
      `CREATE TABLE kv (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at BIGINT NOT NULL
      )`,
    ],
  },
];
