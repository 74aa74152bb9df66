/**
 * The protocol's own zod schemas (@saltify/milky-types), flattened into one endpoint table, and
 * the few checks the package does not make. Shared by the client and the simulator.
 *
 * Where the package falls short (see docs/qq-milky.md):
 * - `IncomingSegment` ends in `.catch()`: an unknown segment silently becomes the text
 *   "[unknown]"; `unknownSegments()` finds them first so they can be reported.
 * - `Event` has no fallback: one unknown `event_type` fails the whole parse; `eventType()`
 *   tells an unknown type from a malformed known one.
 * - `get_history_messages.limit` is only `nonnegative()`; the spec's "at most 30" is text.
 * - objects are not strict, so unknown keys in parameters are dropped rather than refused.
 */
import { z } from 'zod';
import { zodApiCategories, IncomingSegment } from '@saltify/milky-types';

type Cats = typeof zodApiCategories;
export type MilkyApiTable = Cats['system']['apis'] & Cats['message']['apis'] & Cats['friend']['apis'] & Cats['group']['apis'] & Cats['file']['apis'];
export type MilkyEndpoint = keyof MilkyApiTable;

export const MILKY_APIS: MilkyApiTable = Object.assign({}, ...Object.values(zodApiCategories).map((c) => c.apis)) as MilkyApiTable;

type Req<E extends MilkyEndpoint> = MilkyApiTable[E]['requestSchema'];
type Res<E extends MilkyEndpoint> = MilkyApiTable[E]['responseSchema'];
/** Parameters as the caller writes them (defaults optional). */
export type MilkyInput<E extends MilkyEndpoint> = Req<E> extends z.ZodType ? z.input<Req<E>> : Record<string, never>;
/** Data as the implementation answers it, after the schema's transforms. */
export type MilkyOutput<E extends MilkyEndpoint> = Res<E> extends z.ZodType ? z.output<Res<E>> : Record<string, never>;

export function isMilkyEndpoint(name: string): name is MilkyEndpoint {
  return Object.prototype.hasOwnProperty.call(MILKY_APIS, name);
}

/** The spec: "期望获取到的消息数量，最多 30 条". */
export const HISTORY_LIMIT_MAX = 30;

const SEGMENT_TYPES = new Set(
  (IncomingSegment as unknown as { def: { innerType: { options: Array<{ shape: { type: { value: string } } }> } } }).def.innerType.options.map(
    (o) => o.shape.type.value,
  ),
);
const EVENT_TYPES = new Set(['bot_offline', 'message_receive', 'message_recall', 'peer_pin_change', 'friend_request', 'group_join_request', 'group_invited_join_request', 'group_invitation', 'friend_nudge', 'friend_file_upload', 'group_admin_change', 'group_essence_message_change', 'group_member_increase', 'group_member_decrease', 'group_name_change', 'group_message_reaction', 'group_mute', 'group_whole_mute', 'group_nudge', 'group_file_upload']);

export function isKnownSegmentType(t: unknown): boolean {
  return typeof t === 'string' && SEGMENT_TYPES.has(t);
}
export function isKnownEventType(t: unknown): boolean {
  return typeof t === 'string' && EVENT_TYPES.has(t);
}

/** Types of the segments (at any depth of replies) the package would turn into "[unknown]". */
export function unknownSegments(segments: unknown): string[] {
  const out: string[] = [];
  const walk = (list: unknown) => {
    if (!Array.isArray(list)) return;
    for (const s of list) {
      const t = (s as { type?: unknown } | null)?.type;
      if (!isKnownSegmentType(t)) out.push(typeof t === 'string' ? t : JSON.stringify(t));
      else if (t === 'reply') walk((s as { data?: { segments?: unknown } }).data?.segments);
    }
  };
  walk(segments);
  return out;
}

/** `file://` URIs in outgoing segments: the implementation may run elsewhere, so we never send them. */
export function fileUris(segments: unknown): string[] {
  const out: string[] = [];
  const walk = (list: unknown) => {
    if (!Array.isArray(list)) return;
    for (const s of list as Array<{ type?: unknown; data?: Record<string, unknown> }>) {
      for (const k of ['uri', 'thumb_uri']) {
        const v = s?.data?.[k];
        if (typeof v === 'string' && /^file:/i.test(v)) out.push(v);
      }
      if (s?.type === 'forward') for (const m of (s.data?.messages as Array<{ segments?: unknown }> | undefined) ?? []) walk(m?.segments);
    }
  };
  walk(segments);
  return out;
}
