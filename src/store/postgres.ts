import pg from 'pg';
import type { Logger } from '../log.js';
import type { Db, Row, Stmt } from './db.js';
import { numberPlaceholders } from './db.js';
import { StoreError } from './errors.js';
import { migrate } from './migrations/index.js';
import { migrationsFor } from './migrations/schema.js';
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

/** A statement with its parameters written in as literals, for a multi-statement simple query. */
function inline(client: pg.PoolClient, s: Stmt): string {
  let i = 0;
  return s.sql.replace(/\?/g, () => {
    const v = s.params[i++];
    if (v === null || v === undefined) return 'NULL';
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new Error(`cannot store the number ${v}`);
      return String(v);
    }
    if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
    return client.escapeLiteral(String(v));
  });
}

function isConnectionError(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && (/^(08|57P)/.test(code) || /^E[A-Z]+$/.test(code))) return true;
  return /Connection terminated|timeout exceeded|Client was closed|pool after calling end/i.test((e as Error).message ?? '');
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

  private readonly queue: Array<{ stmts: readonly Stmt[]; resolve: (r: number[]) => void; reject: (e: unknown) => void }> = [];
  private flushing = false;

  /**
   * Group commit: batches asked for while the previous group is on its way share one transaction,
   * sent as one simple-query string (BEGIN; …; COMMIT): one round trip for the whole group.
   * Every caller's promise resolves only after that COMMIT. When a group fails for a reason of
   * its own (not the connection), each batch is tried alone so one bad batch cannot sink others.
   */
  batch(stmts: readonly Stmt[]): Promise<number[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ stmts, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const jobs = this.queue.splice(0, 500);
        try {
          const counts = await this.runGroup(jobs.map((j) => j.stmts));
          jobs.forEach((j, i) => j.resolve(counts[i]!));
        } catch (e) {
          const err = storeError(this.where, e);
          if (jobs.length === 1 || isConnectionError(e)) {
            for (const j of jobs) j.reject(err);
            continue;
          }
          for (const j of jobs) {
            try {
              j.resolve((await this.runGroup([j.stmts]))[0]!);
            } catch (e2) {
              j.reject(storeError(this.where, e2));
            }
          }
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private async runGroup(groups: ReadonlyArray<readonly Stmt[]>): Promise<number[][]> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw storeError(this.where, e);
    }
    let broken = false;
    // A server going away while this client is checked out (between its queries) is emitted on
    // the client, not the pool; unheard, it would crash the process. The query in progress (or
    // the next) fails with it anyway.
    const onError = () => {
      broken = true;
    };
    client.on('error', onError);
    try {
      const text = ['BEGIN', ...groups.flatMap((g) => g.map((s) => inline(client, s))), 'COMMIT'].join(';\n');
      const res = (await client.query(text)) as unknown as pg.QueryResult[] | pg.QueryResult;
      const all = Array.isArray(res) ? res : [res];
      let i = 1; // after BEGIN
      return groups.map((g) => g.map(() => all[i++]?.rowCount ?? 0));
    } catch (e) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true; // the connection is gone; don't hand it back to the pool
      }
      throw e;
    } finally {
      client.off('error', onError);
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
    const applied = await migrate(db, migrationsFor('postgres'));
    if (applied.length > 0) log.info({ store: 'postgres', where, applied }, 'store migrated');
  } catch (e) {
    await db.close().catch(() => undefined);
    throw storeError(where, e);
  }
  return new SqlStore(db, 'postgres', where);
}
