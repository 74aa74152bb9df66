/**
 * Milky segments ↔ the QQ adapter's parts. Pure: fetching (temp URLs, forwarded bundles) is the
 * backend's job, done before or after these.
 */
import type { IncomingSegment, OutgoingSegment } from '@saltify/milky-types';
import type { z } from 'zod';
import type { QqForwardedMessage, QqOutItem, QqPart } from '../backend.js';

export type InSegment = z.output<typeof IncomingSegment>;
export type OutSegment = z.input<typeof OutgoingSegment>;

/** A rich card's title and link: light_app JSON (meta.*.title / jumpUrl / qqdocurl) or XML (<title>, url="…"). */
export function cardOf(seg: InSegment): { title: string; url?: string } {
  if (seg.type === 'light_app') {
    let title = seg.data.app_name;
    let url: string | undefined;
    try {
      const j = JSON.parse(seg.data.json_payload) as { prompt?: string; meta?: Record<string, Record<string, unknown>> };
      for (const m of Object.values(j.meta ?? {})) {
        const t = m.title ?? m.desc;
        if (typeof t === 'string' && t) title = t;
        const u = m.jumpUrl ?? m.qqdocurl ?? m.url;
        if (typeof u === 'string' && /^https?:/i.test(u)) url = u;
      }
      if (title === seg.data.app_name && typeof j.prompt === 'string' && j.prompt) title = j.prompt;
    } catch {
      // a card that is not JSON keeps its app name
    }
    return url ? { title, url } : { title };
  }
  if (seg.type === 'xml') {
    const x = seg.data.xml_payload;
    const title = /<title>([^<]*)<\/title>/i.exec(x)?.[1] ?? /\bbrief="([^"]*)"/i.exec(x)?.[1] ?? 'XML card';
    const url = /\burl="(https?:[^"]*)"/i.exec(x)?.[1];
    return url ? { title, url } : { title };
  }
  return { title: '' };
}

/**
 * A message's parts, and the seq it replies to. `forwards` holds already-expanded bundles by
 * forward_id (a missing one becomes its summary text).
 */
export function partsFromSegments(segs: readonly InSegment[], forwards: ReadonlyMap<string, { messages: QqForwardedMessage[]; truncated: boolean }> = new Map(), group?: number): { parts: QqPart[]; replyTo?: number } {
  const parts: QqPart[] = [];
  let replyTo: number | undefined;
  for (const s of segs) {
    switch (s.type) {
      case 'text':
        parts.push({ type: 'text', text: s.data.text });
        break;
      case 'mention':
        parts.push({ type: 'at', qq: s.data.user_id, name: s.data.name });
        break;
      case 'mention_all':
        parts.push({ type: 'at-all' });
        break;
      case 'face': {
        const id = Number(s.data.face_id);
        parts.push(Number.isInteger(id) ? { type: 'face', id } : { type: 'text', text: `[face ${s.data.face_id}]` });
        break;
      }
      case 'reply':
        replyTo = s.data.message_seq;
        break;
      case 'image':
        parts.push({ type: 'image', ref: { url: s.data.temp_url, handle: { resource_id: s.data.resource_id } }, sticker: s.data.sub_type === 'sticker' });
        break;
      case 'market_face':
        parts.push({ type: 'image', ref: { url: s.data.url }, name: s.data.summary, sticker: true });
        break;
      case 'record':
      case 'video':
        parts.push({ type: 'file', kind: s.type, ref: { url: s.data.temp_url, handle: { resource_id: s.data.resource_id } } });
        break;
      case 'file':
        parts.push({ type: 'file', kind: 'file', ref: { handle: { file_id: s.data.file_id, ...(group !== undefined ? { group } : {}) } }, name: s.data.file_name, size: s.data.file_size });
        break;
      case 'forward': {
        const f = forwards.get(s.data.forward_id);
        if (f) parts.push({ type: 'forward', messages: f.messages, truncated: f.truncated });
        else parts.push({ type: 'text', text: `[${s.data.title}] ${s.data.summary}` });
        break;
      }
      case 'light_app':
      case 'xml':
        parts.push({ type: 'card', ...cardOf(s) });
        break;
    }
  }
  return replyTo !== undefined ? { parts, replyTo } : { parts };
}

/**
 * The segments of an outgoing message. User text only ever becomes `text` segments, whatever
 * it contains; mentions and replies come only from the adapter's structured items; pictures go
 * as base64:// (the implementation may run on another machine, so never file://).
 */
export function segmentsFromItems(items: readonly QqOutItem[]): OutSegment[] {
  const out: OutSegment[] = [];
  for (const i of items) {
    switch (i.type) {
      case 'reply': {
        const seq = Number(i.id);
        if (Number.isSafeInteger(seq) && seq >= 0) out.unshift({ type: 'reply', data: { message_seq: seq } });
        break;
      }
      case 'text':
        if (i.text) out.push({ type: 'text', data: { text: i.text } });
        break;
      case 'face':
        out.push({ type: 'face', data: { face_id: String(i.id) } });
        break;
      case 'at':
        out.push({ type: 'mention', data: { user_id: i.qq } });
        break;
      case 'image':
        out.push({ type: 'image', data: { uri: `base64://${i.data.toString('base64')}` } });
        break;
    }
  }
  return out;
}
