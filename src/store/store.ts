import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.js';
import { StoreError } from './errors.js';

export { StoreError, isStoreError } from './errors.js';

/** A network's room, as the store keys it. */
export interface StoreTarget {
  network: string;
  room: string;
}

export type OutboxState = 'pending' | 'delivered' | 'failed';

export interface EnqueueItem extends StoreTarget {
  /** Unique over the whole outbox: enqueuing the same key twice inserts once. */
  key: string;
  /** Anything JSON can carry; given back as-is by `nextPending`. */
  payload: unknown;
}

export interface OutboxItem extends StoreTarget {
  seq: number;
  key: string;
  payload: unknown;
  state: OutboxState;
  attempts: number;
  /** Epoch ms before which the item is not retried. */
  nextAttemptAt: number;
  lastError: string | undefined;
  createdAt: number;
  /** Remote ids earlier attempts already created (pieces of a split message), in order. */
  sentIds: string[];
  /** Seqs (this one first) that go to the room as one message (Connector.join); absent: not planned. */
  carries?: number[];
}

/** Where a bridge message first appeared; kept so replies can quote it and be threaded natively. */
export interface OriginEntry extends StoreTarget {
  sourceId: string;
  /** The message's id on its own network. */
  remoteId: string;
  /** A short summary for quote fallbacks (`> nick: text…`). */
  summary?: { nick: string; text: string };
}

/** `origin`: the message came from this room; `delivered`: the bridge created it there. */
export type MapRole = 'origin' | 'delivered';

export interface MapEntry extends StoreTarget {
  sourceId: string;
  remoteId: string;
  role: MapRole;
}

export interface TargetDepth extends StoreTarget {
  depth: number;
  /** Epoch ms when the oldest pending item was queued. */
  oldestCreatedAt: number;
}

/** An item given up on for good, as `qqbridge status` lists it. */
export interface FailedItem extends StoreTarget {
  seq: number;
  error: string | undefined;
  /** Epoch ms when it was given up on. */
  failedAt: number;
}

export interface LinkRecord {
  id: string;
  /** The link as the mappings code defines it; stored as JSON. */
  link: unknown;
  createdBy: string | undefined;
  createdAt: number;
}

export interface Ghost {
  userId: string;
  displayName: string | undefined;
  avatarUrl: string | undefined;
  /** Per-room display names, room id → name. */
  roomNames: Record<string, string>;
}

export interface EnqueueResult {
  /** Items newly inserted (a key already queued counts 0). */
  inserted: number;
  /** False when `dedupe` was given and had been claimed before. */
  firstSeen: boolean;
}

/** The durable per-target queue (core/outbox.ts, core/intake.ts). */
export interface OutboxStore {
  /**
   * Queues items, in array order, in one transaction. With `dedupe`, claims that key in the same
   * transaction; with `origin`, records the message's origin row too. Idempotent throughout.
   * Calls made in one turn of the event loop share one transaction (group commit).
   */
  enqueue(
    items: readonly EnqueueItem[],
    opts?: { dedupe?: { network: string; key: string }; origin?: OriginEntry; now?: number },
  ): Promise<EnqueueResult>;
  /** The first `limit` pending items of a target, in seq order (due or not). */
  nextPending(target: StoreTarget, limit: number): Promise<OutboxItem[]>;
  /** Marks an item delivered and records the remote ids it produced, atomically. */
  markDelivered(seq: number, delivered: { sourceId: string; remoteIds: readonly string[] } & StoreTarget, now?: number): Promise<void>;
  /** Counts one failed attempt, sets when to try again, and keeps the ids of pieces already sent. */
  markAttemptFailed(seq: number, failure: { error: string; nextAttemptAt: number; sentIds?: readonly string[] }, now?: number): Promise<void>;
  /** Keeps the ids of the pieces of a split message sent so far (a send in progress). */
  recordSentIds(seq: number, sentIds: readonly string[], now?: number): Promise<void>;
  /** Records which queued items (the head first) one message carries, before it is sent. */
  markCarries(seq: number, carries: readonly number[]): Promise<void>;
  /** Gives up on an item for good. */
  markFailed(seq: number, error: string, now?: number): Promise<void>;
  getOutboxItem(seq: number): Promise<OutboxItem | undefined>;
  /** Pending depth and oldest pending item per target. */
  pendingDepths(): Promise<TargetDepth[]>;
  /** Targets that have at least one pending item. */
  pendingTargets(): Promise<StoreTarget[]>;
  /** How many items were given up on, and the latest `limit` of them, newest first. */
  failedItems(limit: number): Promise<{ total: number; recent: FailedItem[] }>;
  /** Deletes delivered and failed items queued before `before` (epoch ms). Returns how many. */
  pruneOutbox(before: number): Promise<number>;
}

