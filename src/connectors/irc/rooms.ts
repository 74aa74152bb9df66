/** IRC channel names: the one place they are parsed, compared and shown. */
import type { RoomCodec } from '../network.js';
import { listSide, roomString } from '../side.js';

/** RFC 2812 channel names: a prefix, then no space, comma, BEL, colon, CR, LF or NUL. */
const CHANNEL = /^[#&+!][^\s,\x07\x00\r\n:]{1,199}$/;

export function validateChannel(room: string): string | undefined {
  return CHANNEL.test(room) ? undefined : `expected an IRC channel name such as "#qq" (no spaces, commas or colons), got ${JSON.stringify(room.length > 40 ? `${room.slice(0, 37)}...` : room)}`;
}

/**
 * Channel names compare without ASCII case, the folding every IRC server agrees on. RFC 1459's
 * extra folding ([]\~ as {}|^) is not applied: a server announcing CASEMAPPING=ascii (ngircd)
 * treats `#a[]` and `#a{}` as two channels, and the canonical name is also the one joined.
 */
export function canonicalChannel(room: string): string {
  return room.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

export const ircRooms: RoomCodec = {
  side: listSide(roomString(validateChannel), canonicalChannel),
  validate: validateChannel,
  canonical: canonicalChannel,
  display: (room) => room,
};
