import fs from 'node:fs';
import Database from 'better-sqlite3';
import type { Logger } from '../log.js';
import type { Db, Row, Stmt } from './db.js';
import { StoreError } from './errors.js';
import { migrate } from './migrations/index.js';
import { migrationsFor } from './migrations/schema.js';
import { SqlStore } from './sql-store.js';
import type { Store } from './store.js';

const REASONS: Array<[RegExp, string]> = [
  [/^SQLITE_FULL/, 'disk full'],
  [/^SQLITE_READONLY/, 'database file is read-only'],
  [/^SQLITE_IOERR/, 'I/O error'],
  [/^SQLITE_CANTOPEN/, 'cannot open the database file'],
  [/^SQLITE_BUSY|^SQLITE_LOCKED/, 'database is locked by another process'],
  [/^SQLITE_CORRUPT|^SQLITE_NOTADB/, 'database file is corrupt or not a SQLite database'],
];

/** Errors that concern the whole database, not one statement: abort the shared transaction. */
function isDiskError(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && /^SQLITE_(FULL|READONLY|IOERR|CANTOPEN|BUSY|LOCKED|CORRUPT|NOTADB)/.test(code);
}

function storeError(file: string, e: unknown): StoreError {
  if (e instanceof StoreError) return e;
  const err = e as { code?: string; message?: string };
  const code = typeof err.code === 'string' ? err.code : undefined;
  const reason = (code && REASONS.find(([re]) => re.test(code))?.[1]) ?? (/not open/.test(err.message ?? '') ? 'store is closed' : undefined);
  return new StoreError(`SQLite store ${file}: ${reason ? `${reason}: ` : ''}${err.message ?? String(e)}`, { cause: e, code });
}

/** better-sqlite3 is synchronous; each call runs to completion, so batches need no lock. */
class SqliteDb implements Db {
  private readonly cache = new Map<string, Database.Statement>();

  constructor(
    private readonly db: Database.Database,
    private readonly file: string,
  ) {
    this.jobTx = this.db.transaction((stmts: readonly Stmt[]) => stmts.map((st) => this.exec(st.sql, st.params)));
    this.groupTx = this.makeGroupTx();
  }

  private prepare(sql: string): Database.Statement {
    let s = this.cache.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.cache.set(sql, s);
    }
    return s;
  }

  private exec(sql: string, params: readonly unknown[]): number {
    const s = this.prepare(sql);
    if (s.reader) {
      s.all(...params);
      return 0;
    }
    return s.run(...params).changes;
  }

  async all(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
    try {
      const s = this.prepare(sql);
      return s.reader ? (s.all(...params) as Row[]) : (s.run(...params), []);
    } catch (e) {
      throw storeError(this.file, e);
    }
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    try {
      return this.exec(sql, params);
    } catch (e) {
      throw storeError(this.file, e);
    }
  }

  /**
   * Group commit: batches asked for in the same turn of the event loop share one transaction
   * (one fsync), each inside its own savepoint so one batch's failure does not undo another's.
   * Every caller's promise still resolves only after the shared COMMIT.
   */
  batch(stmts: readonly Stmt[]): Promise<number[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ stmts, resolve, reject });
      if (this.queue.length === 1) setImmediate(() => this.flush());
    });
  }

  private readonly queue: Array<{ stmts: readonly Stmt[]; resolve: (r: number[]) => void; reject: (e: unknown) => void }> = [];

  /** Made once: the group transaction and each batch's savepoint (better-sqlite3 nests them). */
  private readonly jobTx: (stmts: readonly Stmt[]) => number[];
  private readonly groupTx: (jobs: ReadonlyArray<{ stmts: readonly Stmt[] }>) => Array<{ ok: true; value: number[] } | { ok: false; error: unknown }>;

  private makeGroupTx() {
    return this.db.transaction((jobs: ReadonlyArray<{ stmts: readonly Stmt[] }>) => {
    const results: Array<{ ok: true; value: number[] } | { ok: false; error: unknown }> = [];
    for (const job of jobs) {
      try {
        results.push({ ok: true, value: this.jobTx(job.stmts) });
      } catch (e) {
        if (isDiskError(e)) throw e;
        results.push({ ok: false, error: e });
      }
    }
    return results;
    });
  }

  private flush(): void {
    const jobs = this.queue.splice(0);
    let results: Array<{ ok: true; value: number[] } | { ok: false; error: unknown }>;
    try {
      results = this.groupTx(jobs);
    } catch (e) {
      const err = storeError(this.file, e);
      for (const job of jobs) job.reject(err);
      return;
    }
    jobs.forEach((job, i) => {
      const r = results[i]!;
      if (r.ok) job.resolve(r.value);
      else job.reject(storeError(this.file, r.error));
    });
  }

  async close(): Promise<void> {
    if (this.queue.length > 0) this.flush();
    if (this.db.open) this.db.close();
  }
}

/**
 * Page cache per connection, KiB. better-sqlite3 builds SQLite with a 16 MB default (SQLite's own
 * is 2 MB), and the cache fills as the database grows, so it showed up as ~14 MB of RSS growth over
 * the first 30k messages (bench/memory.ts). Our queries touch the newest rows and the upper levels
 * of each index, which fit in 2 MB; bench throughput did not change.
 */
export const SQLITE_CACHE_KIB = 2000;

/**
 * The WAL stays at its high-water mark on disk; one large transaction (the hourly prune deleting a
 * week of rows) would leave it that big for good. Past this size it is cut back after the next
 * checkpoint. Above the ~4 MB that wal_autocheckpoint (1000 pages) keeps it at in normal running.
 */
export const SQLITE_WAL_LIMIT_BYTES = 8 * 1024 * 1024;

/**
 * How long a write waits for another process's lock (`sqlite3` holding `BEGIN IMMEDIATE`, a
 * backup tool) before it fails with SQLITE_BUSY, once the bridge runs. better-sqlite3 waits
 * synchronously: the whole process stands still meanwhile (no /health, no IRC PONG, no polling),
 * and the store gate retries every 250 ms to 2 s, so a long timeout froze the bridge for most of
 * a held lock. Past this short wait the store is "unavailable" (input pauses, messages are held)
 * and the gate's retries wait without blocking. Opening and migrating still wait 5 s: nothing
 * else runs yet, and a previous process may be finishing.
 */
export const SQLITE_BUSY_TIMEOUT_MS = 200;

/** Opens the SQLite file (created 0600, WAL) and applies pending migrations. */
export async function openSqliteStore(file: string, log: Logger): Promise<Store> {
  let db: Database.Database;
  try {
    // Create it ourselves so it never exists with the umask's wider mode; SQLite gives the
    // -wal/-shm files the same mode as the database file.
    fs.closeSync(fs.openSync(file, 'a', 0o600));
    fs.chmodSync(file, 0o600);
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    // FULL: a commit is on disk when it returns, which is what receive() promises.
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.pragma(`cache_size = -${SQLITE_CACHE_KIB}`);
    db.pragma(`journal_size_limit = ${SQLITE_WAL_LIMIT_BYTES}`);
  } catch (e) {
    throw storeError(file, e);
  }
  const sdb = new SqliteDb(db, file);
  try {
    const applied = await migrate(sdb, migrationsFor('sqlite'));
    if (applied.length > 0) log.info({ store: 'sqlite', file, applied }, 'store migrated');
    db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  } catch (e) {
    await sdb.close();
    throw storeError(file, e);
  }
  return new SqlStore(sdb, 'sqlite', file);
}
