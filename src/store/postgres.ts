import pg from 'pg';
import type { Logger } from '../log.js';
import type { Db, Row, Stmt } from './db.js';
import { numberPlaceholders } from './db.js';
import { StoreError } from './errors.js';
import { migrate } from './migrations/index.js';
import { postgresMigrations } from './migrations/postgres.js';
import { SqlStore } from './sql-store.js';
import type { Store } from './store.js';
import { redactUrl } from './store.js';

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'server not reachable (connection refused)',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  ENOTFOUND: 'host not found',
  '57P01': 'server shut down',
  '57P02': 'server crashed',
  '57P03': 'server is starting up or shutting down',
  '53100': 'disk full',
  '25006': 'database is read-only',
  '28P01': 'password authentication failed',
  '3D000': 'database does not exist',
};

function storeError(where: string, e: unknown): StoreError {
  if (e instanceof StoreError) return e;
  const err = e as { code?: string; message?: string };
  const code = typeof err.code === 'string' ? err.code : undefined;
  let reason = code ? REASONS[code] : undefined;
  // pg reports a dropped connection without a code.
  if (!reason && /Connection terminated|timeout exceeded when trying to connect|Client was closed|Cannot use a pool after calling end/i.test(err.message ?? '')) {
    reason = 'server not reachable';
  }
  return new StoreError(`PostgreSQL store ${where}: ${reason ? `${reason}: ` : ''}${err.message ?? String(e)}`, { cause: e, code });
}

class PgDb implements Db {
  constructor(
    private readonly pool: pg.Pool,
    private readonly where: string,
  ) {}

  async all(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
    try {
      return (await this.pool.query(numberPlaceholders(sql), params as unknown[])).rows as Row[];
    } catch (e) {
      throw storeError(this.where, e);
    }
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    try {
      return (await this.pool.query(numberPlaceholders(sql), params as unknown[])).rowCount ?? 0;
    } catch (e) {
      throw storeError(this.where, e);
    }
  }

  async batch(stmts: readonly Stmt[]): Promise<number[]> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw storeError(this.where, e);
    }
    let broken = false;
    try {
      await client.query('BEGIN');
      const out: number[] = [];
      for (const s of stmts) out.push((await client.query(numberPlaceholders(s.sql), s.params as unknown[])).rowCount ?? 0);
      await client.query('COMMIT');
      return out;
    } catch (e) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true; // the connection is gone; don't hand it back to the pool
      }
      throw storeError(this.where, e);
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }
}

/** Connects a pool to `url` and applies pending migrations. */
export async function openPostgresStore(url: string, log: Logger): Promise<Store> {
  const where = redactUrl(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: 5,
    // Fail fast when the server is down instead of hanging the relay.
    connectionTimeoutMillis: 5_000,
    statement_timeout: 30_000,
  });
  // An idle client losing its server emits here; without a listener the process would crash.
  pool.on('error', (err) => log.warn({ store: 'postgres', where, err: err.message }, 'PostgreSQL connection lost'));
  const db = new PgDb(pool, where);
  try {
    const applied = await migrate(db, postgresMigrations);
    if (applied.length > 0) log.info({ store: 'postgres', where, applied }, 'store migrated');
  } catch (e) {
    await db.close().catch(() => undefined);
    throw storeError(where, e);
  }
  return new SqlStore(db, 'postgres', where);
}
