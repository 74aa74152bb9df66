import type { MessageKind, RoomRef } from './message.js';

/** Per-route options the mappings give a target. */
export interface RouteFlags {
  /** Kinds relayed on this route (e.g. leave join/leave out); absent: all kinds. */
  kinds?: readonly MessageKind[];
}

export type RouteTarget = RoomRef & { flags: RouteFlags };

/**
 * Where a room's messages go. The mappings module builds one from config links (and runtime
 * links); the relay only asks it. A target equal to the origin is ignored.
 */
export interface RouteTable {
  targetsFor(origin: RoomRef): RouteTarget[];
}

/** A RouteTable from a fixed list of bidirectional room groups: every room of a group goes to the others. */
export class StaticRoutes implements RouteTable {
  private readonly map = new Map<string, RouteTarget[]>();

  constructor(groups: ReadonlyArray<ReadonlyArray<RoomRef & { flags?: RouteFlags }>>) {
    for (const g of groups) {
      for (const from of g) {
        const list = this.map.get(roomKey(from)) ?? [];
        for (const to of g) {
          if (roomKey(to) !== roomKey(from)) list.push({ network: to.network, room: to.room, flags: to.flags ?? {} });
        }
        this.map.set(roomKey(from), list);
      }
    }
  }

  targetsFor(origin: RoomRef): RouteTarget[] {
    return this.map.get(roomKey(origin)) ?? [];
  }
}

/** A stable string for a room, for maps and log fields. */
export function roomKey(r: RoomRef): string {
  return `${r.network}\u0000${r.room}`;
}
