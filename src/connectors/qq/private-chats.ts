/**
 * The `private` QQ room: an admin room linked to it hears the account's one-to-one chats and
 * answers one person by starting the message with their QQ number ("2440652742: thanks").
 * Pure: finds and strips that address.
 */
import type { BridgeMessage } from '../../core/message.js';

const ADDRESS = /^\s*(\d{5,12})\s*[:,]\s*/;

export const PRIVATE_ADDRESS_HINT = 'a message for QQ private chats must start with the QQ number it is for, e.g. "2440652742: hello"';

/** The QQ number a message is addressed to, and the message without the address; undefined when it names nobody. */
export function privateRecipient(message: BridgeMessage): { qq: number; message: BridgeMessage } | undefined {
  const i = message.parts.findIndex((p) => p.type === 'text' && p.text.trim() !== '');
  const first = message.parts[i];
  if (!first || first.type !== 'text') return undefined;
  const m = ADDRESS.exec(first.text);
  if (!m) return undefined;
  const parts = [...message.parts];
  parts[i] = { ...first, text: first.text.slice(m[0].length) };
  return { qq: Number(m[1]), message: { ...message, parts } };
}
