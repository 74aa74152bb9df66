/** Matrix rooms: a room id `!id:server` or an alias `#alias:server`. */
import type { RoomCodec } from '../network.js';
import { listSide, roomString } from '../side.js';

const ROOM = /^[!#][^:\s]+:\S+$/;

export function validateMatrixRoom(room: string): string | undefined {
  return ROOM.test(room) ? undefined : 'expected a Matrix room id "!id:server" or alias "#alias:server"';
}

export const matrixRooms: RoomCodec = {
  side: listSide(roomString(validateMatrixRoom), (r) => r),
  validate: validateMatrixRoom,
  canonical: (r) => r,
  display: (r) => r,
};
