/**
 * QQ rooms: a group by its stable number (`group:346167134`) or a discussion by its name
 * (`discussion:good day`) — never the session ids a QQ backend hands out. The one place these
 * strings are built and parsed.
 */
import { z } from 'zod';
import type { RoomCodec, SideRoom } from '../network.js';

export type QqRoom = { kind: 'group'; number: number } | { kind: 'discussion'; name: string };

export function parseQqRoom(room: string): QqRoom | undefined {
  const g = /^group:(\d{1,12})$/.exec(room);
  if (g) return { kind: 'group', number: Number(g[1]) };
  const d = /^discussion:(.+)$/s.exec(room);
  if (d) return { kind: 'discussion', name: d[1]! };
  return undefined;
}

export function qqRoomId(room: QqRoom): string {
  return room.kind === 'group' ? `group:${room.number}` : `discussion:${room.name}`;
}

export const groupRoom = (n: number): string => `group:${n}`;

export function displayQqRoom(room: string): string {
  const r = parseQqRoom(room);
  if (!r) return room;
  return r.kind === 'group' ? `QQ group ${r.number}` : `QQ discussion ${JSON.stringify(r.name)}`;
}

const side = z
  .object({
    group: z.number().int().positive({ error: 'expected a QQ group number (a positive integer)' }).optional(),
    discussion: z.string().min(1).optional(),
    readOnly: z.boolean().optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if ((v.group === undefined) === (v.discussion === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'expected exactly one of "group: <group number>" or "discussion: <discussion name>"' });
    }
  })
  .transform((v): SideRoom[] => [{
    room: v.group !== undefined ? groupRoom(v.group) : qqRoomId({ kind: 'discussion', name: v.discussion! }),
    readOnly: v.readOnly,
    at: [],
  }]);

export const qqRooms: RoomCodec = {
  side,
  validate: (room) => (parseQqRoom(room) ? undefined : `not a QQ room: ${JSON.stringify(room)} (expected group:<number> or discussion:<name>)`),
  canonical: (r) => r,
  display: displayQqRoom,
};
