import type { Db, Row } from '../db.js';
import { fromJson, num, optStr } from './values.js';
import type { LinkRecord, LinkStore } from '../store.js';

/** Runtime links, over any `Db`. */
export class SqlLinks implements LinkStore {
  constructor(
    private readonly db: Db,
    /** PostgreSQL's driver parses JSONB columns itself. */
    private readonly jsonParsed: boolean,
  ) {}

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
}
