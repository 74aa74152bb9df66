/**
 * OneBot v11 message segments (onebot-11 message/array.md, message/string.md): the array format,
 * and the CQ-code string format with its escapes. Pure; never throws on what a peer sends.
 *
 * CQ escapes: in text `&` `[` `]` are `&amp;` `&#91;` `&#93;`; inside a CQ code's values `,` is
 * `&#44;` as well.
 */

export interface Segment {
  type: string;
  data: Record<string, unknown>;
}

/** Longest CQ string parsed; the rest is kept as text (a hostile 100 MB string must stay cheap). */
const MAX_CQ_LENGTH = 1_000_000;
/** Most segments taken from one message. */
export const MAX_SEGMENTS = 2000;

export function escapeCqText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/\[/g, '&#91;').replace(/\]/g, '&#93;');
}

export function escapeCqValue(s: string): string {
  return escapeCqText(s).replace(/,/g, '&#44;');
}

export function unescapeCq(s: string): string {
  return s.replace(/&#91;/g, '[').replace(/&#93;/g, ']').replace(/&#44;/g, ',').replace(/&amp;/g, '&');
}

/** `[CQ:face,id=14]hello` → segments. Malformed codes are text, as implementations treat them. */
export function parseCqString(input: string): Segment[] {
  const s = input.length > MAX_CQ_LENGTH ? input.slice(0, MAX_CQ_LENGTH) : input;
  const out: Segment[] = [];
  const pushText = (raw: string) => {
    if (!raw) return;
    const text = unescapeCq(raw);
    const last = out[out.length - 1];
    if (last && last.type === 'text') last.data.text = String(last.data.text) + text;
    else out.push({ type: 'text', data: { text } });
  };
  let i = 0;
  while (i < s.length && out.length < MAX_SEGMENTS) {
    const open = s.indexOf('[CQ:', i);
    if (open < 0) {
      pushText(s.slice(i));
      break;
    }
    const close = s.indexOf(']', open);
    if (close < 0) {
      pushText(s.slice(i));
      break;
    }
    pushText(s.slice(i, open));
    const body = s.slice(open + 4, close);
    const seg = parseCqCode(body);
    if (seg) out.push(seg);
    else pushText(s.slice(open, close + 1));
    i = close + 1;
  }
  return out;
}

function parseCqCode(body: string): Segment | undefined {
  const fields = body.split(',');
  const type = fields[0]!;
  if (!/^[A-Za-z_][\w.-]*$/.test(type)) return undefined;
  const data: Record<string, unknown> = {};
  for (const f of fields.slice(1)) {
    const eq = f.indexOf('=');
    if (eq <= 0) return undefined;
    data[f.slice(0, eq)] = unescapeCq(f.slice(eq + 1));
  }
  return { type, data };
}

/** Segments → CQ string (for logs and the simulator's string format). */
export function toCqString(segments: readonly Segment[]): string {
  return segments
    .map((seg) => {
      if (seg.type === 'text') return escapeCqText(String(seg.data.text ?? ''));
      const params = Object.entries(seg.data)
        .filter(([, v]) => v !== undefined && v !== null)
        .map(([k, v]) => `,${k}=${escapeCqValue(typeof v === 'object' ? JSON.stringify(v) : String(v))}`)
        .join('');
      return `[CQ:${seg.type}${params}]`;
    })
    .join('');
}

/**
 * A `message` field as a peer sent it: an array of segments, one segment object, or a CQ string.
 * Anything else is an empty message with a reason; malformed segments are dropped with a reason.
 */
export function normalizeMessage(message: unknown): { segments: Segment[]; problems: string[] } {
  const problems: string[] = [];
  if (typeof message === 'string') return { segments: parseCqString(message), problems };
  const list = Array.isArray(message) ? message : message && typeof message === 'object' ? [message] : undefined;
  if (!list) return { segments: [], problems: [`message is ${message === null ? 'null' : typeof message}, not segments`] };
  const segments: Segment[] = [];
  for (const raw of list.slice(0, MAX_SEGMENTS)) {
    const seg = raw as { type?: unknown; data?: unknown };
    if (!seg || typeof seg !== 'object' || typeof seg.type !== 'string' || seg.type === '') {
      problems.push('a segment without a type');
      continue;
    }
    const data = seg.data && typeof seg.data === 'object' && !Array.isArray(seg.data) ? (seg.data as Record<string, unknown>) : {};
    segments.push({ type: seg.type, data });
  }
  if (list.length > MAX_SEGMENTS) problems.push(`${list.length - MAX_SEGMENTS} segments past the limit of ${MAX_SEGMENTS} dropped`);
  return { segments, problems };
}

/** A segment value that may arrive as a number or a numeric string (`"qq": "12345"`). */
export function numberField(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) return Number(v);
  return undefined;
}

export function stringField(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}
