/**
 * `qqbridge status`: what the bridge's store says, read without the running process — queued
 * messages per target, messages given up on, links (config and runtime) and the age of the saved
 * QQ session. Opens the store read-only; never migrates or writes.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Config } from '../config.js';
import { ConfigError } from '../core/errors.js';
import { redactUrl, SQLITE_FILE } from '../store/store.js';

export interface StatusReport {
  store: string;
  now: number;
  pending: Array<{ network: string; room: string; depth: number; oldestCreatedAt: number; attempts: number; lastError: string | undefined }>;
  failed: { total: number; recent: Array<{ seq: number; network: string; room: string; at: number; error: string | undefined }> };
  links: Array<{ source: string; rooms: string[] }>;
  qqSession: { file: string; savedAt: number | undefined; problem?: string };
}

type Query = (sql: string) => Promise<Array<Record<string, unknown>>>;

const num = (v: unknown): number => Number(v);
const optStr = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : String(v));

export async function readStatus(config: Config, now = Date.now()): Promise<StatusReport> {
  let query: Query;
  let close: () => Promise<void>;
  let where: string;
  if (config.store.url) {
    const client = new pg.Client({ connectionString: config.store.url });
    where = redactUrl(config.store.url);
    try {
      await client.connect();
    } catch (e) {
      throw new ConfigError(`cannot connect to the store ${where}: ${(e as Error).message}`);
    }
    query = async (sql) => (await client.query(sql)).rows as Array<Record<string, unknown>>;
    close = () => client.end();
  } else {
    const file = path.join(config.stateDir, SQLITE_FILE);
    where = file;
    if (!fs.existsSync(file)) throw new ConfigError(`no store at ${file}: has the bridge run with stateDir ${config.stateDir}?`);
    const db = new Database(file, { readonly: true, fileMustExist: true });
    query = async (sql) => db.prepare(sql).all() as Array<Record<string, unknown>>;
    close = async () => {
      db.close();
    };
  }
  try {
    const pending = await query(
      `SELECT network, room, COUNT(*) AS depth, MIN(created_at) AS oldest, MAX(attempts) AS attempts,
              (SELECT o2.last_error FROM outbox o2 WHERE o2.network = o.network AND o2.room = o.room AND o2.state = 'pending' ORDER BY o2.seq LIMIT 1) AS last_error
         FROM outbox o WHERE state = 'pending' GROUP BY network, room ORDER BY network, room`,
    );
    const failedTotal = await query(`SELECT COUNT(*) AS n FROM outbox WHERE state = 'failed'`);
    const failed = await query(`SELECT seq, network, room, updated_at, last_error FROM outbox WHERE state = 'failed' ORDER BY seq DESC LIMIT 20`);
    const runtime = await query(`SELECT id, link FROM links ORDER BY id`);
    return {
      store: where,
      now,
      pending: pending.map((r) => ({
        network: String(r.network),
        room: String(r.room),
        depth: num(r.depth),
        oldestCreatedAt: num(r.oldest),
        attempts: num(r.attempts),
        lastError: optStr(r.last_error),
      })),
      failed: {
        total: num(failedTotal[0]?.n ?? 0),
        recent: failed.map((r) => ({ seq: num(r.seq), network: String(r.network), room: String(r.room), at: num(r.updated_at), error: optStr(r.last_error) })),
      },
      links: [
        ...config.mappings.map((l) => ({ source: `config ${l.source ?? ''}`.trim(), rooms: l.rooms.map((r) => `${r.network}:${r.room}`) })),
        ...runtime.map((r) => ({ source: `runtime ${String(r.id)}`, rooms: runtimeRooms(r.link) })),
      ],
      qqSession: readSession(config.qq.stateDir),
    };
  } finally {
    await close();
  }
}

function runtimeRooms(link: unknown): string[] {
  let v = link;
  try {
    if (typeof v === 'string') v = JSON.parse(v);
  } catch {
    return ['(unreadable link)'];
  }
  const rooms = (v as { rooms?: Array<{ network?: unknown; room?: unknown }> } | null)?.rooms;
  return Array.isArray(rooms) ? rooms.map((r) => `${String(r.network)}:${String(r.room)}`) : ['(unreadable link)'];
}

function readSession(stateDir: string): StatusReport['qqSession'] {
  const file = path.join(stateDir, 'session.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return { file, savedAt: undefined, problem: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no saved session' : (e as Error).message };
  }
  try {
    // Only savedAt is read: the file holds cookies and tokens, which never leave it.
    const savedAt = Date.parse(String((JSON.parse(text) as { savedAt?: unknown }).savedAt));
    return Number.isFinite(savedAt) ? { file, savedAt } : { file, savedAt: undefined, problem: 'session file has no savedAt' };
  } catch {
    return { file, savedAt: undefined, problem: 'session file is not valid JSON' };
  }
}

/** "3m 12s", "2h 5m", "4d 1h". */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const clip = (s: string | undefined, n = 60) => (s === undefined ? '' : s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function formatStatus(r: StatusReport): string {
  const out: string[] = [`store: ${r.store}`, ''];
  const total = r.pending.reduce((a, p) => a + p.depth, 0);
  out.push(`Outbox: ${total} message(s) waiting`);
  if (r.pending.length > 0) {
    out.push(table(['NETWORK', 'ROOM', 'DEPTH', 'OLDEST', 'ATTEMPTS', 'LAST ERROR'], r.pending.map((p) => [p.network, p.room, String(p.depth), formatAge(r.now - p.oldestCreatedAt), String(p.attempts), clip(p.lastError)])));
  }
  out.push('', `Failed (given up on): ${r.failed.total}`);
  if (r.failed.recent.length > 0) {
    out.push(table(['SEQ', 'NETWORK', 'ROOM', 'AGO', 'REASON'], r.failed.recent.map((f) => [String(f.seq), f.network, f.room, formatAge(r.now - f.at), clip(f.error, 80)])));
  }
  out.push('', `Links: ${r.links.length}`);
  if (r.links.length > 0) out.push(table(['FROM', 'ROOMS'], r.links.map((l) => [l.source, l.rooms.join(', ')])));
  const s = r.qqSession;
  out.push('', s.savedAt !== undefined ? `QQ session: saved ${formatAge(r.now - s.savedAt)} ago (${new Date(s.savedAt).toISOString()}, ${s.file})` : `QQ session: ${s.problem} (${s.file})`);
  return `${out.join('\n')}\n`;
}
