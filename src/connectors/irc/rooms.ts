/** IRC channel names: the one place they are parsed, compared and shown. */
import type { RoomCodec } from '../network.js';
import { listSide, roomString } from '../side.js';

/** RFC 2812 channel names: a prefix, then no space, comma, BEL, colon, CR, LF or NUL. */
const CHANNEL = /^[#&+!][^\s,\x07\x00\r\n:]{1,199}$/;

export function validateChannel(room: string): string | undefined {
  return CHANNEL.test(room) ? undefined : `expected an IRC channel name such as "#qq" (no spaces, commas or colons), got ${JSON.stringify(room.length > 40 ? `${room.slice(0, 37)}...` : room)}`;
}

/** Channel names are case-insensitive, and RFC 1459 casemapping folds []\~ as well. */
export function canonicalChannel(room: string): string {
  return room.toLowerCase().replace(/\[/g, '{').replace(/\]/g, '}').replace(/\\/g, '|').replace(/~/g, '^');
}

export const ircRooms: RoomCodec = {
  side: listSide(roomString(validateChannel), canonicalChannel),
  validate: validateChannel,
  canonical: canonicalChannel,
  display: (room) => room,
};
