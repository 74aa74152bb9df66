/**
 * What the OneBot simulator checks in every action, as strictly as the specification
 * (onebot-11 api/public.md, message/segment.md). A problem is a violation (listed by the control
 * API) and the action fails with retcode 1400, as implementations answer a bad request.
 */
import { parseCqString, type Segment } from '../segments.js';

/** Segment types and the data keys each must carry (send direction). */
const SEND_SEGMENTS: Record<string, { required: string[]; check?(d: Record<string, unknown>): string | undefined }> = {
  text: { required: ['text'], check: (d) => (typeof d.text === 'string' ? undefined : 'text.text must be a string') },
  face: { required: ['id'], check: (d) => (/^\d{1,6}$/.test(String(d.id)) ? undefined : 'face.id must be a numeric id') },
  at: { required: ['qq'], check: (d) => (d.qq === 'all' || /^\d{5,12}$/.test(String(d.qq)) ? undefined : 'at.qq must be a QQ number or "all"') },
  reply: { required: ['id'], check: (d) => (/^-?\d{1,11}$/.test(String(d.id)) ? undefined : 'reply.id must be a message id') },
  image: { required: ['file'], check: (d) => mediaFile(d.file, 'image') },
  record: { required: ['file'], check: (d) => mediaFile(d.file, 'record') },
  video: { required: ['file'], check: (d) => mediaFile(d.file, 'video') },
};

function mediaFile(file: unknown, type: string): string | undefined {
  if (typeof file !== 'string') return `${type}.file must be a string`;
  if (/^file:/i.test(file)) return `${type}.file is a file:// path (the implementation may run on another machine: send base64://)`;
  if (/^base64:\/\//.test(file)) return /^base64:\/\/[A-Za-z0-9+/]+={0,2}$/.test(file) && file.length > 9 ? undefined : `${type}.file is not valid base64`;
  if (/^https?:\/\//i.test(file)) return undefined;
  return `${type}.file must be base64:// or an http(s) URL`;
}

/** Checks a `message` param; returns the segments (CQ strings parsed unless auto_escape) and problems. */
export function checkMessage(message: unknown, autoEscape: unknown): { segments: Segment[]; problems: string[] } {
  const problems: string[] = [];
  if (typeof message === 'string') {
    if (autoEscape !== undefined && typeof autoEscape !== 'boolean') problems.push('auto_escape must be a boolean');
    const segments = autoEscape === true ? [{ type: 'text', data: { text: message } }] : parseCqString(message);
    for (const s of segments) problems.push(...checkSegment(s));
    return { segments, problems };
  }
  if (!Array.isArray(message)) return { segments: [], problems: ['message must be an array of segments or a CQ string'] };
  if (message.length === 0) problems.push('message is empty');
  const segments: Segment[] = [];
  let replies = 0;
  for (const raw of message) {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
      problems.push('a segment is not an object');
      continue;
    }
    const r = raw as Record<string, unknown>;
    const extra = Object.keys(r).filter((k) => k !== 'type' && k !== 'data');
    if (extra.length) problems.push(`a segment has keys other than type and data: ${extra.join(', ')}`);
    if (typeof r.type !== 'string') {
      problems.push('a segment has no string type');
      continue;
    }
    if (!r.data || typeof r.data !== 'object' || Array.isArray(r.data)) {
      problems.push(`${r.type} segment: data must be an object`);
      continue;
    }
    const seg = { type: r.type, data: r.data as Record<string, unknown> };
    if (seg.type === 'reply') replies++;
    problems.push(...checkSegment(seg));
    segments.push(seg);
  }
  if (replies > 1) problems.push('more than one reply segment');
  if (replies === 1 && segments[0]?.type !== 'reply') problems.push('the reply segment must come first');
  return { segments, problems };
}

function checkSegment(seg: Segment): string[] {
  const spec = SEND_SEGMENTS[seg.type];
  if (!spec) return [`unknown or unsendable segment type "${seg.type}"`];
  const out: string[] = [];
  for (const k of spec.required) if (!(k in seg.data)) out.push(`${seg.type} segment: data.${k} is missing`);
  for (const [k, v] of Object.entries(seg.data)) if (v !== null && typeof v === 'object') out.push(`${seg.type} segment: data.${k} must be a scalar`);
  if (out.length === 0 && spec.check) {
    const p = spec.check(seg.data);
    if (p) out.push(p);
  }
  return out;
}

/** A param that must be an integer (group_id, user_id, message_id, count…). */
export function intParam(params: Record<string, unknown>, key: string, problems: string[], opts: { optional?: boolean } = {}): number | undefined {
  const v = params[key];
  if (v === undefined && opts.optional) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    problems.push(`${key} must be an integer number, got ${v === undefined ? 'nothing' : typeof v === 'string' ? `the string ${JSON.stringify(v).slice(0, 30)}` : typeof v}`);
    return undefined;
  }
  return v;
}
