/**
 * QQ rooms: a group by its stable number (`group:346167134`) or a discussion by its name
 * (`discussion:good day`) — never the session ids a QQ backend hands out — or `private`: the
 * account's one-to-one chats (buddies, and temporary sessions with group/discussion members),
 * which a link can give to an admin room. The one place these strings are built and parsed.
 */
import { z } from 'zod';
import type { RoomCodec, SideRoom } from '../network.js';

/** `private` carries the other person when it is known (an inbound message, an addressed send); its room string does not. */
export type QqRoom = { kind: 'group'; number: number } | { kind: 'discussion'; name: string } | { kind: 'private'; qq?: number };

export const PRIVATE_ROOM = 'private';

export function parseQqRoom(room: string): QqRoom | undefined {
  if (room === PRIVATE_ROOM) return { kind: 'private' };
  const g = /^group:(\d{1,12})$/.exec(room);
  if (g) return { kind: 'group', number: Number(g[1]) };
  const d = /^discussion:(.+)$/s.exec(room);
  if (d) return { kind: 'discussion', name: d[1]! };
  return undefined;
}

export function qqRoomId(room: QqRoom): string {
  return room.kind === 'group' ? `group:${room.number}` : room.kind === 'discussion' ? `discussion:${room.name}` : PRIVATE_ROOM;
}

export const groupRoom = (n: number): string => `group:${n}`;

export function displayQqRoom(room: string): string {
  const r = parseQqRoom(room);
  if (!r) return room;
  return r.kind === 'group' ? `QQ group ${r.number}` : r.kind === 'discussion' ? `QQ discussion ${JSON.stringify(r.name)}` : 'QQ private chats';
}

const side = z
  .object({
    group: z.number().int().positive({ error: 'expected a QQ group number (a positive integer)' }).optional(),
    discussion: z.string().min(1).optional(),
    /** The account's private chats (buddies, temporary sessions): answered by "<QQ number>: text". */
    private: z.literal(true, { error: 'private takes only true' }).optional(),
    readOnly: z.boolean().optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if ([v.group, v.discussion, v.private].filter((x) => x !== undefined).length !== 1) {
      ctx.addIssue({ code: 'custom', message: 'expected exactly one of "group: <group number>", "discussion: <discussion name>" or "private: true"' });
    }
  })
  .transform((v): SideRoom[] => [{
    room: v.group !== undefined ? groupRoom(v.group) : v.private ? PRIVATE_ROOM : qqRoomId({ kind: 'discussion', name: v.discussion! }),
    readOnly: v.readOnly,
    at: [],
  }]);

export const qqRooms: RoomCodec = {
  side,
  validate: (room) => (parseQqRoom(room) ? undefined : `not a QQ room: ${JSON.stringify(room)} (expected group:<number>, discussion:<name> or private)`),
  canonical: (r) => r,
  display: displayQqRoom,
};
