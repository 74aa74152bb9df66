/**
 * `qqbridge status`: what the bridge's store says, read without the running process — queued
 * messages per target, messages given up on, links (config and runtime) and the age of the saved
 * QQ session. Reads through the Store interface (the store's own SQL); never creates a store that
 * does not exist yet. Error texts are scrubbed: they can quote a request with its credentials.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { ConfigError } from '../core/errors.js';
import { scrubSecrets, silentLogger } from '../log.js';
import { openStore, redactUrl, SQLITE_FILE, type Store } from '../store/store.js';

export interface StatusReport {
  store: string;
  now: number;
  pending: Array<{ network: string; room: string; depth: number; oldestCreatedAt: number; attempts: number; lastError: string | undefined }>;
  failed: { total: number; recent: Array<{ seq: number; network: string; room: string; at: number; error: string | undefined }> };
  links: Array<{ source: string; rooms: string[] }>;
  /** WebQQ's saved login session (other QQ backends keep no session of their own). */
  qqSession?: { file: string; savedAt: number | undefined; problem?: string };
}

const scrub = (s: string | undefined): string | undefined => (s === undefined ? undefined : scrubSecrets(s));

/** Opens the configured store if it exists; a clear ConfigError if it does not or cannot be reached. */
async function openExisting(config: Config): Promise<Store> {
  if (config.store.url) {
    const where = redactUrl(config.store.url);
    try {
      return await openStore({ stateDir: config.stateDir, url: config.store.url }, silentLogger);
    } catch (e) {
      throw new ConfigError(`cannot open the store ${where}: ${scrubSecrets(redactUrl((e as Error).message))}`);
    }
  }
  const file = path.join(config.stateDir, SQLITE_FILE);
  // Opening would create an empty store; a status report on one would only mislead.
  if (!fs.existsSync(file)) throw new ConfigError(`no store at ${file}: has the bridge run with stateDir ${config.stateDir}?`);
  try {
    return await openStore({ stateDir: config.stateDir }, silentLogger);
  } catch (e) {
    throw new ConfigError(`cannot open the store ${file}: ${(e as Error).message}`);
  }
}

export async function readStatus(config: Config, now = Date.now()): Promise<StatusReport> {
  const store = await openExisting(config);
  try {
    const depths = await store.pendingDepths();
    const pending = await Promise.all(
      depths.map(async (d) => {
        // The head of a target's queue is the item being retried: its attempts and last error say why the queue waits.
        const [head] = await store.nextPending(d, 1);
        return { network: d.network, room: d.room, depth: d.depth, oldestCreatedAt: d.oldestCreatedAt, attempts: head?.attempts ?? 0, lastError: scrub(head?.lastError) };
      }),
    );
    const failed = await store.failedItems(20);
    const runtime = await store.listLinks();
    return {
      store: store.location,
      now,
      pending,
      failed: {
        total: failed.total,
        recent: failed.recent.map((f) => ({ seq: f.seq, network: f.network, room: f.room, at: f.failedAt, error: scrub(f.error) })),
      },
      links: [
        ...config.mappings.map((l) => ({ source: `config ${l.source ?? ''}`.trim(), rooms: l.rooms.map((r) => `${r.network}:${r.room}`) })),
        ...runtime.map((r) => ({ source: `runtime ${r.id}`, rooms: runtimeRooms(r.link) })),
      ],
      ...(config.qq.protocol === 'webqq' ? { qqSession: readSession(config.qq.stateDir) } : {}),
    };
  } finally {
    await store.close();
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
  if (s) out.push('', s.savedAt !== undefined ? `QQ session: saved ${formatAge(r.now - s.savedAt)} ago (${new Date(s.savedAt).toISOString()}, ${s.file})` : `QQ session: ${s.problem} (${s.file})`);
  return `${out.join('\n')}\n`;
}