/** Inbound dedupe keys (claimed inside `enqueue`; these are for checks and retention). */
export interface DedupeStore {
  /** True the first time a (network, key) is claimed, false ever after (until pruned). */
  claimDedupe(network: string, key: string, now?: number): Promise<boolean>;
  hasSeen(network: string, key: string): Promise<boolean>;
  pruneDedupe(before: number): Promise<number>;
}

/** Bridge message ↔ remote ids, per room (replies, edits, echo suppression). */
export interface MessageMapStore {
  recordOrigin(entry: OriginEntry, now?: number): Promise<void>;
  /** The remote ids a bridge message has in a room, in the order they were created. */
  remoteIds(sourceId: string, target: StoreTarget): Promise<string[]>;
  /** What a remote id in a room stands for, if the bridge knows it. */
  lookupRemote(target: StoreTarget, remoteId: string): Promise<MapEntry | undefined>;
  /** The origin row of a bridge message (with its quote summary), if recorded. */
  getOrigin(sourceId: string): Promise<(OriginEntry & { summary: OriginEntry['summary'] }) | undefined>;
  pruneMessageMap(before: number): Promise<number>;
}

/** Links made at runtime (Matrix plumbing, portals). */
export interface LinkStore {
  putLink(link: { id: string; link: unknown; createdBy?: string }, now?: number): Promise<void>;
  getLink(id: string): Promise<LinkRecord | undefined>;
  listLinks(): Promise<LinkRecord[]>;
  /** True when a link was deleted. */
  deleteLink(id: string): Promise<boolean>;
}

/** Matrix ghost profiles. */
export interface GhostStore {
  /** Sets a ghost's global profile; fields left undefined keep their value. */
  setGhostProfile(userId: string, profile: { displayName?: string; avatarUrl?: string }, now?: number): Promise<void>;
  setGhostRoomName(userId: string, room: string, displayName: string, now?: number): Promise<void>;
  getGhost(userId: string): Promise<Ghost | undefined>;
  deleteGhost(userId: string): Promise<boolean>;
}

/** Small named values (session state, the store probe). */
export interface KvStore {
  kvGet(key: string): Promise<string | undefined>;
  kvSet(key: string, value: string, now?: number): Promise<void>;
  kvDelete(key: string): Promise<boolean>;
}

/** What core (relay, intake, outbox) sees of the store: nothing of links or ghosts. */
export type CoreStore = OutboxStore & DedupeStore & MessageMapStore & Pick<KvStore, 'kvSet'>;

/**
 * Everything the bridge keeps across restarts, one per-concern interface each. All methods are
 * async and throw `StoreError` when the backing database cannot be read or written.
 */
export interface Store extends OutboxStore, DedupeStore, MessageMapStore, LinkStore, GhostStore, KvStore {
  readonly dialect: 'sqlite' | 'postgres';
  /** Where the data lives, safe to log (no password). */
  readonly location: string;
  /** Applied migration versions, ascending. */
  schemaVersions(): Promise<number[]>;
  close(): Promise<void>;
}

export interface OpenStoreConfig {
  /** `postgres://…` for PostgreSQL; absent for SQLite in `stateDir`. */
  url?: string;
  stateDir: string;
}

export const SQLITE_FILE = 'qqbridge.sqlite';

/** Opens (and migrates) the configured store: PostgreSQL when `url` is set, else SQLite in `stateDir`. */
export async function openStore(config: OpenStoreConfig, log: Logger): Promise<Store> {
  if (config.url) {
    if (!/^postgres(ql)?:\/\//.test(config.url)) {
      throw new StoreError(`store.url must start with postgres:// (got ${redactUrl(config.url)})`);
    }
    const { openPostgresStore } = await import('./postgres.js');
    return openPostgresStore(config.url, log);
  }
  try {
    fs.mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new StoreError(`cannot create state directory ${config.stateDir}: ${(e as Error).message}`, { cause: e, code: (e as NodeJS.ErrnoException).code });
  }
  const { openSqliteStore } = await import('./sqlite.js');
  return openSqliteStore(path.join(config.stateDir, SQLITE_FILE), log);
}

/** A connection URL with its password masked, for logs and errors. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*:)[^@]*@/i, '$1[redacted]@');
}
