/**
 * The Matrix codec, pure: neutral parts → `m.room.message` content (plain `body` plus an HTML
 * `formatted_body` built only from an allow-list of tags, everything else escaped), and Matrix
 * content → neutral parts (HTML reduced to what QQ can show). No I/O here: the connector uploads
 * and downloads media and resolves reply/edit ids.
 */
import { escapeHtml as escapeHtmlWith } from '../../core/html.js';
import type { ImagePart, MessageKind, Part, TextPart, TextStyle } from '../../core/message.js';

export type MatrixContent = Record<string, unknown>;

/** One rule for text and attributes alike: both quotes too, so a value is safe however it is quoted. */
function escapeHtml(s: string): string {
  return escapeHtmlWith(s, { quotes: 'all' });
}

const SAFE_URL = /^(https?|mxc|mailto):/i;
const HEX6 = /^[0-9a-f]{6}$/;

// ------------------------------------------------------------------------------------------------
// Neutral → Matrix

export interface RenderOptions {
  /** A Matrix user id to pill for a mention (the ghost of a QQ member, or a Matrix user), if any. */
  pillFor?: (part: { userId?: string; name: string }) => string | undefined;
  /** Text put in front (e.g. `<b>nick</b>: ` when the bot speaks for someone without a ghost). */
  senderPrefix?: string;
}

/** One thing to post: a text event's content, or a picture the connector uploads first. */
export type Segment = { type: 'text'; content: MatrixContent } | { type: 'image'; part: ImagePart };

function styled(text: string, style: TextStyle | undefined): { plain: string; html: string } {
  let html = escapeHtml(text).replace(/\r?\n/g, '<br>');
  if (style?.color && HEX6.test(style.color)) {
    html = `<font color="#${style.color}" data-mx-color="#${style.color}">${html}</font>`;
  }
  if (style?.underline) html = `<u>${html}</u>`;
  if (style?.italic) html = `<em>${html}</em>`;
  if (style?.bold) html = `<strong>${html}</strong>`;
  return { plain: text, html };
}

function renderInline(part: Exclude<Part, ImagePart>, opts: RenderOptions): { plain: string; html: string; pill?: string } {
  switch (part.type) {
    case 'text':
      return styled(part.text, part.style);
    case 'emoji':
      return { plain: part.text, html: escapeHtml(part.text) };
    case 'mention': {
      const user = opts.pillFor?.(part);
      const label = `@${part.name}`;
      if (user && /^@[^\s"<>]+:[^\s"<>]+$/.test(user)) {
        return { plain: label, html: `<a href="https://matrix.to/#/${escapeHtml(user)}">${escapeHtml(label)}</a>`, pill: user };
      }
      return { plain: label, html: escapeHtml(label) };
    }
    case 'link': {
      const text = part.text && part.text !== part.url ? part.text : part.url;
      const plain = text === part.url ? part.url : `${text} (${part.url})`;
      if (!SAFE_URL.test(part.url)) return { plain, html: escapeHtml(plain) };
      return { plain, html: `<a href="${escapeHtml(part.url)}">${escapeHtml(text)}</a>` };
    }
  }
}

export function msgtypeFor(kind: MessageKind): 'm.text' | 'm.emote' | 'm.notice' {
  if (kind === 'action') return 'm.emote';
  if (kind === 'message') return 'm.text';
  return 'm.notice';
}

/** Pills that may notify per event (listed in `m.mentions`); the rest stay links that ping nobody. */
export const MATRIX_MAX_MENTIONS = 5;

// `@room` notifies the whole room (legacy push rule on the body): foreign text never says it as is.
// Every `@room`, even glued to more letters: which characters end a word differs between servers.
const ROOM_PING = /@(room)/gi;
const defuseRoom = (plain: string) => plain.replace(ROOM_PING, '@\u200B$1');
/** The same in HTML: in text a zero-width space, inside a tag (an href) the `@` percent-encoded. */
const defuseRoomHtml = (html: string) =>
  html.replace(/(<[^>]*>)|@(room)/gi, (_m, tag: string | undefined, word: string | undefined) =>
    tag !== undefined ? tag.replace(/@(?=room)/gi, '%40') : `@\u200B${word}`);

/**
 * Text content for inline parts; `formatted_body` only when it says more than `body`. The event
 * always carries `m.mentions` (intentional mentions, spec v1.7): with it, names and `@room` found in
 * the body notify nobody, only the first few pills listed there do.
 */
