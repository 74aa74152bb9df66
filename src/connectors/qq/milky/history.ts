/**
 * Catch-up: page backwards through a conversation's history until a known message, and return
 * what came after it, oldest first. Milky answers at most 30 messages a call.
 */
import type { MilkyApi } from './api.js';
import { HISTORY_LIMIT_MAX, type MilkyOutput } from './protocol.js';

export type HistoryMessage = MilkyOutput<'get_history_messages'>['messages'][number];

export interface HistoryOptions {
  /** Messages per call (1..30). */
  pageSize?: number;
  /** Stop after this many calls even if the known message was not reached. */
  maxPages?: number;
}

export interface HistoryResult {
  messages: HistoryMessage[];
  pages: number;
  /** The page bound ran out before the known message was reached: older messages were not fetched. */
  truncated: boolean;
}

/**
 * Messages of `(scene, peer)` with a seq greater than `afterSeq`, ascending. Seqs that the
 * implementation cannot return (recalled meanwhile) are simply absent.
 */
export async function historySince(api: MilkyApi, scene: 'group' | 'friend' | 'temp', peerId: number, afterSeq: number, opts: HistoryOptions = {}): Promise<HistoryResult> {
  const limit = Math.min(HISTORY_LIMIT_MAX, Math.max(1, opts.pageSize ?? HISTORY_LIMIT_MAX));
  const maxPages = opts.maxPages ?? 50;
  const bySeq = new Map<number, HistoryMessage>();
  let start: number | undefined;
  let pages = 0;
  for (;;) {
    if (pages >= maxPages) return { messages: sorted(bySeq), pages, truncated: true };
    const page = await api.call('get_history_messages', { message_scene: scene, peer_id: peerId, limit, ...(start !== undefined ? { start_message_seq: start } : {}) });
    pages++;
    let oldest = Infinity;
    for (const m of page.messages) {
      oldest = Math.min(oldest, m.message_seq);
      if (m.message_seq > afterSeq) bySeq.set(m.message_seq, m);
    }
    const next = page.next_message_seq;
    // Done when the page reached the known message, or there is nothing older.
    if (next === undefined || next === null || next <= afterSeq || oldest <= afterSeq + 1 || (page.messages.length === 0 && start === undefined)) break;
    if (start !== undefined && next >= start) break; // an implementation that does not move back: stop, not loop
    start = next;
  }
  return { messages: sorted(bySeq), pages, truncated: false };
}

function sorted(m: Map<number, HistoryMessage>): HistoryMessage[] {
  return [...m.values()].sort((a, b) => a.message_seq - b.message_seq);
}
