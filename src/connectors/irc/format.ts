/**
 * BridgeMessage ↔ IRC text. Pure: no I/O except the optional `overflow` callback the caller
 * supplies (the connector gets it from the media server).
 *
 * Rendering rules (what an IRC user sees):
 * - every line starts with `[nick] `, the nick in a stable per-nick colour and with a zero-width
 *   space after its first character so an IRC user with the same nick is not highlighted;
 * - styles become mIRC codes (\x02 bold, \x1D italic, \x1F underline, \x03NN nearest of the 16
 *   mIRC colours), each styled run closed with \x0F so a split line never inherits a style;
 * - faces become their emoji, or `[name]`; images `[image] URL`; mentions `@name`;
 * - actions are a plain `* nick text` line, NOT a CTCP ACTION: a CTCP ACTION from the bridge
 *   would show as `* qqbridge nick text`, attributing the action to the bot;
 * - join/leave/rename/topic become short `* …` notices (rename: the parts hold the new name,
 *   topic: the new topic);
 * - lines are split by UTF-8 bytes on code-point boundaries (preferring spaces), at most
 *   `maxLines` lines go out, the last of them pointing to the full text when there is more.
 *
 * Security: no output line ever contains CR, LF, NUL or any C0 control other than the mIRC
 * formatting codes this module writes itself, so a message can never start a new IRC command.
 */
import type { BridgeMessage, MessageKind, Part, TextStyle } from '../../core/message.js';

export const DEFAULT_MAX_LINE_BYTES = 400;
export const DEFAULT_MAX_LINES = 5;
export const DEFAULT_MAX_MENTIONS = 5;
/** Room left for the `:nick!user@host ` prefix the server puts in front when it relays our line. */
export const SERVER_PREFIX_MARGIN = 100;
const IRC_LINE_MAX = 512;

export const ZWSP = '\u200B';

/** The 16 standard mIRC colours, index = code. */
export const MIRC_PALETTE: readonly string[] = [
  'ffffff', '000000', '00007f', '009300', 'ff0000', '7f0000', '9c009c', 'fc7f00',
  'ffff00', '00fc00', '009393', '00ffff', '0000fc', 'ff00ff', '7f7f7f', 'd2d2d2',
];

/** Colours readable on both light and dark backgrounds (no white, black, yellow, greys). */
export const NICK_COLORS: readonly number[] = [2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13];

// ---------------------------------------------------------------------------------------------
// Small helpers

