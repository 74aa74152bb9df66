/**
 * WebQQ message `content` codec (protocol reference §4). Pure: no I/O.
 *
 * Received content is an array, normally font first, then text strings, `["face", id]`,
 * `["cface", {...}]` (group/discussion picture), `["cface", "<name>", ""]` (buddy custom face) and
 * `["offpic", {...}]` (buddy offline picture). Sent content is the same kind of array with the
 * font LAST, serialised with JSON.stringify into a string that itself travels inside `r`.
 */

export interface QqFont {
  name: string;
  size: number;
  /** `rrggbb`, lower-case hex. */
  color: string;
  bold: boolean;
  italic: boolean;
  underline: boolean;
}

export type ReceivedItem =
  | { type: 'text'; text: string }
  | { type: 'face'; id: number }
  /** Group/discussion picture (`scope: 'group'`, object form) or buddy custom face (`scope: 'buddy'`, string form). */
  | { type: 'cface'; scope: 'group' | 'buddy'; name: string; fileId?: number; key?: string; server?: string }
  | { type: 'offpic'; filePath: string; success: boolean };

export interface ParsedContent {
  items: ReceivedItem[];
  font?: QqFont;
  /** The `\u0000…宋体\r` garbage group messages some clients produced (§4.1, §5.14): drop them. */
  junk: boolean;
  /** Only the font element was left: SmartQQ stripped a picture (§4.1; Mojo shows "[图片]"). */
  pictureStripped: boolean;
  /** Elements that could not be understood, kept for diagnostics (never thrown). */
  unknown: number;
}

/** Items the client can put into an outgoing message, after pictures were uploaded. */
export type OutgoingItem =
  | { type: 'text'; text: string }
  | { type: 'face'; id: number }
  /** Group/discussion picture already uploaded with cface_upload: `["cface","group",name]`. */
  | { type: 'cface'; name: string }
  /** Buddy custom face: `["cface", name]`. */
  | { type: 'buddy-cface'; name: string }
  /** Buddy offline picture: `["offpic", filePath, fileName, fileSize]`. */
  | { type: 'offpic'; filePath: string; fileName: string; fileSize: number };

/** Bounds so a hostile body cannot make us do unbounded work. */
const MAX_CONTENT_ELEMENTS = 5000;

const DEFAULT_FONT_OUT = { name: '宋体', size: '10', style: [0, 0, 0], color: '000000' };

const NAMED_ENTITIES: Record<string, string> = {
  lt: '<', gt: '>', amp: '&', quot: '"', apos: "'", nbsp: '\u00a0',
};

/** Undo the HTML entity escaping the server applies to text and nicknames (§4.1). */
export function unescapeHtml(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]{2,6});/g, (whole, ent: string) => {
    if (ent[0] === '#') {
      const cp = ent[1] === 'x' || ent[1] === 'X' ? parseInt(ent.slice(2), 16) : parseInt(ent.slice(1), 10);
      if (!Number.isFinite(cp) || cp < 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return whole;
      return String.fromCodePoint(cp);
    }
    return NAMED_ENTITIES[ent] ?? whole;
  });
}

function toInt(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v);
  if (typeof v === 'string' && /^-?\d{1,20}$/.test(v.trim())) return Number(v.trim());
  return undefined;
}

function parseFont(v: unknown): QqFont | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  const style = Array.isArray(o.style) ? o.style : [];
  const color = typeof o.color === 'string' && /^[0-9a-fA-F]{1,6}$/.test(o.color) ? o.color.toLowerCase().padStart(6, '0') : '000000';
  return {
    name: typeof o.name === 'string' ? unescapeHtml(o.name) : '',
    size: toInt(o.size) ?? 10,
    color,
    bold: toInt(style[0]) === 1,
    italic: toInt(style[1]) === 1,
    underline: toInt(style[2]) === 1,
  };
}

function isJunkText(text: string): boolean {
  // The observed garbage is " \u0000\n\u0000\u0000\u0000\u0000\u0002宋体\r": NULs followed by a font name.
  return text.includes('\u0000') && /宋体\r?\s*$/.test(text);
}

