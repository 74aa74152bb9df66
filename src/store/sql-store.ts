import type { Db } from './db.js';
import { SqlGhosts } from './sql/ghosts.js';
import { SqlKv } from './sql/kv.js';
import { SqlLinks } from './sql/links.js';
import { SqlMessageMap } from './sql/message-map.js';
import { SqlOutbox } from './sql/outbox.js';
import { num } from './sql/values.js';
import type { Store } from './store.js';

/**
 * The Store over any `Db`: one SQL implementation per concern (src/store/sql/), two drivers.
 * This class only puts them together; code that needs one concern takes its interface.
 */
export class SqlStore implements Store {
  readonly outbox: SqlOutbox;
  readonly messageMap: SqlMessageMap;
  readonly links: SqlLinks;
  readonly ghosts: SqlGhosts;
  readonly kv: SqlKv;

  constructor(
    private readonly db: Db,
    readonly dialect: 'sqlite' | 'postgres',
    readonly location: string,
  ) {
    const jsonParsed = dialect === 'postgres';
    this.outbox = new SqlOutbox(db, jsonParsed);
    this.messageMap = new SqlMessageMap(db);
    this.links = new SqlLinks(db, jsonParsed);
    this.ghosts = new SqlGhosts(db);
    this.kv = new SqlKv(db);
  }

  enqueue(...a: Parameters<Store['enqueue']>): ReturnType<Store['enqueue']> {
    return this.outbox.enqueue(...a);
  }

  nextPending(...a: Parameters<Store['nextPending']>): ReturnType<Store['nextPending']> {
    return this.outbox.nextPending(...a);
  }

  markDelivered(...a: Parameters<Store['markDelivered']>): ReturnType<Store['markDelivered']> {
    return this.outbox.markDelivered(...a);
  }

  markAttemptFailed(...a: Parameters<Store['markAttemptFailed']>): ReturnType<Store['markAttemptFailed']> {
    return this.outbox.markAttemptFailed(...a);
  }

  recordSentIds(...a: Parameters<Store['recordSentIds']>): ReturnType<Store['recordSentIds']> {
    return this.outbox.recordSentIds(...a);
  }

  markCarries(...a: Parameters<Store['markCarries']>): ReturnType<Store['markCarries']> {
    return this.outbox.markCarries(...a);
  }

  markFailed(...a: Parameters<Store['markFailed']>): ReturnType<Store['markFailed']> {
    return this.outbox.markFailed(...a);
  }

  getOutboxItem(...a: Parameters<Store['getOutboxItem']>): ReturnType<Store['getOutboxItem']> {
    return this.outbox.getOutboxItem(...a);
  }

  pendingDepths(...a: Parameters<Store['pendingDepths']>): ReturnType<Store['pendingDepths']> {
    return this.outbox.pendingDepths(...a);
  }

  pendingTargets(...a: Parameters<Store['pendingTargets']>): ReturnType<Store['pendingTargets']> {
    return this.outbox.pendingTargets(...a);
  }

  failedItems(...a: Parameters<Store['failedItems']>): ReturnType<Store['failedItems']> {
    return this.outbox.failedItems(...a);
  }

  pruneOutbox(...a: Parameters<Store['pruneOutbox']>): ReturnType<Store['pruneOutbox']> {
    return this.outbox.pruneOutbox(...a);
  }

  claimDedupe(...a: Parameters<Store['claimDedupe']>): ReturnType<Store['claimDedupe']> {
    return this.outbox.claimDedupe(...a);
  }

  hasSeen(...a: Parameters<Store['hasSeen']>): ReturnType<Store['hasSeen']> {
    return this.outbox.hasSeen(...a);
  }

  pruneDedupe(...a: Parameters<Store['pruneDedupe']>): ReturnType<Store['pruneDedupe']> {
    return this.outbox.pruneDedupe(...a);
  }

  recordOrigin(...a: Parameters<Store['recordOrigin']>): ReturnType<Store['recordOrigin']> {
    return this.messageMap.recordOrigin(...a);
  }

  remoteIds(...a: Parameters<Store['remoteIds']>): ReturnType<Store['remoteIds']> {
    return this.messageMap.remoteIds(...a);
  }

  lookupRemote(...a: Parameters<Store['lookupRemote']>): ReturnType<Store['lookupRemote']> {
    return this.messageMap.lookupRemote(...a);
  }

  getOrigin(...a: Parameters<Store['getOrigin']>): ReturnType<Store['getOrigin']> {
    return this.messageMap.getOrigin(...a);
  }

  pruneMessageMap(...a: Parameters<Store['pruneMessageMap']>): ReturnType<Store['pruneMessageMap']> {
    return this.messageMap.pruneMessageMap(...a);
  }

  putLink(...a: Parameters<Store['putLink']>): ReturnType<Store['putLink']> {
    return this.links.putLink(...a);
  }

  getLink(...a: Parameters<Store['getLink']>): ReturnType<Store['getLink']> {
    return this.links.getLink(...a);
  }

  listLinks(...a: Parameters<Store['listLinks']>): ReturnType<Store['listLinks']> {
    return this.links.listLinks(...a);
  }

  deleteLink(...a: Parameters<Store['deleteLink']>): ReturnType<Store['deleteLink']> {
    return this.links.deleteLink(...a);
  }

  setGhostProfile(...a: Parameters<Store['setGhostProfile']>): ReturnType<Store['setGhostProfile']> {
    return this.ghosts.setGhostProfile(...a);
  }

  setGhostRoomName(...a: Parameters<Store['setGhostRoomName']>): ReturnType<Store['setGhostRoomName']> {
    return this.ghosts.setGhostRoomName(...a);
  }

  getGhost(...a: Parameters<Store['getGhost']>): ReturnType<Store['getGhost']> {
    return this.ghosts.getGhost(...a);
  }

  deleteGhost(...a: Parameters<Store['deleteGhost']>): ReturnType<Store['deleteGhost']> {
    return this.ghosts.deleteGhost(...a);
  }

  kvGet(...a: Parameters<Store['kvGet']>): ReturnType<Store['kvGet']> {
    return this.kv.kvGet(...a);
  }

  kvSet(...a: Parameters<Store['kvSet']>): ReturnType<Store['kvSet']> {
    return this.kv.kvSet(...a);
  }

  kvDelete(...a: Parameters<Store['kvDelete']>): ReturnType<Store['kvDelete']> {
    return this.kv.kvDelete(...a);
  }

  async schemaVersions(): Promise<number[]> {
    return (await this.db.all('SELECT version FROM schema_migrations ORDER BY version')).map((r) => num(r.version));
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
