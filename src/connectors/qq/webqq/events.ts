/**
 * poll2 body → typed events (protocol reference §3). Pure: never throws, whatever the body.
 *
 * Session ids (`uin`, `gid`, `did`) are per login; the client fills the optional `groupNumber`,
 * `senderQq` and `senderName` fields afterwards from its contact tables.
 */
import { parseContent, type ParsedContent } from './content.js';

interface EventBase {
  /** The raw poll_type. */
  pollType: string;
  msgId: number;
  /** Unix seconds (0 when the server sent none). */
  time: number;
  fromUin: number;
  toUin: number;
}

export interface BuddyMessageEvent extends EventBase {
  type: 'message';
  content: ParsedContent;
  senderQq?: number;
  senderName?: string;
}

export interface GroupMessageEvent extends EventBase {
  type: 'group_message';
  /** = from_uin. */
  gid: number;
  groupCode: number;
  sendUin: number;
  seq?: number;
  /** Era A: the real group number. */
  infoSeq?: number;
  content: ParsedContent;
  groupNumber?: number;
  groupName?: string;
  senderQq?: number;
  senderName?: string;
}

export interface DiscussionMessageEvent extends EventBase {
  type: 'discu_message';
  did: number;
  sendUin: number;
  seq?: number;
  infoSeq?: number;
  content: ParsedContent;
  discussionName?: string;
  senderQq?: number;
  senderName?: string;
}

export interface SessMessageEvent extends EventBase {
  type: 'sess_message';
  /** gid or did the temporary chat started from. */
  id: number;
  ruin?: number;
  serviceType: 0 | 1;
  content: ParsedContent;
  senderQq?: number;
  senderName?: string;
}

export interface StatusChangeEvent extends EventBase {
  type: 'buddies_status_change';
  uin: number;
  status: string;
  clientType?: number;
}

export interface KickEvent extends EventBase {
  type: 'kick_message';
  reason: string;
  showReason?: number;
}

export interface InputNotifyEvent extends EventBase {
  type: 'input_notify';
}

export interface ShakeEvent extends EventBase {
  type: 'shake_message';
}

export type GroupSystemType =
  | 'group_join'
  | 'group_leave'
  | 'group_request_join'
  | 'group_request_join_agree'
  | 'group_request_join_deny'
  | 'group_create'
  | 'other';

export interface GroupSystemEvent extends EventBase {
  type: 'sys_g_msg';
  subType: GroupSystemType;
  /** The raw `type` string. */
  rawType: string;
  gcode?: number;
  /** Real group number (Era A), when given. */
  tGcode?: number;
  newMember?: number;
  oldMember?: number;
  /** 2 = left by itself, 3 = kicked. */
  opType?: number;
  adminUin?: number;
  adminNick?: string;
  requestUin?: number;
  msg?: string;
  ownerUin?: number;
  groupNumber?: number;
  memberQq?: number;
}

export interface GroupWebMessageEvent extends EventBase {
  type: 'group_web_message';
  groupCode?: number;
  groupType?: number;
  sendUin?: number;
  xml: string;
}

export interface SystemMessageEvent extends EventBase {
  type: 'system_message';
  subType: string;
  msg?: string;
}

/** Known but uninteresting notifications (buddylist_change, file_message, tips, …). */
export interface OtherEvent extends EventBase {
  type: 'other';
  value: Record<string, unknown>;
}

export type QqEvent =
  | BuddyMessageEvent
  | GroupMessageEvent
  | DiscussionMessageEvent
  | SessMessageEvent
  | StatusChangeEvent
  | KickEvent
  | InputNotifyEvent
  | ShakeEvent
  | GroupSystemEvent
  | GroupWebMessageEvent
  | SystemMessageEvent
  | OtherEvent;

export interface EventWarning {
  index: number;
  pollType?: string;
  reason: string;
}

export type PollParse =
  | { kind: 'events'; events: QqEvent[]; warnings: EventWarning[]; skipped: number }
  | { kind: 'retcode'; retcode: number; p?: string; t?: string; errmsg?: string }
  | { kind: 'malformed'; reason: string };

/** Hard bounds against hostile bodies. */
export const MAX_EVENTS_PER_BATCH = 20_000;
const MAX_WARNINGS = 50;

const OTHER_POLL_TYPES = new Set([
  'buddylist_change', 'file_message', 'push_offfile', 'notify_offfile', 'filesrv_transfer', 'tips',
  'av_request', 'av_refuse', 'shutdown_notify', 'group_msg_ver',
]);

const GROUP_SYSTEM_TYPES = new Set<GroupSystemType>([
  'group_join', 'group_leave', 'group_request_join', 'group_request_join_agree', 'group_request_join_deny', 'group_create',
]);

class BadEvent extends Error {}

function int(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v);
  if (typeof v === 'string' && /^\s*-?\d{1,20}\s*$/.test(v)) return Number(v);
  return undefined;
}

