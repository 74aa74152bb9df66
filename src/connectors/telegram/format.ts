/**
 * BridgeMessage ↔ Telegram. Pure: no I/O.
 *
 * Outbound (what a Telegram user sees): `<b>nick</b>: text` in Telegram's HTML parse mode, every
 * `<`, `>`, `&` (and `"` inside attributes) of foreign text escaped, bold/italic/underline as
 * <b>/<i>/<u>, faces as their emoji (or `[name]`), links as <a href>. Pictures become separate
 * photo sends (caption = the nick) in the order they appear. Text longer than Telegram's 4096
 * UTF-16 units is split into several messages: a split never falls inside a surrogate pair, an
 * HTML entity or a tag, and every chunk is well-formed HTML on its own (styles are closed at the
 * end of a chunk and reopened at the start of the next).
 *
 * Inbound: a message's text + entities become text/link parts; bold/italic/underline survive as
 * styles, links are kept (text_link as a link with its text), everything else is plain text.
 */
import type { MessageEntity } from 'grammy/types';
import { escapeHtml } from '../../core/html.js';
import type { BridgeMessage, ImagePart, Part, TextStyle } from '../../core/message.js';

/** Telegram's limit for a text message, in UTF-16 code units. */
export const TELEGRAM_TEXT_LIMIT = 4096;
/** Telegram's limit for a photo caption. */
export const TELEGRAM_CAPTION_LIMIT = 1024;
const NICK_MAX = 64;

/** Text escaping for Telegram's HTML: `&`, `<`, `>` only; quotes in text need none. */
export { escapeHtml };

/** Attributes are always `"`-quoted here, and htmlToPlain decodes exactly `&quot;`. */
function escapeAttr(s: string): string {
  return escapeHtml(s, { quotes: 'double' });
}

/** The text a user sees for HTML this module produced (tags dropped, entities decoded): the plain-text fallback. */
export function htmlToPlain(html: string): string {
  return html
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
}

// Everything but \t and \n: Telegram shows no other control usefully, and NUL is refused.
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\x00-\x08\x0B-\x1F\x7F]/g;
// A lone surrogate is not UTF-8: Telegram would refuse the whole message (HTML and plain alike).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const clean = (s: string) => s.replace(/\r\n?|[\u2028\u2029]/g, '\n').replace(CONTROLS, '').replace(LONE_SURROGATE, '\uFFFD');

function cleanNick(name: string): string {
  const flat = clean(name).replace(/\s+/g, ' ').trim();
  const cps = Array.from(flat);
  return (cps.length > NICK_MAX ? cps.slice(0, NICK_MAX - 1).join('') + '…' : flat) || '?';
}

interface Run {
  text: string;
  style?: TextStyle;
  href?: string;
}

export type OutItem =
  | { type: 'text'; html: string; plain: string }
  | { type: 'photo'; image: ImagePart; captionHtml: string; captionPlain: string };

function openTags(r: Run): [string, string] {
  let open = '';
  let close = '';
  if (r.href) {
    open += `<a href="${escapeAttr(r.href)}">`;
    close = '</a>' + close;
  }
  if (r.style?.bold) {
    open += '<b>';
    close = '</b>' + close;
  }
  if (r.style?.italic) {
    open += '<i>';
    close = '</i>' + close;
  }
  if (r.style?.underline) {
    open += '<u>';
    close = '</u>' + close;
  }
  return [open, close];
}

/**
 * Lays `runs` out into chunks of at most `limit` UTF-16 units of HTML, the first one starting
 * with `prefix` (already HTML). Each code point is escaped on its own, so a cut can only fall
 * between whole code points and whole entities.
 */
export function layoutHtml(prefix: string, runs: readonly Run[], limit = TELEGRAM_TEXT_LIMIT): string[] {
  const chunks: string[] = [];
  let cur = prefix;
  for (const run of runs) {
    let [open, close] = openTags(run);
    // A link whose URL alone would not fit a chunk cannot be a link; keep its text (and URL) as text.
    if (open.length + close.length + 8 > limit) {
      open = '';
      close = '';
    }
    let inRun = false;
    for (const cp of run.text) {
      const piece = escapeHtml(cp);
      const need = (inRun ? 0 : open.length) + piece.length + close.length;
      if (cur.length + need > limit && cur.length > 0) {
        if (inRun) cur += close;
        chunks.push(cur);
        cur = '';
        inRun = false;
      }
      if (!inRun) {
        cur += open;
        inRun = true;
      }
      cur += piece;
    }
    if (inRun) cur += close;
  }
  if (cur) chunks.push(cur);
  return chunks;
}

function partRun(p: Exclude<Part, ImagePart>): Run {
  switch (p.type) {
    case 'text':
      return p.style ? { text: clean(p.text), style: p.style } : { text: clean(p.text) };
    case 'emoji':
      return { text: clean(p.text) };
    case 'mention':
      return { text: `@${clean(p.name)}` };
    case 'link': {
      const url = clean(p.url).replace(/\s/g, '');
      const ok = /^(https?|tg):\/\//i.test(url);
      const text = p.text ? clean(p.text) : url;
      return ok ? { text: text || url, href: url } : { text: text && text !== url ? `${text} (${url})` : url };
    }
  }
}

/**
 * The nick line in front of a message: `<b>nick</b>: ` (`* <b>nick</b> ` for an action). Only
 * the bridge's own notices (`fromBridge`) go bare: a notice from a person is named too, or
 * anyone could post text that passes for the bridge's status. An event degraded to a notice that
 * already opens with the nick (`alice joined`) gets `* ` instead of the nick twice.
 */