export function textContent(parts: readonly Exclude<Part, ImagePart>[], kind: MessageKind, opts: RenderOptions = {}): MatrixContent {
  let plain = '';
  let html = '';
  if (opts.senderPrefix) {
    plain += `${opts.senderPrefix}: `;
    html += `<strong>${escapeHtml(opts.senderPrefix)}</strong>: `;
  }
  const userIds: string[] = [];
  for (const p of parts) {
    const r = renderInline(p, opts);
    plain += r.plain;
    html += r.html;
    if (r.pill && !userIds.includes(r.pill) && userIds.length < MATRIX_MAX_MENTIONS) userIds.push(r.pill);
  }
  plain = defuseRoom(plain);
  html = defuseRoomHtml(html);
  const content: MatrixContent = { msgtype: msgtypeFor(kind), body: plain };
  if (html !== escapeHtml(plain).replace(/\r?\n/g, '<br>')) {
    content.format = 'org.matrix.custom.html';
    content.formatted_body = html;
  }
  content['m.mentions'] = userIds.length ? { user_ids: userIds } : {};
  return content;
}

/** Matrix refuses events over 65 536 bytes: a text event's content is kept under this. */
export const MATRIX_MAX_CONTENT_BYTES = 60_000;

/** Content for a run of parts, split into as many events as it takes to stay under the size bound. */
function fitContent(run: readonly Exclude<Part, ImagePart>[], kind: MessageKind, opts: RenderOptions): MatrixContent[] {
  const content = textContent(run, kind, opts);
  if (Buffer.byteLength(JSON.stringify(content), 'utf8') <= MATRIX_MAX_CONTENT_BYTES) return [content];
  const halves = halve(run);
  if (!halves) return [content]; // one indivisible part (a huge link): let the homeserver judge it
  const rest = { ...opts, senderPrefix: undefined };
  return [...fitContent(halves[0], kind, opts), ...fitContent(halves[1], kind, rest)];
}

/** Two non-empty halves of a run: by parts, or a lone text part cut on a code-point boundary. */
function halve(run: readonly Exclude<Part, ImagePart>[]): [Exclude<Part, ImagePart>[], Exclude<Part, ImagePart>[]] | undefined {
  if (run.length > 1) {
    const mid = Math.floor(run.length / 2);
    return [run.slice(0, mid), run.slice(mid)];
  }
  const only = run[0];
  if (only?.type !== 'text' || only.text.length < 2) return undefined;
  let mid = Math.floor(only.text.length / 2);
  const c = only.text.charCodeAt(mid);
  if (c >= 0xdc00 && c <= 0xdfff) mid++; // never between the halves of a surrogate pair
  if (mid >= only.text.length) return undefined;
  return [[{ ...only, text: only.text.slice(0, mid) }], [{ ...only, text: only.text.slice(mid) }]];
}

/**
 * Splits a message into what Matrix posts: runs of inline parts become one text event each,
 * every picture its own `m.image` (Matrix has no inline pictures in text).
 */
export function renderSegments(parts: readonly Part[], kind: MessageKind, opts: RenderOptions = {}): Segment[] {
  const out: Segment[] = [];
  let run: Exclude<Part, ImagePart>[] = [];
  let prefixed = false;
  const flush = () => {
    const meaningful = run.some((p) => p.type !== 'text' || p.text.trim() !== '');
    if (meaningful) {
      for (const content of fitContent(run, kind, prefixed ? { ...opts, senderPrefix: undefined } : opts)) out.push({ type: 'text', content });
      prefixed = true;
    }
    run = [];
  };
  for (const p of parts) {
    if (p.type === 'image') {
      flush();
      out.push({ type: 'image', part: p });
    } else run.push(p);
  }
  flush();
  return out;
}

/** An `m.image` event for an uploaded picture. */
export function imageContent(part: ImagePart, mxc: string, info: { mime: string; size: number }): MatrixContent {
  const name = part.name ?? `image.${(info.mime.split('/')[1] ?? 'bin').replace(/[^a-z0-9]/g, '')}`;
  const i: Record<string, unknown> = { mimetype: info.mime, size: info.size };
  if (part.width) i.w = part.width;
  if (part.height) i.h = part.height;
  return { msgtype: 'm.image', body: name, url: mxc, info: i };
}

/** Makes `content` a reply to `eventId` (no fallback: clients render the quote themselves). */
export function withReply(content: MatrixContent, eventId: string): MatrixContent {
  return { ...content, 'm.relates_to': { 'm.in_reply_to': { event_id: eventId } } };
}

