/**
 * The little a SQL store needs from a driver. SQL is written once with `?` placeholders (the
 * PostgreSQL adapter numbers them); both dialects share `INSERT … ON CONFLICT`, `RETURNING` and
 * partial indexes, so only the migrations differ.
 */
export interface Stmt {
  sql: string;
  params: readonly unknown[];
}

export type Row = Record<string, unknown>;

export interface Db {
  all(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Runs a statement; returns the number of rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Runs statements in one transaction; returns each one's changed-row count. */
  batch(stmts: readonly Stmt[]): Promise<number[]>;
  close(): Promise<void>;
}

export const stmt = (sql: string, ...params: unknown[]): Stmt => ({ sql, params });

/** `?` → `$1, $2, …` (our SQL never holds a literal `?`). */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
