import type { Capabilities } from './connector.js';
import type { BridgeMessage, Part, TextPart } from './message.js';
import { plainText } from './message.js';

/** What a reply quote shows of the message it answers. */
export interface Quote {
  nick: string;
  text: string;
}

export interface DegradeContext {
  /** The public URL of a stored picture, when a media server is configured. */
  mediaUrl?: (mediaId: string) => string | undefined;
  /** The message `replyTo` points at, for the quote prefix on targets without replies. */
  replyQuote?: Quote;
}

const QUOTE_CHARS = 40;
const SUMMARY_CHARS = 200;

const text = (t: string): TextPart => ({ type: 'text', text: t });

/** Collapses whitespace and cuts to `max` characters (code points), with `…` when cut. */
export function truncate(s: string, max: number): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  // No more UTF-16 units than `max`: no more code points either. Otherwise count code points only
  // as far as the cut (every message's summary goes through here; texts can be 4,500 characters).
  if (flat.length <= max) return flat;
  let n = 0;
  let end = 0;
  for (const ch of flat) {
    if (n === max) return `${flat.slice(0, end)}…`;
    n++;
    end += ch.length;
  }
  return flat;
}

/** The quote summary stored with a message's origin (longer than a quote, so either can be cut from it). */
export function summarize(msg: BridgeMessage): Quote {
  return { nick: msg.origin.sender.displayName, text: truncate(plainText(msg.parts), SUMMARY_CHARS) };
}

/** `> nick: first 40 chars…` and a newline. */
export function quotePrefix(q: Quote): string {
  return `> ${q.nick}: ${truncate(q.text, QUOTE_CHARS)}\n`;
}

function prepend(parts: readonly Part[], prefix: string): Part[] {
  const [first, ...rest] = parts;
  if (first?.type === 'text' && !first.style) return [text(prefix + first.text), ...rest];
  return [text(prefix), ...parts];
}

/** A reply for a target that cannot thread it: the quote goes in front, `replyTo` goes away. */
export function degradeReply(msg: BridgeMessage, quote: Quote | undefined): BridgeMessage {
  const { replyTo: _dropped, ...rest } = msg;
  return quote ? { ...rest, parts: prepend(rest.parts, quotePrefix(quote)) } : rest;
}

/** An edit for a target that cannot edit: a new message marked as a correction. */
export function degradeEdit(msg: BridgeMessage): BridgeMessage {
  const { editOf: _dropped, ...rest } = msg;
  return { ...rest, parts: prepend(rest.parts, '* corrected: ') };
}

/**
 * A delete for a target that cannot delete: a short notice of its parts (who deleted a message,
 * never what it said), or undefined when the delete carries none (nothing to show).
 */
export function degradeDelete(msg: BridgeMessage, caps: Pick<Capabilities, 'kinds'>): BridgeMessage | undefined {
  const { deleteOf: _dropped, ...rest } = msg;
  if (plainText(rest.parts).trim() === '') return undefined;
  return { ...rest, kind: caps.kinds.includes('notice') ? 'notice' : 'message' };
}

/** The notice text for an event kind the target does not show. */
export function eventText(msg: BridgeMessage): string {
  const nick = msg.origin.sender.displayName;
  const detail = plainText(msg.parts).trim();
  switch (msg.kind) {
    case 'join':
      return detail ? `${nick} joined (${detail})` : `${nick} joined`;
    case 'leave':
      return detail ? `${nick} left (${detail})` : `${nick} left`;
    case 'rename':
      return detail ? `${nick} is now known as ${detail}` : `${nick} changed their name`;
    case 'topic':
      return detail ? `${nick} changed the topic to: ${detail}` : `${nick} changed the topic`;
    default:
      return detail;
  }
}

function degradePart(p: Part, caps: Capabilities, ctx: DegradeContext): Part {
  if (p.type === 'image' && caps.images === 'link') {
    const url = p.url ?? (p.mediaId ? ctx.mediaUrl?.(p.mediaId) : undefined);
    return text(url ? `[image] ${url}` : p.name ? `[image: ${p.name}]` : '[image]');
  }
  if (p.type === 'text' && p.style && !caps.formatting) return text(p.text);
  return p;
}

/** A picture turned into `[image] URL` must not glue onto the words around it. */
function spaceMarkers(before: readonly Part[], after: Part[]): Part[] {
  return after.map((p, i) => {
    if (before[i]?.type !== 'image' || p.type !== 'text') return p;
    const prev = after[i - 1];
    const next = after[i + 1];
    let t = p.text;
    if (prev?.type === 'text' && prev.text !== '' && !/\s$/.test(prev.text)) t = ` ${t}`;
    if (next?.type === 'text' && next.text !== '' && !/^\s/.test(next.text)) t = `${t} `;
    return t === p.text ? p : { ...p, text: t };
  });
}

/**
 * Rewrites what `caps` cannot carry into text with an explicit marker, so nothing is silently
 * lost: pictures become their URL, styles go, unsupported event kinds become a short notice,
 * replies get a quote prefix and edits a `* corrected:` prefix. Pure; `msg` is not changed.
 */
export function degrade(msg: BridgeMessage, caps: Capabilities, ctx: DegradeContext = {}): BridgeMessage {
  let out: BridgeMessage = { ...msg, parts: spaceMarkers(msg.parts, msg.parts.map((p) => degradePart(p, caps, ctx))) };
  if (!caps.kinds.includes(out.kind) && out.kind !== 'delete') {
    const asKind = caps.kinds.includes('notice') ? 'notice' : 'message';
    switch (out.kind) {
      case 'join':
      case 'leave':
      case 'rename':
      case 'topic':
        out = { ...out, kind: asKind, parts: [text(eventText(msg))] };
        break;
      case 'action':
        out = { ...out, kind: 'message', parts: prepend(out.parts, '* ') };
        break;
      default:
        out = { ...out, kind: 'message' };
    }
  }
  if (out.replyTo !== undefined && !caps.replies) out = degradeReply(out, ctx.replyQuote);
  if (out.editOf !== undefined && !caps.edits) out = degradeEdit(out);
  return out;
}