/** Turns `content` into an edit (`m.replace`) of `eventId`, with the `* ` fallback for old clients. */
export function asEdit(content: MatrixContent, eventId: string): MatrixContent {
  const { 'm.relates_to': _r, ...newContent } = content;
  const edit: MatrixContent = { ...newContent, body: `* ${String(newContent.body ?? '')}`, 'm.new_content': newContent, 'm.relates_to': { rel_type: 'm.replace', event_id: eventId } };
  if (typeof newContent.formatted_body === 'string') edit.formatted_body = `* ${newContent.formatted_body}`;
  return edit;
}

// ------------------------------------------------------------------------------------------------
// Matrix → neutral

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const n = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(n) && n > 0 && n <= 0x10ffff ? String.fromCodePoint(n) : m;
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

const PILL = /^https:\/\/matrix\.to\/#\/(@[^/?]+)/;
// Linear on hostile input: an attribute never runs over a `<` (so an unclosed `<a a a …` fails
// at the next tag, not at the end of the text) and an unclosed comment ends the text, as in HTML.
const TAG = /<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s"'<>\/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'<>]+))?)*)\s*(\/?)>|<!--[\s\S]*?(?:-->|$)/g;

function attrs(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of s.matchAll(/([^\s"'>\/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g)) {
    out[m[1]!.toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

/** decodeURIComponent that keeps a malformed escape (`%ZZ`) as it is instead of throwing. */
function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Reduces Matrix HTML to parts: text with bold/italic/underline, links (text and URL), mention pills. */
export function parseMatrixHtml(html: string): Part[] {
  const out: Part[] = [];
  const style: { b: number; i: number; u: number } = { b: 0, i: 0, u: 0 };
  let skip = 0; // inside <mx-reply>, <script>, <style>
  let link: { url: string; text: string } | undefined;
  const pushText = (raw: string) => {
    if (skip || raw === '') return;
    const t = decodeEntities(raw);
    if (link) {
      link.text += t;
      return;
    }
    const s: TextStyle = {};
    if (style.b) s.bold = true;
    if (style.i) s.italic = true;
    if (style.u) s.underline = true;
    const last = out[out.length - 1];
    const same = last?.type === 'text' && JSON.stringify(last.style ?? {}) === JSON.stringify(s);
    if (same) (last as TextPart).text += t;
    else out.push(Object.keys(s).length ? { type: 'text', text: t, style: s } : { type: 'text', text: t });
  };
  const nl = () => {
    const last = out[out.length - 1];
    if (last && !(last.type === 'text' && last.text.endsWith('\n'))) pushText('\n');
  };
  let pos = 0;
  for (const m of html.matchAll(TAG)) {
    pushText(html.slice(pos, m.index).replace(/\r?\n/g, ''));
    pos = m.index + m[0].length;
    if (!m[2]) continue; // comment
    const closing = m[1] === '/';
    const name = m[2].toLowerCase();
    if (name === 'mx-reply' || name === 'script' || name === 'style') {
      skip = Math.max(0, skip + (closing ? -1 : 1));
      continue;
    }
    if (skip) continue;
    switch (name) {
      case 'b':
      case 'strong':
        style.b = Math.max(0, style.b + (closing ? -1 : 1));
        break;
      case 'i':
      case 'em':
        style.i = Math.max(0, style.i + (closing ? -1 : 1));
        break;
      case 'u':
        style.u = Math.max(0, style.u + (closing ? -1 : 1));
        break;
      case 'br':
        pushText('\n');
        break;
      case 'p':
      case 'div':
      case 'blockquote':
      case 'pre':
      case 'ul':
      case 'ol':
      case 'h1': case 'h2': case 'h3': case 'h4': case 'h5': case 'h6':
        if (closing || out.length) nl();
        break;
      case 'li':
        if (!closing) {
          nl();
          pushText('• ');
        }
        break;
      case 'img':
        if (!closing) {
          const a = attrs(m[3] ?? '');
          pushText(a.alt ?? a.title ?? '');
        }
        break;
      case 'a':
        if (!closing) {
          const href = attrs(m[3] ?? '').href ?? '';
          link = { url: href, text: '' };
        } else if (link) {
          const l = link;
          link = undefined;
          const pill = PILL.exec(l.url);
          if (pill) out.push({ type: 'mention', userId: safeDecode(pill[1]!), name: l.text.replace(/^@/, '') || safeDecode(pill[1]!) });
          else if (/^(https?|mailto):/i.test(l.url)) out.push(l.text && l.text !== l.url ? { type: 'link', url: l.url, text: l.text } : { type: 'link', url: l.url });
          else pushText(l.text);
        }
        break;
      default:
        break; // every other tag: keep its text, drop the markup
    }
  }
  pushText(html.slice(pos).replace(/\r?\n/g, ''));
  if (link) pushText(link.text);
  // Trailing newlines from closing blocks mean nothing on QQ.
  const last = out[out.length - 1];
  if (last?.type === 'text') {
    last.text = last.text.replace(/\n+$/, '');
    if (last.text === '') out.pop();
  }
  return out;
}

/** The plain body without the `> ` quote a reply carries in front (the legacy reply fallback). */
export function stripReplyFallback(body: string): string {
  const lines = body.split('\n');
  let i = 0;
  while (i < lines.length && lines[i]!.startsWith('>')) i++;
  if (i === 0) return body;
  if (lines[i] === '') i++;
  return lines.slice(i).join('\n');
}

export interface ParsedMatrix {
  kind: MessageKind;
  parts: Part[];
  /** Event id this answers (`m.in_reply_to`). */
  replyToEventId?: string;
  /** Event id this replaces (`m.replace`). */
  editOfEventId?: string;
  /** An `m.image` to download: its mxc URL and what the event says about it. */
  image?: { mxc: string; mime?: string; size?: number; name?: string; width?: number; height?: number };
  /** `m.file`/`m.video`/`m.audio`: an mxc URL the connector turns into a link. */
  file?: { mxc: string; name: string; mime?: string; size?: number };
}

const obj = (v: unknown): Record<string, unknown> | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/** Parses `m.room.message` content; undefined for content the bridge does not carry. */
export function parseMatrixContent(content: Record<string, unknown>): ParsedMatrix | undefined {
  const rel = obj(content['m.relates_to']);
  const newContent = obj(content['m.new_content']);
  let editOfEventId: string | undefined;
  let c = content;
  if (rel?.rel_type === 'm.replace' && typeof rel.event_id === 'string' && newContent) {
    editOfEventId = rel.event_id;
    c = newContent;
  }
  const inReply = obj(rel?.['m.in_reply_to']);
  const replyToEventId = !editOfEventId && typeof inReply?.event_id === 'string' ? inReply.event_id : undefined;
  const msgtype = c.msgtype;
  const body = typeof c.body === 'string' ? c.body : '';
  const base = { ...(replyToEventId ? { replyToEventId } : {}), ...(editOfEventId ? { editOfEventId } : {}) };

  if (msgtype === 'm.text' || msgtype === 'm.notice' || msgtype === 'm.emote') {
    // An `m.notice` from a person is still their words: relayed as a message, with their name,
    // so nobody can post text that passes for the bridge's own notices on the other side.
    const kind: MessageKind = msgtype === 'm.emote' ? 'action' : 'message';
    let parts: Part[];
    if (c.format === 'org.matrix.custom.html' && typeof c.formatted_body === 'string') {
      parts = parseMatrixHtml(c.formatted_body);
    } else {
      const text = replyToEventId ? stripReplyFallback(body) : body;
      parts = text ? [{ type: 'text', text }] : [];
    }
    if (parts.length === 0) return undefined;
    return { kind, parts, ...base };
  }
  const url = typeof c.url === 'string' && c.url.startsWith('mxc://') ? c.url : undefined;
  const info = obj(c.info) ?? {};
  if (msgtype === 'm.image' && url) {
    const image: NonNullable<ParsedMatrix['image']> = { mxc: url };
    if (typeof info.mimetype === 'string') image.mime = info.mimetype;
    if (typeof info.size === 'number') image.size = info.size;
    if (typeof info.w === 'number') image.width = info.w;
    if (typeof info.h === 'number') image.height = info.h;
    if (body) image.name = body;
    return { kind: 'message', parts: [], image, ...base };
  }
  if ((msgtype === 'm.file' || msgtype === 'm.video' || msgtype === 'm.audio') && url) {
    const name = (typeof c.filename === 'string' && c.filename) || body || 'file';
    const file: NonNullable<ParsedMatrix['file']> = { mxc: url, name };
    if (typeof info.mimetype === 'string') file.mime = info.mimetype;
    if (typeof info.size === 'number' && Number.isFinite(info.size) && info.size >= 0) file.size = info.size;
    return { kind: 'message', parts: [], file, ...base };
  }
  return undefined;
}

/** `mxc://server/id` → its parts, or undefined when malformed. */
export function parseMxc(mxc: string): { server: string; mediaId: string } | undefined {
  const m = /^mxc:\/\/([A-Za-z0-9.\-:[\]]+)\/([A-Za-z0-9_\-]+)$/.exec(mxc);
  return m ? { server: m[1]!, mediaId: m[2]! } : undefined;
}
