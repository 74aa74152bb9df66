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

/** Id lookups between bridge messages and the remote messages they became. */
export class IdMap {
  constructor(private readonly store: MessageMapStore) {}

  remoteIdsFor(sourceId: string, target: StoreTarget): Promise<string[]> {
    return this.store.remoteIds(sourceId, target);
  }

  async sourceIdFor(target: StoreTarget, remoteId: string): Promise<string | undefined> {
    return (await this.store.lookupRemote(target, remoteId))?.sourceId;
  }

  /** True when `msg` is something the bridge itself delivered into its room (an echo). */
  async isOwnOutput(msg: BridgeMessage): Promise<boolean> {
    const native = nativeIdOf(msg);
    if (native === undefined) return false;
    const entry = await this.store.lookupRemote(msg.origin, native);
    return entry?.role === 'delivered';
  }

  async quoteFor(sourceId: string): Promise<Quote | undefined> {
    return (await this.store.getOrigin(sourceId))?.summary;
  }
}
