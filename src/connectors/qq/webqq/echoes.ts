/**
 * Recognises the bridge's own group/discussion messages coming back through poll (§5.5) by their
 * content: the echo carries a send_uin that is nobody's (2017+) and a msg_id of the server's, so
 * the text of what was just sent to that room is the one thing it shares with the send.
 */
import { contentText, type OutgoingItem, type ReceivedItem } from './content.js';

/** How long a sent piece waits for its echo. Echoes come with the next poll, within seconds. */
const ECHO_WINDOW_MS = 120_000;
/** Pieces remembered per room; a burst longer than this only loses the oldest. */
const PER_ROOM = 64;

/** Text as both sides compare it: the server may trim, and picture-only pieces carry a "\n". */
function normalise(text: string): string {
  return text.replace(/\s+/gu, ' ').trim();
}

export function sentText(piece: readonly OutgoingItem[]): string {
  return normalise(piece.map((it) => (it.type === 'text' ? it.text : '')).join(''));
}

export function receivedText(items: readonly ReceivedItem[]): string {
  return normalise(contentText(items));
}

export class RecentSends {
  private readonly rooms = new Map<string, { text: string; at: number }[]>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Remembers a piece about to be sent to `room` (`g:<gid>` / `d:<did>`). */
  note(room: string, text: string): void {
    const list = this.prune(room);
    list.push({ text, at: this.now() });
    if (list.length > PER_ROOM) list.splice(0, list.length - PER_ROOM);
    this.rooms.set(room, list);
  }

  /** True (and forgets it, so one send explains one echo) when `text` was sent to `room` lately. */
  take(room: string, text: string): boolean {
    const list = this.prune(room);
    const i = list.findIndex((x) => x.text === text);
    if (i < 0) return false;
    list.splice(i, 1);
    return true;
  }

  clear(): void {
    this.rooms.clear();
  }

  private prune(room: string): { text: string; at: number }[] {
    const list = this.rooms.get(room) ?? [];
    const cutoff = this.now() - ECHO_WINDOW_MS;
    while (list.length && list[0]!.at < cutoff) list.shift();
    if (list.length === 0) this.rooms.delete(room);
    return list;
  }
}
