import type { Db } from '../db.js';
import type { KvStore } from '../store.js';

/** Small named values, over any `Db`. */
export class SqlKv implements KvStore {
  constructor(private readonly db: Db) {}

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
}