/** UTF-8 byte length of one code point. */
function cpBytes(cp: number): number {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

export function utf8Bytes(s: string): number {
  let n = 0;
  for (const ch of s) n += cpBytes(ch.codePointAt(0)!);
  return n;
}

/** The longest prefix of `s` (whole code points) that fits in `budget` UTF-8 bytes. */
function takeBytes(s: string, budget: number): string {
  let n = 0;
  let end = 0;
  for (const ch of s) {
    const b = cpBytes(ch.codePointAt(0)!);
    if (n + b > budget) break;
    n += b;
    end += ch.length;
  }
  return s.slice(0, end);
}

// eslint-disable-next-line no-control-regex
const ALL_CONTROLS = /[\x00-\x08\x0B-\x1F\x7F]/g; // everything but \t and \n
// eslint-disable-next-line no-control-regex
const UNSAFE_IN_LINE = /[\x00-\x01\x05-\x0E\x10\x12-\x1C\x7F]/g; // C0 minus the formatting codes
// eslint-disable-next-line no-control-regex
const UNSAFE_TEST = /[\x00-\x01\x05-\x0E\x10\x12-\x1C\x7F]/;

/**
 * Text from another network, made safe for IRC: newlines (LF, CRLF, NEL, U+2028/9) become
 * \n for the caller to split on, tabs and bare CRs become spaces, and every other control (NUL, CTCP \x01,
 * literal mIRC codes, DEL) is dropped: styles travel in TextStyle, never as raw codes.
 */
export function cleanText(s: string): string {
  return s
    .replace(/\r\n|[\u0085\u2028\u2029]/g, '\n')
    // No chat network sends a bare CR as a line break: it is an injection attempt or noise.
    .replace(/[\t\r]/g, ' ')
    .replace(ALL_CONTROLS, '')
    // A lone surrogate cannot be encoded: it would go out as U+FFFD anyway, say so now.
    .replace(LONE_SURROGATE, '\uFFFD');
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Last line of defence on a finished line: only the formatting codes survive. */
export function sanitizeLine(line: string): string {
  return line.replace(/[\r\n]/g, ' ').replace(UNSAFE_IN_LINE, '');
}

/** Inserts a zero-width space after the first character (code point) so the name does not highlight. */
export function antiPing(name: string): string {
  const first = String.fromCodePoint(name.codePointAt(0) ?? 0);
  return name ? first + ZWSP + name.slice(first.length) : name;
}

/** A stable colour for a nick: FNV-1a over its UTF-8 bytes, mod the readable colours. */
export function nickColor(nick: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(nick)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return NICK_COLORS[h % NICK_COLORS.length]!;
}

function hexToRgb(hex: string): [number, number, number] | undefined {
  const m = /^#?([0-9a-f]{6})$/i.exec(hex.trim());
  if (!m) return undefined;
  const n = parseInt(m[1]!, 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** The mIRC colour code (0–15) nearest to `rrggbb`; undefined for a malformed colour. */
export function nearestMircColor(hex: string): number | undefined {
  const rgb = hexToRgb(hex);
  if (!rgb) return undefined;
  let best = 0;
  let bestD = Infinity;
  MIRC_PALETTE.forEach((p, i) => {
    const q = hexToRgb(p)!;
    const d = (q[0] - rgb[0]) ** 2 + (q[1] - rgb[1]) ** 2 + (q[2] - rgb[2]) ** 2;
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  });
  return best;
}

const two = (n: number) => String(n).padStart(2, '0');

/** Opening codes for a style (empty for no style). */
function styleCodes(style: TextStyle | undefined): string {
  if (!style) return '';
  let s = '';
  if (style.bold) s += '\x02';
  if (style.italic) s += '\x1D';
  if (style.underline) s += '\x1F';
  if (style.color) {
    const c = nearestMircColor(style.color);
    // Two digits always, so a following digit is never read as part of the code.
    if (c !== undefined) s += `\x03${two(c)}`;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Rendering

export interface RenderOptions {
  /** The channel the lines go to: its length counts against the 512-byte IRC line. */
  target?: string;
  /** Bytes of text per line (after `PRIVMSG #chan :`); capped so the relayed line fits 512. */
  maxLineBytes?: number;
  /** Lines per message, the "more" pointer included. */
  maxLines?: number;
  /** Mentions that may highlight; later ones (and @all/@everyone always) are de-pinged. */
  maxMentions?: number;
  /** Nicks present in the channel: a text naming more than `maxMentions` of them is de-pinged. */
  knownNicks?: Iterable<string>;
  /** Publishes the full text and returns its URL, for the last line of a truncated message. */
  overflow?: (fullText: string) => Promise<string>;
}

interface Run {
  text: string;
  style?: TextStyle;
}
/** A logical line: runs of styled text without newlines. */
type LogicalLine = Run[];

const MASS_MENTIONS = new Set(['all', 'everyone', 'here', 'channel', 'room', '全体成员', '所有人', '全体']);
const MASS_MENTION_IN_TEXT = /@(all|everyone|here|channel|room|全体成员|所有人|全体)(?![\p{L}\p{N}_])/giu;

/** Bytes of text a line may carry for this target. */
export function lineBudget(opts: RenderOptions = {}): number {
  const wanted = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const overhead = utf8Bytes(`PRIVMSG ${opts.target ?? '#'.padEnd(50, 'x')} :`) + 2 + SERVER_PREFIX_MARGIN;
  return Math.max(32, Math.min(wanted, IRC_LINE_MAX - overhead));
}

/** The display name as it may appear on IRC: one line, no controls, at most 32 code points. */
function cleanName(name: string): string {
  const flat = cleanText(name).replace(/\n/g, ' ').trim();
  const cps = [...flat];
  return (cps.length > 32 ? cps.slice(0, 31).join('') + '…' : flat) || '?';
}

/** `[nick] ` with the nick coloured and de-pinged. */
export function nickPrefix(displayName: string): string {
  const name = cleanName(displayName);
  // A comma right after \x03NN would be read as a background colour: separate with \x02\x02.
  const guard = name.startsWith(',') ? '\x02\x02' : '';
  return `[\x03${two(nickColor(name))}${guard}${antiPing(name)}\x03] `;
}

function partsToRuns(parts: readonly Part[], opts: RenderOptions): Run[] {
  const maxMentions = opts.maxMentions ?? DEFAULT_MAX_MENTIONS;
  let mentions = 0;
  const runs: Run[] = [];
  for (const p of parts) {
    switch (p.type) {
      case 'text': {
        const text = cleanText(p.text).replace(MASS_MENTION_IN_TEXT, (_m, w: string) => `@${antiPing(w)}`);
        runs.push(p.style ? { text, style: p.style } : { text });
        break;
      }
      case 'emoji':
        runs.push({ text: cleanText(p.text) });
        break;
      case 'image':
        runs.push({ text: p.url ? `[image] ${cleanText(p.url).replace(/\s/g, '')}` : '[image]' });
        break;
      case 'mention': {
        const name = cleanName(p.name);
        mentions++;
        const quiet = mentions > maxMentions || MASS_MENTIONS.has(name.toLowerCase());
        runs.push({ text: `@${quiet ? antiPing(name) : name}` });
        break;
      }
      case 'link': {
        const url = cleanText(p.url).replace(/\s/g, '');
        const text = p.text ? cleanText(p.text) : '';
        runs.push({ text: text && text !== url ? `${text} (${url})` : url });
        break;
      }
    }
  }
  return deflood(runs, opts);
}

/**
 * A text that names many people present in the channel is a mass highlight: past the cap,
 * every known nick in it gets a zero-width space.
 */
function deflood(runs: Run[], opts: RenderOptions): Run[] {
  if (!opts.knownNicks) return runs;
  const nicks = new Set([...opts.knownNicks].map((n) => n.toLowerCase()));
  if (nicks.size === 0) return runs;
  const cap = opts.maxMentions ?? DEFAULT_MAX_MENTIONS;
  const word = /[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]*/g;
  const named = new Set<string>();
  for (const r of runs) for (const m of r.text.matchAll(word)) if (nicks.has(m[0].toLowerCase())) named.add(m[0].toLowerCase());
  if (named.size <= cap) return runs;
  return runs.map((r) => ({ ...r, text: r.text.replace(word, (w) => (nicks.has(w.toLowerCase()) ? antiPing(w) : w)) }));
}

/** Splits runs on their newlines into logical lines; blank lines are dropped (IRC cannot send them). */
function toLogicalLines(runs: Run[]): LogicalLine[] {
  const lines: LogicalLine[] = [[]];
  for (const r of runs) {
    r.text.split('\n').forEach((piece, i) => {
      if (i > 0) lines.push([]);
      if (piece) lines[lines.length - 1]!.push(r.style ? { text: piece, style: r.style } : { text: piece });
    });
  }
  return lines.filter((l) => l.some((r) => r.text.trim() !== ''));
}

/** Lays one logical line out into physical lines of at most `avail` bytes (prefix excluded). */
function layout(line: LogicalLine, avail: number): string[] {
  const out: string[] = [];
  let cur = '';
  let curBytes = 0;
  const flush = () => {
    if (cur.trim() !== '') out.push(cur.replace(/ +$/, ''));
    cur = '';
    curBytes = 0;
  };
  for (const run of line) {
    const open = styleCodes(run.style);
    const close = open ? '\x0F' : '';
    let text = run.text;
    while (text) {
      // A comma right after \x03NN would be read as a background colour: separate with \x02\x02.
      const guard = open.includes('\x03') && text.startsWith(',') ? '\x02\x02' : '';
      const overhead = utf8Bytes(open + guard + close);
      const space = avail - curBytes - overhead;
      if (space < 4 && curBytes > 0) {
        flush();
        continue;
      }
      if (curBytes === 0) text = text.replace(/^ +/, '');
      if (!text) break;
      let take = takeBytes(text, Math.max(space, 4));
      if (take.length < text.length) {
        const sp = take.lastIndexOf(' ');
        if (sp > 0) take = take.slice(0, sp + 1);
        else if (curBytes > 0) {
          // The word does not fit in what is left of this line: start it on a fresh one.
          flush();
          continue;
        }
      }
      const piece = open + guard + take + close;
      cur += piece;
      curBytes += utf8Bytes(piece);
      text = text.slice(take.length);
      if (text) flush();
    }
  }
  flush();
  return out;
}

/** The sentence for a membership/topic event, after `* `; undefined for chat kinds. */
function kindSentence(kind: MessageKind, name: string, body: string): string | undefined {
  switch (kind) {
    case 'join':
      return `${name} joined${body ? ` (${body})` : ''}`;
    case 'leave':
      return `${name} left${body ? ` (${body})` : ''}`;
    case 'rename':
      return `${name} is now known as ${body}`;
    case 'topic':
      return `${name} changed the topic to: ${body}`;
    default:
      return undefined;
  }
}

export interface RenderedLines {
  lines: string[];
  /** Physical lines that did not go out (0 when everything fits). */
  hidden: number;
  /** The whole message as plain text, for the overflow pointer. */
  fullText: string;
}

/**
 * Renders a message into IRC lines without the overflow callback: a truncated message ends
 * with `… (N more lines)`. See `renderIrcLines` for the version that links to the full text.
 */
export function renderIrcLinesSync(msg: BridgeMessage, opts: RenderOptions = {}, overflowUrl?: string): RenderedLines {
  const budget = lineBudget(opts);
  const maxLines = Math.max(1, opts.maxLines ?? DEFAULT_MAX_LINES);
  const name = cleanName(msg.origin.sender.displayName);
  let runs = partsToRuns(msg.parts, opts);
  let prefix = nickPrefix(name);
  // Actions and events carry the name in the sentence; their lines start with a bare `* `.
  if (msg.kind === 'action') {
    prefix = '* ';
    runs = [{ text: `${antiPing(name)} ` }, ...runs];
  } else {
    const body = runs.map((r) => r.text).join('').replace(/\s+/g, ' ').trim();
    const sentence = kindSentence(msg.kind, antiPing(name), body);
    if (sentence !== undefined) {
      prefix = '* ';
      runs = [{ text: sentence }];
    }
  }
  const logical = toLogicalLines(runs);
  const avail = budget - utf8Bytes(prefix);
  const physical = logical.flatMap((l) => layout(l, avail)).map((l) => sanitizeLine(prefix + l));
  const fullText = logical.map((l) => l.map((r) => r.text).join('')).join('\n');
  if (physical.length <= maxLines) return { lines: physical, hidden: 0, fullText };
  const shown = physical.slice(0, maxLines - 1);
  const hidden = physical.length - shown.length;
  const pointer = overflowUrl
    ? `${prefix}… full message: ${cleanText(overflowUrl).replace(/\s/g, '')}`
    : `${prefix}… (${hidden} more line${hidden === 1 ? '' : 's'})`;
  shown.push(sanitizeLine(takeBytes(pointer, budget)));
  return { lines: shown, hidden, fullText };
}

/**
 * Renders a message into IRC lines (text of `PRIVMSG <target> :…`, without the command). A
 * message longer than `maxLines` ends with a line linking to the full text when `overflow` is
 * given and works, else with `… (N more lines)`.
 */
export async function renderIrcLines(msg: BridgeMessage, opts: RenderOptions = {}): Promise<string[]> {
  const first = renderIrcLinesSync(msg, opts);
  if (first.hidden === 0 || !opts.overflow) return first.lines;
  let url: string;
  try {
    url = await opts.overflow(`${cleanName(msg.origin.sender.displayName)}: ${first.fullText}`);
  } catch {
    // Losing the link is better than losing the message: fall back to the line count.
    return first.lines;
  }
  return renderIrcLinesSync(msg, opts, url).lines;
}

// ---------------------------------------------------------------------------------------------
// Parsing IRC → neutral

const MIRC_HEX = MIRC_PALETTE;

/**
 * Text of a PRIVMSG → styled text parts. mIRC codes become TextStyle (bold, italic, underline,
 * colour; only the 16 standard colours and \x04 hex colours map, the rest are dropped);
 * reverse, monospace and strikethrough codes and any other control are removed.
 */
export function parseIrcFormatting(text: string): { text: string; style?: TextStyle }[] {
  const out: { text: string; style?: TextStyle }[] = [];
  let style: TextStyle = {};
  let buf = '';
  const emit = () => {
    if (!buf) return;
    const s: TextStyle = {};
    if (style.bold) s.bold = true;
    if (style.italic) s.italic = true;
    if (style.underline) s.underline = true;
    if (style.color) s.color = style.color;
    const last = out[out.length - 1];
    const same = last && JSON.stringify(last.style ?? {}) === JSON.stringify(s);
    if (same) last.text += buf;
    else out.push(Object.keys(s).length ? { text: buf, style: s } : { text: buf });
    buf = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    switch (ch) {
      case '\x02':
        emit();
        style = { ...style, bold: !style.bold };
        break;
      case '\x1D':
        emit();
        style = { ...style, italic: !style.italic };
        break;
      case '\x1F':
        emit();
        style = { ...style, underline: !style.underline };
        break;
      case '\x0F':
        emit();
        style = {};
        break;
      case '\x03': {
        emit();
        const m = /^(\d{1,2})(?:,(\d{1,2}))?/.exec(text.slice(i + 1));
        const { color: _drop, ...rest } = style;
        style = rest;
        if (m) {
          const fg = Number(m[1]);
          if (fg < 16) style.color = MIRC_HEX[fg]!;
          i += m[0].length;
        }
        break;
      }
      case '\x04': {
        emit();
        const m = /^([0-9a-fA-F]{6})(?:,([0-9a-fA-F]{6}))?/.exec(text.slice(i + 1));
        const { color: _drop, ...rest } = style;
        style = rest;
        if (m) {
          style.color = m[1]!.toLowerCase();
          i += m[0].length;
        }
        break;
      }
      default:
        // eslint-disable-next-line no-control-regex
        if (/[\x00-\x1F\x7F]/.test(ch)) {
          if (ch === '\t') buf += ' ';
          // \x16 reverse, \x11 monospace, \x1E strikethrough, stray controls: dropped.
        } else buf += ch;
    }
  }
  emit();
  return out;
}

const URL_RE = /\b(?:https?|ftp):\/\/[^\s<>"\x00-\x1F]+/gi;

/** Trailing punctuation is usually the sentence's, not the URL's (a `)` only if unbalanced). */
function trimUrl(url: string): string {
  let u = url;
  for (;;) {
    const last = u[u.length - 1];
    if (last && '.,;:!?\'"'.includes(last)) u = u.slice(0, -1);
    else if (last === ')' && (u.match(/\(/g)?.length ?? 0) < (u.match(/\)/g)?.length ?? 0)) u = u.slice(0, -1);
    else return u;
  }
}

/** IRC message text → parts: styled text and URLs as link parts (`[惊讶]` stays text: QQ reads it as a face itself). */
export function parseIrcText(text: string): Part[] {
  const parts: Part[] = [];
  const pushText = (t: string, style?: TextStyle) => {
    if (!t) return;
    const last = parts[parts.length - 1];
    if (last && last.type === 'text' && JSON.stringify(last.style ?? {}) === JSON.stringify(style ?? {})) last.text += t;
    else parts.push(style ? { type: 'text', text: t, style } : { type: 'text', text: t });
  };
  for (const run of parseIrcFormatting(text)) {
    let pos = 0;
    for (const m of run.text.matchAll(URL_RE)) {
      const url = trimUrl(m[0]);
      pushText(run.text.slice(pos, m.index), run.style);
      parts.push({ type: 'link', url });
      pos = m.index + url.length;
    }
    pushText(run.text.slice(pos), run.style);
  }
  return parts;
}

/**
 * A raw PRIVMSG text → kind and parts: `\x01ACTION waves\x01` is an action, any other CTCP
 * request is not a chat message (undefined), everything else is a message.
 */
export function parseIrcMessage(text: string): { kind: 'message' | 'action'; parts: Part[] } | undefined {
  if (text.startsWith('\x01')) {
    const inner = text.slice(1).replace(/\x01$/, '');
    if (/^ACTION(?: |$)/i.test(inner)) return { kind: 'action', parts: parseIrcText(inner.slice(7)) };
    return undefined;
  }
  return { kind: 'message', parts: parseIrcText(text) };
}

/** Checks that nothing in `s` can break out of an IRC line (the property tests assert it of every rendered line). */
export function isSafeLine(s: string): boolean {
  return !UNSAFE_TEST.test(s);
}