function need(o: Record<string, unknown>, key: string): number {
  const n = int(o[key]);
  if (n === undefined) throw new BadEvent(`${key} missing or not a number`);
  return n;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function setIf<T extends object, K extends keyof T>(obj: T, key: K, v: T[K] | undefined): void {
  if (v !== undefined) obj[key] = v;
}

function parseOne(pollType: string, v: Record<string, unknown>): QqEvent | undefined {
  const base = (msgIdRequired: boolean): EventBase => ({
    pollType,
    msgId: msgIdRequired ? need(v, 'msg_id') : int(v.msg_id) ?? 0,
    time: int(v.time) ?? 0,
    fromUin: int(v.from_uin) ?? 0,
    toUin: int(v.to_uin) ?? 0,
  });
  const content = () => {
    if (!Array.isArray(v.content) && typeof v.content !== 'string') throw new BadEvent('content missing or not an array');
    return parseContent(v.content);
  };
  switch (pollType) {
    case 'message': {
      const b = base(true);
      if (!b.fromUin) throw new BadEvent('from_uin missing');
      return { ...b, type: 'message', content: content() };
    }
    case 'group_message': {
      const b = base(true);
      const gid = need(v, 'from_uin');
      const e: GroupMessageEvent = {
        ...b, type: 'group_message', gid, groupCode: int(v.group_code) ?? gid, sendUin: need(v, 'send_uin'), content: content(),
      };
      setIf(e, 'seq', int(v.seq));
      setIf(e, 'infoSeq', int(v.info_seq));
      return e;
    }
    case 'discu_message': {
      const b = base(true);
      const e: DiscussionMessageEvent = { ...b, type: 'discu_message', did: need(v, 'did'), sendUin: need(v, 'send_uin'), content: content() };
      setIf(e, 'seq', int(v.seq));
      setIf(e, 'infoSeq', int(v.info_seq));
      return e;
    }
    case 'sess_message': {
      const b = base(true);
      const e: SessMessageEvent = {
        ...b, type: 'sess_message', id: int(v.id) ?? 0, serviceType: int(v.service_type) === 1 ? 1 : 0, content: content(),
      };
      if (!b.fromUin) throw new BadEvent('from_uin missing');
      setIf(e, 'ruin', int(v.ruin));
      return e;
    }
    case 'buddies_status_change': {
      const e: StatusChangeEvent = {
        ...base(false), type: 'buddies_status_change', uin: need(v, 'uin'), status: str(v.status) ?? 'unknown',
      };
      setIf(e, 'clientType', int(v.client_type));
      return e;
    }
    case 'kick_message': {
      const e: KickEvent = { ...base(false), type: 'kick_message', reason: str(v.reason) ?? '' };
      setIf(e, 'showReason', int(v.show_reason));
      return e;
    }
    case 'input_notify':
      return { ...base(false), type: 'input_notify' };
    case 'shake_message':
      return { ...base(false), type: 'shake_message' };
    case 'sys_g_msg': {
      const rawType = str(v.type) ?? '';
      const e: GroupSystemEvent = {
        ...base(false),
        type: 'sys_g_msg',
        rawType,
        subType: GROUP_SYSTEM_TYPES.has(rawType as GroupSystemType) ? (rawType as GroupSystemType) : 'other',
      };
      setIf(e, 'gcode', int(v.gcode));
      setIf(e, 'tGcode', int(v.t_gcode));
      setIf(e, 'newMember', int(v.new_member));
      setIf(e, 'oldMember', int(v.old_member));
      setIf(e, 'opType', int(v.op_type));
      setIf(e, 'adminUin', int(v.admin_uin));
      setIf(e, 'adminNick', str(v.admin_nick));
      setIf(e, 'requestUin', int(v.request_uin));
      setIf(e, 'msg', str(v.msg));
      setIf(e, 'ownerUin', int(v.owner_uin));
      if (e.subType === 'group_join' && e.newMember === undefined) throw new BadEvent('group_join without new_member');
      if (e.subType === 'group_leave' && e.oldMember === undefined) throw new BadEvent('group_leave without old_member');
      return e;
    }
    case 'group_web_message': {
      const e: GroupWebMessageEvent = { ...base(false), type: 'group_web_message', xml: str(v.xml) ?? '' };
      setIf(e, 'groupCode', int(v.group_code));
      setIf(e, 'groupType', int(v.group_type));
      setIf(e, 'sendUin', int(v.send_uin));
      return e;
    }
    case 'system_message': {
      const e: SystemMessageEvent = { ...base(false), type: 'system_message', subType: str(v.type) ?? '' };
      setIf(e, 'msg', str(v.msg));
      return e;
    }
    default:
      if (OTHER_POLL_TYPES.has(pollType)) return { ...base(false), type: 'other', value: v };
      return undefined;
  }
}

/** Sort key: events without a time go last, keeping their relative order (Array.sort is stable). */
function sortEvents(events: QqEvent[]): void {
  const t = (e: QqEvent) => (e.time > 0 ? e.time : Number.MAX_SAFE_INTEGER);
  events.sort((a, b) => t(a) - t(b) || (a.time > 0 && b.time > 0 ? a.msgId - b.msgId : 0));
}

/**
 * Parse a poll2 response body (text or already-parsed JSON). Every element of `result` is read;
 * a bad or unknown element becomes a warning and the rest of the batch is still delivered.
 */
export function parsePollBody(body: string | unknown): PollParse {
  let json: unknown = body;
  if (typeof body === 'string') {
    const trimmed = body.trim();
    if (trimmed === '') return { kind: 'malformed', reason: 'empty body' };
    try {
      json = JSON.parse(trimmed);
    } catch {
      return { kind: 'malformed', reason: `not JSON: ${JSON.stringify(trimmed.slice(0, 80))}` };
    }
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) return { kind: 'malformed', reason: 'body is not a JSON object' };
  const o = json as Record<string, unknown>;
  const retcode = int(o.retcode);
  if (retcode === undefined) return { kind: 'malformed', reason: 'no numeric retcode' };
  if (retcode !== 0) {
    const r: PollParse = { kind: 'retcode', retcode };
    if (typeof o.p === 'string') r.p = o.p;
    // Only scalars: String() of an object from JSON (`{"toString":""}`) would throw.
    if (typeof o.t === 'string' || typeof o.t === 'number' || typeof o.t === 'boolean') r.t = String(o.t);
    if (typeof o.errmsg === 'string') r.errmsg = o.errmsg;
    return r;
  }
  if (!Array.isArray(o.result)) {
    // {"retcode":0,"retmsg":"ok","errmsg":"error"} is an error in disguise (§3.1).
    return { kind: 'malformed', reason: `retcode 0 without a result array${typeof o.errmsg === 'string' ? ` (errmsg ${JSON.stringify(o.errmsg)})` : ''}` };
  }
  const list = o.result as unknown[];
  const events: QqEvent[] = [];
  const warnings: EventWarning[] = [];
  let skipped = 0;
  const warn = (w: EventWarning) => {
    skipped++;
    if (warnings.length < MAX_WARNINGS) warnings.push(w);
  };
  const n = Math.min(list.length, MAX_EVENTS_PER_BATCH);
  for (let i = 0; i < n; i++) {
    const el = list[i];
    if (!el || typeof el !== 'object' || Array.isArray(el)) {
      warn({ index: i, reason: 'event is not an object' });
      continue;
    }
    const ev = el as Record<string, unknown>;
    const pollType = typeof ev.poll_type === 'string' ? ev.poll_type : undefined;
    if (!pollType) {
      warn({ index: i, reason: 'poll_type missing' });
      continue;
    }
    const value = ev.value;
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      warn({ index: i, pollType, reason: 'value missing or not an object' });
      continue;
    }
    try {
      const parsed = parseOne(pollType, value as Record<string, unknown>);
      if (parsed) events.push(parsed);
      else warn({ index: i, pollType, reason: 'unknown poll_type' });
    } catch (e) {
      warn({ index: i, pollType, reason: e instanceof BadEvent ? e.message : String(e) });
    }
  }
  if (list.length > n) {
    skipped += list.length - n;
    if (warnings.length < MAX_WARNINGS) warnings.push({ index: n, reason: `batch truncated: ${list.length - n} events over the ${MAX_EVENTS_PER_BATCH} limit` });
  }
  sortEvents(events);
  return { kind: 'events', events, warnings, skipped };
}

/** Dedupe key per §5.4: (poll_type, from_uin, msg_id). Events without a msg_id are never deduped. */
export function dedupeKey(e: QqEvent): string | undefined {
  if (!e.msgId) return undefined;
  return `${e.pollType}:${e.fromUin}:${e.msgId}`;
}

/** Remembers the last `capacity` keys (insertion order), so re-delivered events are dropped. */
export class EventDeduper {
  private readonly keys = new Set<string>();
  constructor(private readonly capacity = 5000) {}

  /** Returns the events not seen before, and remembers them. */
  filter(events: readonly QqEvent[]): QqEvent[] {
    const out: QqEvent[] = [];
    for (const e of events) {
      const k = dedupeKey(e);
      if (k === undefined) {
        out.push(e);
        continue;
      }
      if (this.keys.has(k)) continue;
      this.keys.add(k);
      if (this.keys.size > this.capacity) {
        const oldest = this.keys.values().next().value;
        if (oldest !== undefined) this.keys.delete(oldest);
      }
      out.push(e);
    }
    return out;
  }

  get size(): number {
    return this.keys.size;
  }
}