export function nickHtml(msg: BridgeMessage): string {
  if (msg.fromBridge) return '';
  const nick = `<b>${escapeHtml(cleanNick(msg.origin.sender.displayName))}</b>`;
  if (msg.kind === 'action') return `* ${nick} `;
  const name = msg.origin.sender.displayName;
  const first = msg.parts[0];
  if (msg.kind !== 'message' && name !== '' && first?.type === 'text' && first.text.startsWith(name)) return '* ';
  return `${nick}: `;
}

/**
 * What to send to Telegram for `msg`, in order: text chunks (HTML plus a plain-text fallback for
 * when Telegram refuses the HTML) and photos. The nick prefixes the first text chunk; a photo's
 * caption is the nick.
 */
export function renderForTelegram(msg: BridgeMessage, limit = TELEGRAM_TEXT_LIMIT): OutItem[] {
  const out: OutItem[] = [];
  let prefix = nickHtml(msg);
  const notice = msg.kind !== 'message' && msg.kind !== 'action';
  let runs: Run[] = [];
  const flush = () => {
    const visible = runs.some((r) => r.text.trim() !== '');
    if (visible) {
      const styled = notice ? runs.map((r) => ({ ...r, style: { ...r.style, italic: true } })) : runs;
      for (const html of layoutHtml(prefix, styled, limit)) out.push({ type: 'text', html, plain: htmlToPlain(html) });
      prefix = '';
    }
    runs = [];
  };
  const defuse = mentionDefuser();
  for (const p of msg.parts) {
    if (p.type === 'image') {
      flush();
      const captionHtml = `<b>${escapeHtml(cleanNick(msg.origin.sender.displayName))}</b>`;
      out.push({ type: 'photo', image: p, captionHtml, captionPlain: htmlToPlain(captionHtml) });
    } else {
      const run = partRun(p);
      runs.push(run.href ? run : { ...run, text: defuse(run.text) });
    }
  }
  flush();
  return out;
}

/** Mentions that may notify per message; later `@username`s get a zero-width space. */
export const TELEGRAM_MAX_MENTIONS = 5;
// Telegram makes `@username` (5–32 of [A-Za-z0-9_]) a mention that notifies that user.
const USERNAME_MENTION = /(?<![\w@])@(?=[A-Za-z0-9_]{5,32}(?![\w]))/g;

/** Per message: lets the first few `@username`s through and breaks the rest, so a flood pings nobody new. */
function mentionDefuser(): (text: string) => string {
  let seen = 0;
  return (text) => text.replace(USERNAME_MENTION, () => (++seen > TELEGRAM_MAX_MENTIONS ? '@\u200B' : '@'));
}

/** A picture the connector could not upload: shown as a link, or a marker. */
export function imageFallbackText(p: ImagePart, url: string | undefined): string {
  return url ? `[image] ${url}` : p.name ? `[image: ${p.name}]` : '[image]';
}

// ---------------------------------------------------------------------------------------------
// Inbound

const STYLE_OF: Partial<Record<MessageEntity['type'], keyof TextStyle>> = {
  bold: 'bold',
  italic: 'italic',
  underline: 'underline',
};

/**
 * Telegram text + entities → parts. Entity offsets count UTF-16 units, which is exactly how a
 * JavaScript string is indexed. Overlapping styles are merged; a link wins over styles.
 */
export function entitiesToParts(text: string, entities: readonly MessageEntity[] = []): Part[] {
  if (!text) return [];
  const n = text.length;
  const styles: TextStyle[] = Array.from({ length: n }, () => ({}));
  const links: (string | undefined)[] = new Array(n).fill(undefined);
  const linkStart: boolean[] = new Array(n).fill(false);
  for (const e of entities) {
    // Offsets index the string: anything but whole numbers is a malformed entity, skipped.
    if (!Number.isSafeInteger(e.offset) || !Number.isSafeInteger(e.length)) continue;
    const from = Math.max(0, e.offset);
    const to = Math.min(n, e.offset + e.length);
    if (to <= from) continue;
    const s = STYLE_OF[e.type];
    if (s) for (let i = from; i < to; i++) (styles[i] as Record<string, boolean>)[s] = true;
    let url: string | undefined;
    if (e.type === 'text_link') url = e.url;
    else if (e.type === 'url') url = /^[a-z][a-z0-9+.-]*:/i.test(text.slice(from, to)) ? text.slice(from, to) : `http://${text.slice(from, to)}`;
    if (url !== undefined) {
      for (let i = from; i < to; i++) links[i] = url;
      linkStart[from] = true;
    }
  }
  const parts: Part[] = [];
  const keyAt = (i: number) => `${links[i] ?? ''}|${styles[i]!.bold ? 1 : 0}${styles[i]!.italic ? 1 : 0}${styles[i]!.underline ? 1 : 0}`;
  let i = 0;
  while (i < n) {
    const k = keyAt(i);
    let j = i + 1;
    while (j < n && keyAt(j) === k && !linkStart[j]) j++;
    const slice = text.slice(i, j);
    const url = links[i];
    if (url !== undefined) {
      parts.push(slice === url ? { type: 'link', url } : { type: 'link', url, text: slice });
    } else {
      const st = styles[i]!;
      const style: TextStyle = {};
      if (st.bold) style.bold = true;
      if (st.italic) style.italic = true;
      if (st.underline) style.underline = true;
      const last = parts[parts.length - 1];
      if (Object.keys(style).length === 0 && last?.type === 'text' && !last.style) last.text += slice;
      else parts.push(Object.keys(style).length ? { type: 'text', text: slice, style } : { type: 'text', text: slice });
    }
    i = j;
  }
  return parts;
}
