import type { RoomRef } from '../core/message.js';
import type { RouteFlags, RouteTable } from '../core/routes.js';
import { canonicalRoom } from '../connectors/registry.js';
import { roomKey, type LinkRoom, type MappingLink } from './config.js';

/** A room as a connector or a test names it, in its network's one spelling. */
const keyOf = (r: RoomRef) => roomKey(r.network, canonicalRoom(r.network, r.room));

/** Per-target flags: `readOnly` marks a room that only receives (what is said there goes nowhere). */
export interface MappingRouteFlags extends RouteFlags {
  readOnly: boolean;
}

export type MappingRouteTarget = RoomRef & { flags: MappingRouteFlags };

interface Table {
  byRoom: Map<string, { link: MappingLink; room: LinkRoom }>;
  byNetwork: Map<string, string[]>;
  links: readonly MappingLink[];
}

function build(links: readonly MappingLink[]): Table {
  const byRoom = new Map<string, { link: MappingLink; room: LinkRoom }>();
  const byNetwork = new Map<string, string[]>();
  for (const link of links) {
    for (const room of link.rooms) {
      const key = keyOf(room);
      // The config schema rejects duplicates; a table built from unchecked links keeps the first.
      if (byRoom.has(key)) continue;
      byRoom.set(key, { link, room });
      const list = byNetwork.get(room.network) ?? [];
      list.push(room.room);
      byNetwork.set(room.network, list);
    }
  }
  return { byRoom, byNetwork, links };
}

/**
 * The route table the relay consults, built from the config's links. A message from a room goes
 * to every other room of its link, unless its room is read-only. `replace` swaps the whole table
 * in one assignment, so a reload (SIGHUP) never exposes a half-built table.
 */
export class MappingRouteTable implements RouteTable {
  private table: Table;

  constructor(links: readonly MappingLink[]) {
    this.table = build(links);
  }

  targetsFor(origin: RoomRef): MappingRouteTarget[] {
    const entry = this.table.byRoom.get(keyOf(origin));
    if (!entry || entry.room.readOnly) return [];
    return entry.link.rooms
      .filter((r) => r !== entry.room)
      .map((r) => ({ network: r.network, room: r.room, flags: { readOnly: r.readOnly } }));
  }

  /** The rooms a connector must join (read-only ones included: they still receive). */
  rooms(network: string): string[] {
    return [...(this.table.byNetwork.get(network) ?? [])];
  }

  /** The link a room belongs to, if any. */
  linkFor(origin: RoomRef): MappingLink | undefined {
    return this.table.byRoom.get(keyOf(origin))?.link;
  }

  links(): readonly MappingLink[] {
    return this.table.links;
  }

  replace(links: readonly MappingLink[]): void {
    this.table = build(links);
  }
}
