/**
 * Contact tables for one login session: friends, groups with their members, discussions with
 * theirs, and the mapping from session ids (uin/gid/did, new at every login — §0.2, §5.6) to the
 * stable numbers the bridge keys on (QQ number, group number).
 *
 * A group's member list (get_group_info_ext2) is fetched when first needed — a message from the
 * group, a temporary session through it — and for every group in the background after the refresh,
 * a few at a time (WebQQ's own page loaded a group's members when it was opened). Accounts with few
 * groups load them all before the refresh returns.
 *
 * Group numbers come from get_friend_uin2 type 4; when that fails, from an `info_seq` seen in a
 * group message (WebQQ era: the real group number), then from a group-name match against numbers
 * learned earlier (kept across relogins). Member QQ numbers come from get_friend_uin2 type 1, or a
 * discussion's `ruin`.
 */
import type { Logger } from '../../../log.js';
import {
  getDiscuInfo, getDiscusList, getFriendUin, getGroupInfo, getGroupNameList, getUserFriends, RetcodeError,
  type ApiContext, type FriendInfo,
} from './api.js';
import { HASH_VERSIONS, listHash, type HashVersion } from './protocol-crypto.js';

/** Friend lists up to this size get their QQ numbers resolved at refresh. */
const FRIEND_EAGER_LIMIT = 50;

export interface GroupContact {
  gid: number;
  code: number;
  name: string;
  /** Real group number, once resolved. */
  number?: number;
  owner?: number;
  /** The group's memo, as of the last member-list fetch. */
  memo?: string;
  /** uin → member. Undefined until the member list was fetched. */
  members?: Map<number, { uin: number; nick: string; card?: string; qq?: number }>;
}

export interface DiscussionContact {
  did: number;
  name: string;
  owner?: number;
  members?: Map<number, { uin: number; nick: string; qq?: number }>;
}

export interface ContactsDeps {
  ctx(): ApiContext;
  log: Logger;
  /**
   * Up to this many groups, every member list is loaded before a group refresh returns; with more,
   * they load in the background after it (and any one on demand first). Default 20.
   */
  eagerMemberGroups?: number;
  /** The list-hash version that worked last (remembered in the session file). */
  hashVersion?: HashVersion;
  onHashVersion?(v: HashVersion): void;
}

/** Groups whose number (or, in an eager refresh, member list) is fetched at the same time. */
const GROUP_INFO_CONCURRENCY = 4;
/** Member lists fetched at the same time in the background, beside whatever the bridge is doing. */
const BACKGROUND_MEMBER_CONCURRENCY = 2;
const EAGER_MEMBER_GROUPS = 20;
/**
 * After a member list failed to load on demand, the next on-demand try waits this long: otherwise
 * every message of a busy group would ask again the endpoint that is refusing us. (Inbound's
 * re-read for an unknown sender holds off by the same rule.)
 */
export const MEMBER_RETRY_MS = 60_000;

