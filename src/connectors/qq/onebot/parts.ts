/**
 * OneBot segments ↔ QQ-level parts, for the OneBot backend. Pure. Outbound, user text only ever
 * travels in `text` segments (so `[CQ:at,qq=all]` typed on IRC arrives as those characters), and
 * pictures as `base64://` (the implementation may run on another machine: never `file://`).
 */
import type { QqOutItem, QqPart } from '../backend.js';
import { numberField, stringField, type Segment } from './segments.js';

/** Characters of text in one QQ message; longer text is sent as several messages. */
export const TEXT_LIMIT = 3000;

export interface Incoming {
  parts: QqPart[];
  /** The `reply` segment's message id, when the message answers one. */
  replyTo?: string;
  /** `forward` segments' ids, in order: the backend expands them with get_forward_msg. */
  forwards: string[];
  /** Segment types we do not know, for one log line. */
  unknown: string[];
}

export function partsFromSegments(segments: readonly Segment[]): Incoming {
  const out: Incoming = { parts: [], forwards: [], unknown: [] };
  const text = (t: string) => {
    const last = out.parts[out.parts.length - 1];
    if (last && last.type === 'text' && !last.style) last.text += t;
    else out.parts.push({ type: 'text', text: t });
  };
  for (const seg of segments) {
    const d = seg.data;
    switch (seg.type) {
      case 'text': {
        const t = stringField(d.text);
        if (t) text(t.replace(/\r\n?/g, '\n'));
        break;
      }
      case 'face': {
        const id = numberField(d.id);
        if (id !== undefined) out.parts.push({ type: 'face', id });
        break;
      }
      case 'at': {
        if (d.qq === 'all') out.parts.push({ type: 'at-all' });
        else {
          const qq = numberField(d.qq);
          const name = stringField(d.name);
          if (qq !== undefined) out.parts.push(name ? { type: 'at', qq, name } : { type: 'at', qq });
        }
        break;
      }
      case 'reply': {
        const id = stringField(d.id);
        if (id !== undefined && out.replyTo === undefined) out.replyTo = id;
        break;
      }
      case 'image':
      case 'mface': {
        const url = httpUrl(d.url) ?? httpUrl(d.file);
        const name = stringField(d.summary) || stringField(d.file);
        const sticker = seg.type === 'mface' || numberField(d.sub_type ?? d.subType) === 1;
        out.parts.push({ type: 'image', ref: url ? { url } : { handle: stringField(d.file) }, ...(name ? { name } : {}), ...(sticker ? { sticker } : {}) });
        break;
      }
      case 'record':
      case 'video':
      case 'file': {
        const url = httpUrl(d.url) ?? httpUrl(d.file);
        const name = stringField(d.name) ?? (seg.type === 'file' ? stringField(d.file) : undefined);
        const size = numberField(d.file_size ?? d.size);
        out.parts.push({ type: 'file', kind: seg.type, ref: url ? { url } : { handle: stringField(d.file_id ?? d.file) }, ...(name ? { name } : {}), ...(size !== undefined ? { size } : {}) });
        break;
      }
      case 'json':
        out.parts.push(cardFromJson(stringField(d.data) ?? ''));
        break;
      case 'xml':
        out.parts.push(cardFromXml(stringField(d.data) ?? ''));
        break;
      case 'forward': {
        const id = stringField(d.id);
        if (id) out.forwards.push(id);
        out.parts.push({ type: 'forward', messages: [] });
        break;
      }
      case 'dice':
      case 'rps':
        text(`[${seg.type === 'dice' ? '骰子' : '猜拳'}${d.result !== undefined ? ` ${String(d.result)}` : ''}]`);
        break;
      case 'poke':
        text('[戳一戳]');
        break;
      default:
        out.unknown.push(seg.type.slice(0, 40));
        text(`[${seg.type.slice(0, 40)}]`);
    }
  }
  return out;
}

function httpUrl(v: unknown): string | undefined {
  const s = stringField(v);
  return s && /^https?:\/\//i.test(s) ? s : undefined;
}

/** A json app card: its prompt/title and its link, from the usual places of QQ's mini-app JSON. */
export function cardFromJson(raw: string): QqPart {
  let title = '[卡片]';
  let url: string | undefined;
  try {
    const j = JSON.parse(raw) as Record<string, unknown>;
    const metas = j.meta && typeof j.meta === 'object' ? Object.values(j.meta as Record<string, unknown>) : [];
    for (const m of metas) {
      if (!m || typeof m !== 'object') continue;
      const o = m as Record<string, unknown>;
      const t = [o.title, o.desc, o.tag].find((x) => typeof x === 'string' && x.trim() !== '') as string | undefined;
      const u = [o.qqdocurl, o.jumpUrl, o.url].find((x) => typeof x === 'string' && /^https?:\/\//i.test(x)) as string | undefined;
      if (t && title === '[卡片]') title = t;
      url ??= u;
    }
    if (title === '[卡片]' && typeof j.prompt === 'string' && j.prompt.trim()) title = j.prompt;
  } catch {
    // not JSON: the marker stands
  }
  return url ? { type: 'card', title: title.slice(0, 200), url } : { type: 'card', title: title.slice(0, 200) };
}

export function cardFromXml(raw: string): QqPart {
  const title = /<title>([^<]{1,200})<\/title>/i.exec(raw)?.[1] ?? /\bbrief="([^"]{1,200})"/i.exec(raw)?.[1] ?? '[卡片]';
  const url = /\burl="(https?:\/\/[^"]{1,2000})"/i.exec(raw)?.[1];
  return url ? { type: 'card', title: decodeXml(title), url: decodeXml(url) } : { type: 'card', title: decodeXml(title) };
}

function decodeXml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}

/**
 * Items → the segment lists of one or more QQ messages: text over TEXT_LIMIT is split (at a line
 * end or space when one is near), the reply goes on the first message only.
 */
export function segmentsForItems(items: readonly QqOutItem[], limit = TEXT_LIMIT): Segment[][] {
  const pieces: Segment[][] = [];
  let cur: Segment[] = [];
  let used = 0;
  const flush = () => {
    if (cur.some((s) => s.type !== 'reply')) pieces.push(cur);
    cur = [];
    used = 0;
  };
  for (const it of items) {
    switch (it.type) {
      case 'reply':
        if (pieces.length === 0) cur.unshift({ type: 'reply', data: { id: it.id } });
        break;
      case 'text': {
        let rest = it.text;
        while (rest.length > 0) {
          const room = limit - used;
          if (rest.length <= room) {
            cur.push({ type: 'text', data: { text: rest } });
            used += rest.length;
            break;
          }
          let cut = room;
          const nl = rest.lastIndexOf('\n', room);
          const sp = rest.lastIndexOf(' ', room);
          if (nl > room * 0.7) cut = nl + 1;
          else if (sp > room * 0.7) cut = sp + 1;
          // never split a surrogate pair
          if (cut > 0 && /[\uD800-\uDBFF]/.test(rest[cut - 1]!)) cut--;
          if (cut > 0) cur.push({ type: 'text', data: { text: rest.slice(0, cut) } });
          rest = rest.slice(cut);
          flush();
        }
        break;
      }
      case 'face':
        cur.push({ type: 'face', data: { id: String(it.id) } });
        break;
      case 'at':
        cur.push({ type: 'at', data: { qq: String(it.qq) } });
        break;
      case 'image':
        cur.push({ type: 'image', data: { file: `base64://${it.data.toString('base64')}`, ...(it.name ? { name: it.name } : {}) } });
        break;
    }
  }
  flush();
  return pieces;
}