/** Received content array → typed items. Never throws; anything unrecognised is counted in `unknown`. */
export function parseContent(raw: unknown): ParsedContent {
  const out: ParsedContent = { items: [], junk: false, pictureStripped: false, unknown: 0 };
  if (typeof raw === 'string') raw = [raw];
  if (!Array.isArray(raw)) {
    out.unknown = 1;
    return out;
  }
  const n = Math.min(raw.length, MAX_CONTENT_ELEMENTS);
  if (raw.length > n) out.unknown += raw.length - n;
  let sawFont = false;
  for (let i = 0; i < n; i++) {
    const el: unknown = raw[i];
    if (typeof el === 'string') {
      if (el === '') continue; // SmartQQ 2018 sometimes appends "".
      const text = unescapeHtml(el);
      const last = out.items[out.items.length - 1];
      if (last && last.type === 'text') last.text += text;
      else out.items.push({ type: 'text', text });
      continue;
    }
    if (!Array.isArray(el) || typeof el[0] !== 'string') {
      out.unknown++;
      continue;
    }
    const tag = el[0];
    if (tag === 'font') {
      const f = parseFont(el[1]);
      if (f && !out.font) out.font = f;
      sawFont = true;
    } else if (tag === 'face') {
      const id = toInt(el[1]);
      if (id === undefined || id < 0) out.unknown++;
      else out.items.push({ type: 'face', id });
    } else if (tag === 'cface') {
      const v = el[1];
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        const o = v as Record<string, unknown>;
        if (typeof o.name !== 'string' || o.name === '') {
          out.unknown++;
          continue;
        }
        const item: ReceivedItem = { type: 'cface', scope: 'group', name: o.name };
        const fid = toInt(o.file_id);
        if (fid !== undefined) item.fileId = fid;
        if (typeof o.key === 'string') item.key = o.key;
        if (typeof o.server === 'string') item.server = o.server;
        out.items.push(item);
      } else if (typeof v === 'string' && v !== '') {
        // ["cface","group","<name>"] is the sent form; a server echoing it back still means a group picture.
        if (v === 'group' && typeof el[2] === 'string' && el[2] !== '') out.items.push({ type: 'cface', scope: 'group', name: el[2] });
        else out.items.push({ type: 'cface', scope: 'buddy', name: v });
      } else out.unknown++;
    } else if (tag === 'offpic') {
      const v = el[1];
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        const o = v as Record<string, unknown>;
        const fp = typeof o.file_path === 'string' ? o.file_path : undefined;
        if (!fp) {
          out.unknown++;
          continue;
        }
        out.items.push({ type: 'offpic', filePath: fp, success: toInt(o.success) === 1 });
      } else if (typeof v === 'string' && v !== '') {
        out.items.push({ type: 'offpic', filePath: v, success: true });
      } else out.unknown++;
    } else {
      out.unknown++;
    }
  }
  const text = out.items.map((it) => (it.type === 'text' ? it.text : '')).join('');
  out.junk = out.items.every((it) => it.type === 'text') && isJunkText(text);
  out.pictureStripped = sawFont && out.items.length === 0 && out.unknown === 0;
  return out;
}

/** Plain text of received items (faces and pictures left out). */
export function contentText(items: readonly ReceivedItem[]): string {
  return items.map((it) => (it.type === 'text' ? it.text : '')).join('');
}

function itemElement(it: OutgoingItem): unknown {
  switch (it.type) {
    case 'text':
      return it.text;
    case 'face':
      return ['face', it.id];
    case 'cface':
      return ['cface', 'group', it.name];
    case 'buddy-cface':
      return ['cface', it.name];
    case 'offpic':
      return ['offpic', it.filePath, it.fileName, it.fileSize];
  }
}

function buildArray(items: readonly OutgoingItem[]): unknown[] {
  const arr: unknown[] = [];
  for (const it of items) {
    if (it.type === 'text' && it.text === '') continue;
    const el = itemElement(it);
    // Adjacent strings are one text run for the server; merging keeps the array small.
    if (typeof el === 'string' && typeof arr[arr.length - 1] === 'string') arr[arr.length - 1] = (arr[arr.length - 1] as string) + el;
    else arr.push(el);
  }
  // The server wants at least one string element (lwqq; the seed's picture-only send carries "\n").
  if (!arr.some((e) => typeof e === 'string')) arr.push('\n');
  arr.push(['font', DEFAULT_FONT_OUT]);
  return arr;
}