/** Runs `fn` over `items` with at most `limit` calls in flight; rejects with the first error. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

export class Contacts {
  private friendsByUin = new Map<number, FriendInfo & { qq?: number }>();
  private groupsByGid = new Map<number, GroupContact>();
  private discussionsByDid = new Map<number, DiscussionContact>();
  /** uin → QQ number, for this session. */
  private qqOfUin = new Map<number, number>();
  /** Resolutions that failed, so one dead endpoint does not get hammered per message. */
  private failedUin = new Set<number>();
  private failedGid = new Set<number>();
  /** Group name → number, learned in any session (names are what survives a relogin). */
  private readonly numberByName = new Map<string, number>();
  /** Member-list fetches in flight, by gid: an on-demand load joins the background one. */
  private readonly membersLoading = new Map<number, Promise<GroupContact | undefined>>();
  /** When an on-demand member-list load last failed, by gid (see MEMBER_RETRY_MS). */
  private readonly membersFailedAt = new Map<number, number>();
  /** Numbers this session resolved before a restart (gid → name and number), used when the name still matches. */
  private remembered = new Map<number, { name: string; number: number }>();
  /** Bumped by reset() and stopLoading(): a background load of an older generation stops. */
  private generation = 0;
  private background: Promise<void> = Promise.resolve();
  hashVersion: HashVersion | undefined;

  constructor(private readonly deps: ContactsDeps) {
    this.hashVersion = deps.hashVersion;
  }

  /** Forget every session id (after a full relogin the server hands out new ones). */
  reset(): void {
    this.generation++;
    this.membersLoading.clear();
    this.membersFailedAt.clear();
    this.remembered.clear();
    for (const g of this.groupsByGid.values()) if (g.number !== undefined) this.numberByName.set(g.name, g.number);
    this.friendsByUin.clear();
    this.groupsByGid.clear();
    this.discussionsByDid.clear();
    this.qqOfUin.clear();
    this.failedUin.clear();
    this.failedGid.clear();
  }

  /**
   * Group numbers this same session resolved before (the session file): a relinked session keeps
   * its gids. Each is used only while the group still has the name it had then.
   */
  rememberNumbers(groups: readonly { gid: number; name: string; number: number }[]): void {
    this.remembered = new Map(groups.map((g) => [g.gid, { name: g.name, number: g.number }]));
  }

  /** What rememberNumbers() takes, for the session file. */
  resolvedNumbers(): { gid: number; name: string; number: number }[] {
    const out: { gid: number; name: string; number: number }[] = [];
    for (const g of this.groupsByGid.values()) if (g.number !== undefined) out.push({ gid: g.gid, name: g.name, number: g.number });
    return out;
  }

  /** Stops the background member loading (the client is stopping). */
  stopLoading(): Promise<void> {
    this.generation++;
    return this.background;
  }

  /** Settles when the background member loading started by the last group refresh is done. */
  membersLoaded(): Promise<void> {
    return this.background;
  }

  /** Friends, groups (with numbers; members per refreshGroups), discussions (with members). */
  async refreshAll(): Promise<void> {
    await this.refreshFriends();
    await this.refreshGroups();
    await this.refreshDiscussions();
  }

  /** Runs a list call with the hash versions in turn until one is not answered with retcode 50 (§2.13.1). */
  private async withHash<T>(call: (hash: string) => Promise<T>): Promise<T> {
    const ctx = this.deps.ctx();
    const order = this.hashVersion ? [this.hashVersion, ...HASH_VERSIONS.filter((v) => v !== this.hashVersion)] : [...HASH_VERSIONS];
    let last: unknown;
    for (const v of order) {
      try {
        const out = await call(listHash(v, ctx.session.uin, ctx.session.ptwebqq));
        if (this.hashVersion !== v) {
          this.hashVersion = v;
          this.deps.log.info({ hashVersion: v }, 'list hash version selected');
          this.deps.onHashVersion?.(v);
        }
        return out;
      } catch (e) {
        if (e instanceof RetcodeError && e.retcode === 50) {
          last = e;
          continue;
        }
        throw e;
      }
    }
    throw last;
  }

  async refreshFriends(): Promise<void> {
    const res = await this.withHash((h) => getUserFriends(this.deps.ctx(), h));
    const next = new Map<number, FriendInfo & { qq?: number }>();
    for (const f of res.friends) {
      const q = this.qqOfUin.get(f.uin);
      next.set(f.uin, q !== undefined ? { ...f, qq: q } : f);
    }
    this.friendsByUin = next;
    // A bot account has few friends: learn their QQ numbers now so friends() can show them.
    // Large lists resolve lazily (one get_friend_uin2 per friend would look like a flood).
    if (next.size <= FRIEND_EAGER_LIMIT) for (const f of next.values()) if (f.qq === undefined) await this.qqOf(f.uin);
  }

  async refreshGroups(): Promise<void> {
    const list = await this.withHash((h) => getGroupNameList(this.deps.ctx(), h));
    const next = new Map<number, GroupContact>();
    for (const g of list) {
      const old = this.groupsByGid.get(g.gid);
      const c: GroupContact = { gid: g.gid, code: g.code, name: g.name };
      const remembered = this.remembered.get(g.gid);
      if (old?.number !== undefined) c.number = old.number;
      else if (remembered?.name === g.name) c.number = remembered.number;
      if (old?.members) c.members = old.members;
      next.set(g.gid, c);
    }
    this.groupsByGid = next;
    // A few groups at a time: one after the other, 500 groups were 500 round trips in series;
    // a handful in flight is still far from a browser's own fan-out.
    const groups = [...next.values()];
    await eachLimited(groups, GROUP_INFO_CONCURRENCY, async (g) => void (await this.resolveGroupNumber(g.gid)));
    if (groups.length <= (this.deps.eagerMemberGroups ?? EAGER_MEMBER_GROUPS)) {
      await eachLimited(groups, GROUP_INFO_CONCURRENCY, (g) => this.loadMembersOrWarn(g, true));
      return;
    }
    const missing = groups.filter((g) => !g.members);
    // 500 member lists were half of a start-up's requests, and most groups are quiet: the
    // refresh returns now, the lists follow, and a group that speaks first has its list loaded first.
    const generation = this.generation;
    const previous = this.background;
    this.background = (async () => {
      await previous;
      await eachLimited(missing, BACKGROUND_MEMBER_CONCURRENCY, async (g) => {
        if (generation !== this.generation || this.groupsByGid.get(g.gid) !== g || g.members) return;
        await this.loadMembersOrWarn(g);
      });
      if (generation === this.generation) this.deps.log.debug({ groups: missing.length }, 'group member lists loaded');
    })();
  }

  private async loadMembersOrWarn(g: GroupContact, reread = false): Promise<void> {
    const generation = this.generation;
    try {
      await (reread ? this.refreshGroupInfo(g.gid) : this.ensureGroupMembers(g.gid, false));
    } catch (e) {
      if (generation === this.generation) this.deps.log.warn({ err: e, group: g.name }, 'group member list unavailable');
    }
  }

  /**
   * The group with its member list, fetched now (once, however many ask) when not loaded yet. On
   * demand (a message, a send, a memo), a failure holds further tries off for MEMBER_RETRY_MS and
   * the group comes back without members; the background pass is not held off.
   */
  async ensureGroupMembers(gid: number, onDemand = true): Promise<GroupContact | undefined> {
    const g = this.groupsByGid.get(gid);
    if (!g || g.members) return g;
    const failedAt = this.membersFailedAt.get(gid);
    if (onDemand && failedAt !== undefined && Date.now() - failedAt < MEMBER_RETRY_MS) return g;
    const loading = this.membersLoading.get(gid);
    if (loading) {
      await loading.catch(() => undefined);
      const now = this.groupsByGid.get(gid);
      if (!now || now.members) return now;
    }
    try {
      const loaded = await this.refreshGroupInfo(gid);
      this.membersFailedAt.delete(gid);
      return loaded;
    } catch (e) {
      if (onDemand) this.membersFailedAt.set(gid, Date.now());
      throw e;
    }
  }

  async refreshGroupInfo(gid: number): Promise<GroupContact | undefined> {
    const g = this.groupsByGid.get(gid);
    if (!g) return undefined;
    const loading = this.membersLoading.get(gid);
    if (loading) await loading.catch(() => undefined);
    const load = getGroupInfo(this.deps.ctx(), g.code).then((info) => {
      // A group-list refresh during the request replaced the entry: the answer is for both.
      const now = this.groupsByGid.get(gid);
      if (now && now !== g && now.code === g.code) this.applyGroupInfo(now, info);
      return this.applyGroupInfo(g, info);
    });
    this.membersLoading.set(gid, load);
    try {
      return await load;
    } finally {
      if (this.membersLoading.get(gid) === load) this.membersLoading.delete(gid);
    }
  }

  private applyGroupInfo(g: GroupContact, info: Awaited<ReturnType<typeof getGroupInfo>>): GroupContact {
    g.members = new Map(info.members.map((m) => [m.uin, { ...m, ...(this.qqOfUin.has(m.uin) ? { qq: this.qqOfUin.get(m.uin)! } : {}) }]));
    if (info.owner !== undefined) g.owner = info.owner;
    if (info.name) g.name = info.name;
    if (info.memo) g.memo = info.memo;
    else delete g.memo;
    return g;
  }

  async refreshDiscussions(): Promise<void> {
    const list = await getDiscusList(this.deps.ctx());
    const next = new Map<number, DiscussionContact>();
    for (const d of list) next.set(d.did, { did: d.did, name: d.name });
    this.discussionsByDid = next;
    for (const d of next.values()) {
      try {
        await this.refreshDiscussionInfo(d.did);
      } catch (e) {
        this.deps.log.warn({ err: e, discussion: d.name }, 'discussion member list unavailable');
      }
    }
  }

  async refreshDiscussionInfo(did: number): Promise<DiscussionContact> {
    const info = await getDiscuInfo(this.deps.ctx(), did);
    let d = this.discussionsByDid.get(did);
    if (!d) {
      d = { did, name: info.name };
      this.discussionsByDid.set(did, d);
    }
    if (info.name) d.name = info.name;
    if (info.owner !== undefined) d.owner = info.owner;
    d.members = new Map(info.members.map((m) => [m.uin, m]));
    for (const m of info.members) if (m.qq !== undefined) this.qqOfUin.set(m.uin, m.qq);
    return d;
  }

  // ---- group numbers ---------------------------------------------------------------------

  /** A group message's `info_seq` (WebQQ era) is the real group number: remember it as a fallback. */
  noteInfoSeq(gid: number, infoSeq: number | undefined): void {
    const g = this.groupsByGid.get(gid);
    if (!g || g.number !== undefined || !infoSeq || infoSeq < 10000) return;
    g.number = infoSeq;
    this.numberByName.set(g.name, infoSeq);
  }

  async resolveGroupNumber(gid: number): Promise<number | undefined> {
    const g = this.groupsByGid.get(gid);
    if (!g) return undefined;
    if (g.number !== undefined) return g.number;
    if (!this.failedGid.has(gid)) {
      try {
        g.number = await getFriendUin(this.deps.ctx(), gid, 4);
        this.numberByName.set(g.name, g.number);
        return g.number;
      } catch (e) {
        this.failedGid.add(gid);
        this.deps.log.warn({ err: e, group: g.name }, 'get_friend_uin2 failed for a group; falling back to info_seq / name');
      }
    }
    const byName = this.numberByName.get(g.name);
    const sameName = [...this.groupsByGid.values()].filter((x) => x.name === g.name);
    if (byName !== undefined && sameName.length === 1) g.number = byName;
    return g.number;
  }

  /** Teach a group number for a name (from config mappings), used when nothing else resolves. */
  learnGroupName(name: string, number: number): void {
    this.numberByName.set(name, number);
  }

  numberOfGid(gid: number): number | undefined {
    return this.groupsByGid.get(gid)?.number;
  }

  async groupByNumber(n: number): Promise<GroupContact | undefined> {
    for (const g of this.groupsByGid.values()) if (g.number === n) return g;
    for (const g of this.groupsByGid.values()) if (g.number === undefined) await this.resolveGroupNumber(g.gid);
    for (const g of this.groupsByGid.values()) if (g.number === n) return g;
    return undefined;
  }

  group(gid: number): GroupContact | undefined {
    return this.groupsByGid.get(gid);
  }

  groupByCode(code: number): GroupContact | undefined {
    for (const g of this.groupsByGid.values()) if (g.code === code) return g;
    return undefined;
  }

  groups(): GroupContact[] {
    return [...this.groupsByGid.values()];
  }

  // ---- people ----------------------------------------------------------------------------

  /** QQ number of a session uin (friend, group member or discussion member), cached per session. */
  async qqOf(uin: number): Promise<number | undefined> {
    const known = this.qqOfUin.get(uin);
    if (known !== undefined) return known;
    if (this.failedUin.has(uin)) return undefined;
    try {
      const qq = await getFriendUin(this.deps.ctx(), uin, 1);
      this.qqOfUin.set(uin, qq);
      const f = this.friendsByUin.get(uin);
      if (f) f.qq = qq;
      for (const g of this.groupsByGid.values()) {
        const m = g.members?.get(uin);
        if (m) m.qq = qq;
      }
      return qq;
    } catch (e) {
      this.failedUin.add(uin);
      this.deps.log.debug({ err: e, uin }, 'get_friend_uin2 failed for a user');
      return undefined;
    }
  }

  async memberQq(gid: number, uin: number): Promise<number | undefined> {
    const m = this.groupsByGid.get(gid)?.members?.get(uin);
    if (m?.qq !== undefined) return m.qq;
    return this.qqOf(uin);
  }

  /** Display name in a group: the group card if set, else the nick. */
  memberName(gid: number, uin: number): string | undefined {
    const m = this.groupsByGid.get(gid)?.members?.get(uin);
    if (!m) return undefined;
    return m.card || m.nick;
  }

  isGroupMember(gid: number, uin: number): boolean {
    return this.groupsByGid.get(gid)?.members?.has(uin) ?? false;
  }

  discussion(did: number): DiscussionContact | undefined {
    return this.discussionsByDid.get(did);
  }

  discussionByName(name: string): DiscussionContact | undefined {
    for (const d of this.discussionsByDid.values()) if (d.name === name) return d;
    return undefined;
  }

  discussions(): DiscussionContact[] {
    return [...this.discussionsByDid.values()];
  }

  isDiscussionMember(did: number, uin: number): boolean {
    return this.discussionsByDid.get(did)?.members?.has(uin) ?? false;
  }

  discussionMemberName(did: number, uin: number): string | undefined {
    return this.discussionsByDid.get(did)?.members?.get(uin)?.nick;
  }

  async discussionMemberQq(did: number, uin: number): Promise<number | undefined> {
    const m = this.discussionsByDid.get(did)?.members?.get(uin);
    if (m?.qq !== undefined) return m.qq;
    return this.qqOf(uin);
  }

  friend(uin: number): (FriendInfo & { qq?: number }) | undefined {
    return this.friendsByUin.get(uin);
  }

  friends(): (FriendInfo & { qq?: number })[] {
    return [...this.friendsByUin.values()];
  }

  /** Friend with this QQ number, resolving uins as needed. */
  async friendByQq(qq: number): Promise<(FriendInfo & { qq?: number }) | undefined> {
    for (const f of this.friendsByUin.values()) if (f.qq === qq) return f;
    for (const f of this.friendsByUin.values()) {
      if (f.qq === undefined && (await this.qqOf(f.uin)) === qq) return f;
    }
    return undefined;
  }
}
