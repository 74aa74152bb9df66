import type { MessageMapStore, OriginEntry, StoreTarget } from '../store/store.js';
import type { Quote } from './degrade.js';
import { summarize } from './degrade.js';
import type { BridgeMessage } from './message.js';

/** The native id inside a bridge id `<network>:<room>:<native id>`, when the id has that shape. */
export function nativeIdOf(msg: BridgeMessage): string | undefined {
  const prefix = `${msg.origin.network}:${msg.origin.room}:`;
  return msg.id.startsWith(prefix) && msg.id.length > prefix.length ? msg.id.slice(prefix.length) : undefined;
}

/** The message_map row recording where a message came from (with its quote summary). */
export function originEntryOf(msg: BridgeMessage): OriginEntry | undefined {
  const remoteId = nativeIdOf(msg);
  if (remoteId === undefined) return undefined;
  return { sourceId: msg.id, network: msg.origin.network, room: msg.origin.room, remoteId, summary: summarize(msg) };
}

/** One target's deliveries awaiting their committed rows. */
interface PendingRoom {
  readonly bySource: Map<string, readonly string[]>;
  readonly byRemote: Map<string, string>;
}

/**
 * Deliveries made whose message_map rows are not committed yet (the outbox writes delivered-marks
 * in groups, and may hold the last ones for the next message's commit). Lookups see them at once,
 * so a reply to, an edit of or the echo of a message just sent maps as if its row were written.
 * Kept per target so the per-delivery cost is two map writes (this is on every message's path).
 */
export class PendingDeliveries {
  private readonly rooms = new Map<string, PendingRoom>();

  private room(target: StoreTarget, create: true): PendingRoom;
  private room(target: StoreTarget, create: false): PendingRoom | undefined;
  private room(target: StoreTarget, create: boolean): PendingRoom | undefined {
    const key = `${target.network}\u0000${target.room}`;
    let r = this.rooms.get(key);
    if (!r && create) this.rooms.set(key, (r = { bySource: new Map(), byRemote: new Map() }));
    return r;
  }

  add(target: StoreTarget, sourceId: string, remoteIds: readonly string[]): void {
    if (remoteIds.length === 0) return;
    const r = this.room(target, true);
    r.bySource.set(sourceId, remoteIds);
    for (const id of remoteIds) r.byRemote.set(id, sourceId);
  }

  /** The rows are committed (or will not be): the store answers from now on. */
  delete(target: StoreTarget, entries: ReadonlyArray<{ sourceId: string; remoteIds: readonly string[] }>): void {
    const r = this.room(target, false);
    if (!r) return;
    for (const e of entries) {
      if (e.remoteIds.length === 0) continue;
      if (r.bySource.get(e.sourceId) === e.remoteIds) r.bySource.delete(e.sourceId);
      for (const id of e.remoteIds) if (r.byRemote.get(id) === e.sourceId) r.byRemote.delete(id);
    }
  }

  remoteIdsFor(sourceId: string, target: StoreTarget): string[] | undefined {
    const ids = this.room(target, false)?.bySource.get(sourceId);
    return ids ? [...ids] : undefined;
  }

  sourceIdFor(target: StoreTarget, remoteId: string): string | undefined {
    return this.room(target, false)?.byRemote.get(remoteId);
  }
}

/** Id lookups between bridge messages and the remote messages they became. */
export class IdMap {
  constructor(
    private readonly store: MessageMapStore,
    private readonly pending?: PendingDeliveries,
  ) {}

  async remoteIdsFor(sourceId: string, target: StoreTarget): Promise<string[]> {
    return this.pending?.remoteIdsFor(sourceId, target) ?? this.store.remoteIds(sourceId, target);
  }

  async sourceIdFor(target: StoreTarget, remoteId: string): Promise<string | undefined> {
    return this.pending?.sourceIdFor(target, remoteId) ?? (await this.store.lookupRemote(target, remoteId))?.sourceId;
  }

  /** True when `msg` is something the bridge itself delivered into its room (an echo). */
  async isOwnOutput(msg: BridgeMessage): Promise<boolean> {
    const native = nativeIdOf(msg);
    if (native === undefined) return false;
    if (this.pending?.sourceIdFor(msg.origin, native) !== undefined) return true;
    const entry = await this.store.lookupRemote(msg.origin, native);
    return entry?.role === 'delivered';
  }

  async quoteFor(sourceId: string): Promise<Quote | undefined> {
    return (await this.store.getOrigin(sourceId))?.summary;
  }
}