/** Outgoing items → the `content` JSON string (font last, §4.2). */
export function encodeContent(items: readonly OutgoingItem[]): string {
  return JSON.stringify(buildArray(items));
}

/** UTF-8 length of the encoded `content` string. */
export function encodedBytes(items: readonly OutgoingItem[]): number {
  return Buffer.byteLength(encodeContent(items), 'utf8');
}

/** Bytes one character adds inside a JSON string literal (escapes included). */
function charBytes(ch: string): number {
  return Buffer.byteLength(JSON.stringify(ch), 'utf8') - 2;
}

const WHITESPACE = /\s/u;

/**
 * Split outgoing items into pieces whose encoded `content` is at most `maxBytes` UTF-8 bytes each
 * (≈720 bytes per message, §4.5). Text is cut on code-point boundaries (a surrogate pair is never
 * split); within the last 100 bytes of a piece the cut goes after the last whitespace, as pandolia
 * did. Nothing is lost: the pieces' texts concatenate to the original text.
 */
export function splitContent(items: readonly OutgoingItem[], maxBytes = 720): OutgoingItem[][] {
  const base = encodedBytes([]); // `["\n",[font]]`
  const emptyFixed = base - charBytes('\n') - 3; // `[` + `]` + font element, no string element
  if (emptyFixed + 16 > maxBytes) throw new RangeError(`maxBytes ${maxBytes} is too small for a WebQQ message`);
  const pieces: OutgoingItem[][] = [];
  let cur: OutgoingItem[] = [];

  const flush = () => {
    if (cur.length) pieces.push(cur);
    cur = [];
  };
  const fits = (candidate: OutgoingItem[]) => encodedBytes(candidate) <= maxBytes;

  for (const it of items) {
    if (it.type !== 'text') {
      if (fits([...cur, it])) {
        cur.push(it);
        continue;
      }
      flush();
      if (!fits([it])) throw new RangeError(`a single ${it.type} element does not fit in ${maxBytes} bytes`);
      cur.push(it);
      continue;
    }
    if (it.text === '') continue;
    const chars = Array.from(it.text); // code points: surrogate pairs stay together
    let i = 0;
    while (i < chars.length) {
      // Size of the current piece plus an (initially empty) text run appended to it.
      const prefix = cur;
      const last = prefix[prefix.length - 1];
      const mergesIntoText = last !== undefined && last.type === 'text';
      let size = encodedBytes(mergesIntoText ? prefix : [...prefix, { type: 'text', text: ' ' }]);
      if (!mergesIntoText) size -= 1; // the placeholder " " char
      let j = i;
      let lastWs = -1; // index (exclusive end) of a cut right after whitespace
      let lastWsSize = 0;
      while (j < chars.length) {
        const add = charBytes(chars[j]!);
        if (size + add > maxBytes) break;
        size += add;
        j++;
        if (WHITESPACE.test(chars[j - 1]!)) {
          lastWs = j;
          lastWsSize = size;
        }
      }
      if (j === chars.length) {
        const run = chars.slice(i).join('');
        if (mergesIntoText) (cur[cur.length - 1] as { type: 'text'; text: string }).text += run;
        else cur.push({ type: 'text', text: run });
        break;
      }
      if (j === i) {
        // Not even one character fits after the items already in this piece: start a new piece.
        if (cur.length === 0) throw new RangeError(`character U+${chars[i]!.codePointAt(0)!.toString(16)} does not fit in ${maxBytes} bytes`);
        flush();
        continue;
      }
      let end = j;
      if (lastWs > i && lastWsSize >= maxBytes - 100) end = lastWs;
      const run = chars.slice(i, end).join('');
      if (mergesIntoText) (cur[cur.length - 1] as { type: 'text'; text: string }).text += run;
      else cur.push({ type: 'text', text: run });
      flush();
      i = end;
    }
  }
  flush();
  return pieces;
}
