/** Telegram chats: a numeric chat id (groups are negative) or a public @username. */
import { z } from 'zod';
import type { RoomCodec } from '../network.js';
import { listSide } from '../side.js';

const CHAT = /^-?\d+$|^@\w{5,}$/;

export function validateChat(room: string): string | undefined {
  return CHAT.test(room) ? undefined : `expected a Telegram chat id such as -1001234567890 or "@channel", got ${JSON.stringify(room)}`;
}

const chat = z.union([
  z.number().int({ error: 'expected a Telegram chat id (an integer such as -1001234567890)' }),
  z.string().regex(CHAT, { error: 'expected a Telegram chat id such as -1001234567890 or "@channel"' }),
]);

export const telegramRooms: RoomCodec = {
  side: listSide(chat, (r) => r),
  validate: validateChat,
  canonical: (r) => r,
  display: (r) => `Telegram chat ${r}`,
};
