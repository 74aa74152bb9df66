/**
 * Where the pictures of a received event can be fetched from: a pure function of the event, apart
 * from the client so that the parts codec (parts.ts) needs no import of the client.
 */
import type { ReceivedItem } from './content.js';
import type { QqEvent } from './events.js';

/** Where a received picture can be fetched from; `imageRefs(event)` lists them in content order. */
export type ImageRef =
  | { kind: 'group'; gid: number; sendUin: number; name: string; fileId: number; server?: string }
  | { kind: 'discussion'; did: number; sendUin: number; name: string; fileId: number; server?: string }
  | { kind: 'buddy-cface'; fromUin: number; msgId: number; name: string }
  | { kind: 'offpic'; fromUin: number; filePath: string };

/** Pictures in an event's content, in order, as refs `downloadImage` takes. */
export function imageRefs(e: QqEvent): ImageRef[] {
  if (e.type !== 'message' && e.type !== 'group_message' && e.type !== 'discu_message' && e.type !== 'sess_message') return [];
  const out: ImageRef[] = [];
  for (const it of e.content.items as ReceivedItem[]) {
    if (it.type === 'cface' && it.scope === 'group') {
      const base = { sendUin: e.type === 'group_message' || e.type === 'discu_message' ? e.sendUin : e.fromUin, name: it.name, fileId: it.fileId ?? 0, ...(it.server ? { server: it.server } : {}) };
      if (e.type === 'discu_message') out.push({ kind: 'discussion', did: e.did, ...base });
      else if (e.type === 'group_message') out.push({ kind: 'group', gid: e.gid, ...base });
    } else if (it.type === 'cface') {
      out.push({ kind: 'buddy-cface', fromUin: e.fromUin, msgId: e.msgId, name: it.name });
    } else if (it.type === 'offpic') {
      out.push({ kind: 'offpic', fromUin: e.fromUin, filePath: it.filePath });
    }
  }
  return out;
}
