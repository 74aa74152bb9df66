/**
 * What the Milky simulator knows: the shared simulator world (groups, members, cards), message
 * seqs per group with their history, resources behind temp URLs that expire, and the records tests
 * read (sends decoded, protocol violations). Transport-free: server.ts puts it on the wire.
 */
import { randomBytes } from 'node:crypto';
import type { World, WorldAccount, WorldGroup } from '../../../../simulator/world.js';
import { nickOf } from '../../../../simulator/world.js';

export type Json = Record<string, unknown>;
export interface SimMessage {
  seq: number;
  time: number;
  sender: number;
  segments: Json[];
}
export interface SentRecord {
  group: number;
  message_seq: number;
  segments: Json[];
  /** The message as a person in QQ would read it: text, @mentions, [face:id], [image mime N bytes], [reply:seq]. */
  text: string;
  /** When the implementation accepted it (ms since the epoch). */
  at: number;
}
/** Every send_group_message that reached the simulator, with what became of it. */
export interface SendAttempt {
  at: number;
  outcome: 'accepted' | 'refused' | 'offline' | 'failed';
}
export interface Violation {
  endpoint: string;
  kind: 'schema' | 'file_uri' | 'limit_out_of_range' | 'not_json' | 'content_type';
  detail: string;
}
export interface Fault {
  endpoint: string;
  retcode: number;
  remaining: number;
}

const now = () => Math.floor(Date.now() / 1000);
/** How long a plain member may recall its own message (QQ's two minutes). */
const RECALL_WINDOW_S = 120;

export class MilkySimState {
  readonly self: WorldAccount;
  private readonly seqs = new Map<number, number>();
  private readonly history = new Map<number, Map<number, SimMessage>>();
  private readonly resources = new Map<string, { data: Buffer; mime: string }>();
  private readonly temp = new Map<string, { resourceId: string; expiresAt: number }>();
  readonly sent: SentRecord[] = [];
  /** Messages the client recalled (recall_group_message answered ok), in order. */
  readonly recalls: Array<{ group: number; message_seq: number; sender: number }> = [];
  /** Group files: file_id → where its bytes are. */
  readonly files = new Map<string, { group: number; resourceId: string; name: string; size: number }>();
  /** forward_id → the forwarded messages (IncomingForwardedMessage), set by the control API. */
  readonly forwards = new Map<string, Json[]>();
  readonly violations: Violation[] = [];
  faults: Fault[] = [];
  offline = false;
  /** `group:qq` of the members made admins (the world names only owners). */
  readonly admins = new Set<string>();
  /** Until then QQ refuses the account's group messages (risk control): see server.ts. */
  refusingUntil = 0;
  readonly attempts: SendAttempt[] = [];
  /** Set by server.ts: the base URL temp links point at. */
  baseUrl = '';

  constructor(readonly world: World, readonly opts: { tempUrlTtlMs: number }) {
    this.self = world.accounts[0]!;
  }

  group(n: number): WorldGroup | undefined {
    return this.world.groups.find((g) => g.number === n && g.members.some((m) => m.qq === this.self.qq));
  }

  groupEntity(g: WorldGroup): Json {
    return { group_id: g.number, group_name: g.name, member_count: g.members.length, max_member_count: 500, remark: '', created_time: 1_500_000_000, description: '', question: '', announcement: '' };
  }

  memberEntity(g: WorldGroup, qq: number): Json {
    const m = g.members.find((x) => x.qq === qq);
    return {
      user_id: qq, nickname: nickOf(this.world, qq), sex: 'unknown', group_id: g.number, card: m?.card ?? '', title: '', level: 1,
      role: this.roleOf(g, qq), join_time: 1_500_000_000, last_sent_time: 0,
    };
  }

  roleOf(g: WorldGroup, qq: number): 'owner' | 'admin' | 'member' {
    if (g.owner === qq) return 'owner';
    return this.admins.has(`${g.number}:${qq}`) ? 'admin' : 'member';
  }

  /**
   * Why the account may not recall `m`, as QQ decides: its own message within two minutes, any
   * time as owner or admin; another member's only when it outranks them (owner > admin > member).
   */
  recallRefusal(g: WorldGroup, m: SimMessage): string | undefined {
    const rank = { member: 0, admin: 1, owner: 2 } as const;
    const mine = rank[this.roleOf(g, this.self.qq)];
    if (m.sender === this.self.qq) return mine === 0 && now() - m.time > RECALL_WINDOW_S ? 'the message is too old to recall' : undefined;
    return mine <= rank[this.roleOf(g, m.sender)] ? 'no permission to recall this member\'s message' : undefined;
  }

  /** Stores bytes and returns the resource id; temp URLs to it are made per message and per call. */
  addResource(data: Buffer, mime: string): string {
    const id = randomBytes(12).toString('hex');
    this.resources.set(id, { data, mime });
    return id;
  }

  tempUrl(resourceId: string): string {
    const token = randomBytes(16).toString('hex');
    this.temp.set(token, { resourceId, expiresAt: Date.now() + this.opts.tempUrlTtlMs });
    return `${this.baseUrl}/res/${token}`;
  }

  hasResource(id: string): boolean {
    return this.resources.has(id);
  }

  /** A temp URL's bytes, or undefined once it expired (the real CDN refuses old links too). */
  fetchTemp(token: string): { data: Buffer; mime: string } | undefined {
    const t = this.temp.get(token);
    if (!t || t.expiresAt < Date.now()) return undefined;
    return this.resources.get(t.resourceId);
  }

  /** Appends a message to a group's history with the group's next seq. */
  record(group: number, sender: number, segments: Json[]): SimMessage {
    const seq = (this.seqs.get(group) ?? 1000) + 1;
    this.seqs.set(group, seq);
    const m: SimMessage = { seq, time: now(), sender, segments };
    let h = this.history.get(group);
    if (!h) this.history.set(group, (h = new Map()));
    h.set(seq, m);
    return m;
  }

  message(group: number, seq: number): SimMessage | undefined {
    return this.history.get(group)?.get(seq);
  }

  /** Recalled messages leave the history: get_history_messages cannot return them. */
  recall(group: number, seq: number): SimMessage | undefined {
    const m = this.message(group, seq);
    this.history.get(group)?.delete(seq);
    return m;
  }

  newestSeq(group: number): number | undefined {
    return this.seqs.get(group);
  }

  /** The wire form of a stored message, temp URLs freshly minted (they expire). */
  incoming(g: WorldGroup, m: SimMessage): Json {
    return {
      message_scene: 'group', peer_id: g.number, message_seq: m.seq, sender_id: m.sender, time: m.time,
      segments: m.segments.map((s) => this.withFreshUrls(s)),
      group: this.groupEntity(g), group_member: this.memberEntity(g, m.sender),
    };
  }

  private withFreshUrls(s: Json): Json {
    const d = s.data as Json;
    if (typeof d?.resource_id === 'string' && 'temp_url' in d) return { ...s, data: { ...d, temp_url: this.tempUrl(d.resource_id) } };
    return s;
  }

  /** The fault queued for this endpoint, if any (consumed). */
  takeFault(endpoint: string): Fault | undefined {
    const f = this.faults.find((x) => (x.endpoint === endpoint || x.endpoint === '*') && x.remaining > 0);
    if (f) f.remaining--;
    this.faults = this.faults.filter((x) => x.remaining > 0);
    return f;
  }
}
