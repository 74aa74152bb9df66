/**
 * Coalescing a backlog: when more than `coalesceAfter` messages wait for one group, consecutive
 * plain messages are joined into one QQ message, one line each (each keeps its sender prefix,
 * which the renderer already put in its text), up to QQ's length limit. A busy IRC channel then
 * costs the account a few sends instead of dozens.
 *
 * Meaning is kept: order never changes (batches are runs of consecutive entries); a message with
 * a picture, a file, a card, a reply or a mention goes alone (a reply quotes one message; a
 * picture may be answered on its own; an @ notifies its person of that line, not of a whole
 * backlog, and a reply to it answers that line); faces stay segments inside the joined message. Each batch lists the keys of the entries it carries, so the outbox can record which
 * entries one QQ message carried and resend exactly those.
 */

/** A part in QQ terms; only `text` parts are measured and joined. */
export interface CoalescePart {
  type: string;
  text?: string;
}

export interface CoalesceEntry<P extends CoalescePart = CoalescePart> {
  /** The outbox entry (its idempotency key or seq). */
  key: string;
  parts: readonly P[];
  /** A reply to another message: never joined. */
  reply?: boolean;
}

export interface Batch<P extends CoalescePart = CoalescePart> {
  keys: string[];
  parts: P[];
}

export interface CoalesceOptions {
  /** More than this many waiting → join; 0 turns coalescing off. */
  coalesceAfter: number;
  /** QQ's length limit for one message, in `measure` units. */
  maxLength: number;
  /** Length of a text (default: UTF-16 code units; WebQQ measures UTF-8 bytes). */
  measure?: (text: string) => number;
}

/** Parts that read inline in a line of text. */
const INLINE = new Set(['text', 'face']);

export function joinable(e: CoalesceEntry): boolean {
  return !e.reply && e.parts.length > 0 && e.parts.every((p) => INLINE.has(p.type));
}

function textLength(parts: readonly CoalescePart[], measure: (t: string) => number): number {
  let n = 0;
  // A face renders as a short code — count a few units for it so the limit holds with margin.
  for (const p of parts) n += p.type === 'text' ? measure(p.text ?? '') : 16;
  return n;
}

/**
 * Splits the waiting entries of one group (in queue order) into batches, each one QQ message.
 * Pure. The first batch is what goes next; callers usually send it and plan again.
 */
export function planBatches<P extends CoalescePart>(entries: readonly CoalesceEntry<P>[], opts: CoalesceOptions): Batch<P>[] {
  const measure = opts.measure ?? ((t: string) => t.length);
  const single = (e: CoalesceEntry<P>): Batch<P> => ({ keys: [e.key], parts: [...e.parts] });
  if (opts.coalesceAfter <= 0 || entries.length <= opts.coalesceAfter) return entries.map(single);
  const out: Batch<P>[] = [];
  let run: { keys: string[]; parts: P[]; length: number } | undefined;
  const flush = () => {
    if (run) out.push({ keys: run.keys, parts: run.parts });
    run = undefined;
  };
  for (const e of entries) {
    if (!joinable(e)) {
      flush();
      out.push(single(e));
      continue;
    }
    const len = textLength(e.parts, measure);
    // One line separator between entries.
    if (run && run.length + 1 + len <= opts.maxLength) {
      run.parts.push({ type: 'text', text: '\n' } as P, ...e.parts);
      run.keys.push(e.key);
      run.length += 1 + len;
      continue;
    }
    flush();
    run = { keys: [e.key], parts: [...e.parts], length: len };
  }
  flush();
  return out.map((b) => ({ keys: b.keys, parts: mergeText(b.parts) }));
}

/** Adjacent text parts become one (fewer segments on the wire). */
function mergeText<P extends CoalescePart>(parts: P[]): P[] {
  const out: P[] = [];
  for (const p of parts) {
    const last = out[out.length - 1];
    if (p.type === 'text' && last?.type === 'text') out[out.length - 1] = { ...last, text: (last.text ?? '') + (p.text ?? '') };
    else out.push(p);
  }
  return out;
}
