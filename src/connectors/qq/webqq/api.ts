/**
 * One typed async function per WebQQ channel/api endpoint the client uses after login
 * (protocol reference §2, §7). Each sends the host's Referer/Origin for the session's era, builds
 * `r` with JSON.stringify, and turns a malformed answer into a ProtocolError naming the endpoint
 * and a non-zero retcode into a RetcodeError.
 */
import type { HttpResponse } from './transport.js';
import { ProtocolError } from './errors.js';
import { apiUrl, channelUrl } from './hosts.js';
import { parsePollBody, type PollParse } from './events.js';
import { arr, asObject, baseOpts, clientidValue, num, ok, optNum, rForm, sessionQuery, str, type ApiContext, type Json } from './api-base.js';

export { RetcodeError } from './errors.js';
export { clientidValue, type ApiContext, type ApiSession } from './api-base.js';
export * from './api-pictures.js';

// ---------------------------------------------------------------------------------------------
// poll2

export interface PollResult {
  httpStatus: number;
  /** The body as received (HTTP 200 only), for a journal kept before anything is relayed. */
  raw?: string;
  parse: PollParse;
}

/** One long poll. Never throws on a bad body (the poller decides); network errors do throw. */
export async function poll2(ctx: ApiContext, timeoutMs = 70_000): Promise<PollResult> {
  const s = ctx.session;
  const r: Json =
    s.era === 'qrcode'
      ? { ptwebqq: s.ptwebqq, clientid: clientidValue(s), psessionid: s.psessionid, key: '' }
      : { clientid: clientidValue(s), psessionid: s.psessionid, key: 0, ids: [] };
  const res = await ctx.transport.postForm(channelUrl(s.era, 'poll2'), rForm(ctx, r, true), baseOpts(ctx, 'd', { timeoutMs }));
  if (res.status !== 200) return { httpStatus: res.status, parse: { kind: 'malformed', reason: `HTTP ${res.status}` } };
  const raw = res.text();
  return { httpStatus: res.status, raw, parse: parsePollBody(raw) };
}

// ---------------------------------------------------------------------------------------------
// lists

export interface FriendInfo {
  uin: number;
  nick: string;
  markname?: string;
  category: number;
  face?: number;
}

export interface FriendsResult {
  friends: FriendInfo[];
  categories: { index: number; name: string }[];
}

const unescapeName = (s: string) =>
  s.replace(/&(lt|gt|amp|quot|#39|nbsp);/g, (_, e: string) => ({ lt: '<', gt: '>', amp: '&', quot: '"', '#39': "'", nbsp: ' ' })[e] ?? _);

export async function getUserFriends(ctx: ApiContext, hash: string): Promise<FriendsResult> {
  const ep = 'get_user_friends2';
  const r: Json = { vfwebqq: ctx.session.vfwebqq, hash };
  if (ctx.session.era === 'password') r.h = 'hello';
  const res = await ctx.transport.postForm(apiUrl(ctx.session.era, ep), rForm(ctx, r, false), baseOpts(ctx, 's'));
  const result = asObject(ep, ok(ep, res), 'result', res);
  const info = new Map<number, Json>();
  for (const i of arr(result.info)) if (i && typeof i === 'object') { const u = optNum((i as Json).uin); if (u !== undefined) info.set(u, i as Json); }
  const marks = new Map<number, string>();
  for (const m of arr(result.marknames)) if (m && typeof m === 'object') { const u = optNum((m as Json).uin); const n = str((m as Json).markname); if (u !== undefined && n !== undefined) marks.set(u, unescapeName(n)); }
  const friends: FriendInfo[] = [];
  for (const f of arr(result.friends)) {
    if (!f || typeof f !== 'object') continue;
    const uin = optNum((f as Json).uin);
    if (uin === undefined) continue;
    const i = info.get(uin);
    const fi: FriendInfo = { uin, nick: unescapeName(str(i?.nick) ?? String(uin)), category: optNum((f as Json).categories) ?? 0 };
    const mk = marks.get(uin);
    if (mk !== undefined) fi.markname = mk;
    const face = optNum(i?.face);
    if (face !== undefined) fi.face = face;
    friends.push(fi);
  }
  const categories = arr(result.categories).flatMap((c) => {
    if (!c || typeof c !== 'object') return [];
    const index = optNum((c as Json).index);
    return index === undefined ? [] : [{ index, name: str((c as Json).name) ?? '' }];
  });
  if (!categories.some((c) => c.index === 0)) categories.unshift({ index: 0, name: '我的好友' });
  return { friends, categories };
}

export interface GroupListEntry {
  gid: number;
  code: number;
  name: string;
  markname?: string;
  flag?: number;
}

export async function getGroupNameList(ctx: ApiContext, hash: string): Promise<GroupListEntry[]> {
  const ep = 'get_group_name_list_mask2';
  const r: Json = { vfwebqq: ctx.session.vfwebqq, hash };
  const res = await ctx.transport.postForm(apiUrl(ctx.session.era, ep), rForm(ctx, r, false), baseOpts(ctx, 's'));
  const result = asObject(ep, ok(ep, res), 'result', res);
  const marks = new Map<number, string>();
  for (const m of arr(result.gmarklist)) if (m && typeof m === 'object') { const u = optNum((m as Json).uin); const n = str((m as Json).markname); if (u !== undefined && n) marks.set(u, unescapeName(n)); }
  if (!Array.isArray(result.gnamelist)) throw new ProtocolError(ep, 'gnamelist missing', res.text());
  return result.gnamelist.flatMap((g) => {
    if (!g || typeof g !== 'object') return [];
    const o = g as Json;
    const gid = optNum(o.gid);
    const code = optNum(o.code);
    if (gid === undefined || code === undefined) return [];
    const e: GroupListEntry = { gid, code, name: unescapeName(str(o.name) ?? '') };
    const mk = marks.get(gid);
    if (mk) e.markname = mk;
    const flag = optNum(o.flag);
    if (flag !== undefined) e.flag = flag;
    return [e];
  });
}

export interface GroupMember {
  uin: number;
  nick: string;
  card?: string;
  /** Real QQ number when the server gave one (rare). */
  qq?: number;
}

export interface GroupInfo {
  gid: number;
  code: number;
  name: string;
  /** The group's memo (announcement); absent when empty. */
  memo?: string;
  owner?: number;
  members: GroupMember[];
}

export async function getGroupInfo(ctx: ApiContext, code: number): Promise<GroupInfo> {
  const ep = 'get_group_info_ext2';
  const query: Record<string, string | number> = { gcode: code, vfwebqq: ctx.session.vfwebqq, t: Date.now() };
  if (ctx.session.era === 'password') query.cb = 'undefined';
  const res = await ctx.transport.get(apiUrl(ctx.session.era, ep), baseOpts(ctx, 's', { query }));
  const result = asObject(ep, ok(ep, res), 'result', res);
  const ginfo = asObject(ep, result.ginfo, 'ginfo', res);
  const nicks = new Map<number, string>();
  for (const m of arr(result.minfo)) if (m && typeof m === 'object') { const u = optNum((m as Json).uin); if (u !== undefined) nicks.set(u, unescapeName(str((m as Json).nick) ?? '')); }
  const cards = new Map<number, string>();
  for (const c of arr(result.cards)) if (c && typeof c === 'object') { const u = optNum((c as Json).muin); const cd = str((c as Json).card); if (u !== undefined && cd) cards.set(u, unescapeName(cd)); }
  const uins = new Set<number>();
  for (const m of arr(ginfo.members)) if (m && typeof m === 'object') { const u = optNum((m as Json).muin); if (u !== undefined) uins.add(u); }
  // `ginfo` present but `minfo` missing happened (Mojo handles both): fall back to whichever list exists.
  for (const u of nicks.keys()) uins.add(u);
  const members = [...uins].map((uin) => {
    const m: GroupMember = { uin, nick: nicks.get(uin) ?? String(uin) };
    const card = cards.get(uin);
    if (card) m.card = card;
    return m;
  });
  const g: GroupInfo = {
    gid: optNum(ginfo.gid) ?? 0,
    code: optNum(ginfo.code) ?? code,
    name: unescapeName(str(ginfo.name) ?? ''),
    members,
  };
  const owner = optNum(ginfo.owner);
  if (owner !== undefined) g.owner = owner;
  const memo = unescapeName(str(ginfo.memo) ?? '');
  if (memo) g.memo = memo;
  return g;
}

export async function getDiscusList(ctx: ApiContext): Promise<{ did: number; name: string }[]> {
  const ep = 'get_discus_list';
  const query = { ...sessionQuery(ctx), vfwebqq: ctx.session.vfwebqq, t: Date.now() };
  const res = await ctx.transport.get(apiUrl(ctx.session.era, ep), baseOpts(ctx, 's', { query }));
  const result = asObject(ep, ok(ep, res), 'result', res);
  if (!Array.isArray(result.dnamelist)) throw new ProtocolError(ep, 'dnamelist missing', res.text());
  return result.dnamelist.flatMap((d) => {
    if (!d || typeof d !== 'object') return [];
    const did = optNum((d as Json).did);
    return did === undefined ? [] : [{ did, name: unescapeName(str((d as Json).name) ?? '') }];
  });
}

export interface DiscussionInfo {
  did: number;
  name: string;
  owner?: number;
  members: { uin: number; nick: string; qq?: number }[];
}

export async function getDiscuInfo(ctx: ApiContext, did: number): Promise<DiscussionInfo> {
  const ep = 'get_discu_info';
  const query = { did, vfwebqq: ctx.session.vfwebqq, ...sessionQuery(ctx), t: Date.now() };
  const res = await ctx.transport.get(channelUrl(ctx.session.era, ep), baseOpts(ctx, 'd', { query }));
  const result = asObject(ep, ok(ep, res), 'result', res);
  const info = asObject(ep, result.info, 'info', res);
  const nicks = new Map<number, string>();
  for (const m of arr(result.mem_info)) if (m && typeof m === 'object') { const u = optNum((m as Json).uin); if (u !== undefined) nicks.set(u, unescapeName(str((m as Json).nick) ?? '')); }
  const members = arr(info.mem_list).flatMap((m) => {
    if (!m || typeof m !== 'object') return [];
    const uin = optNum((m as Json).mem_uin);
    if (uin === undefined) return [];
    const e: { uin: number; nick: string; qq?: number } = { uin, nick: nicks.get(uin) ?? String(uin) };
    const ruin = optNum((m as Json).ruin);
    if (ruin !== undefined) e.qq = ruin;
    return [e];
  });
  const d: DiscussionInfo = { did: optNum(info.did) ?? did, name: unescapeName(str(info.discu_name) ?? ''), members };
  const owner = optNum(info.discu_owner);
  if (owner !== undefined) d.owner = owner;
  return d;
}

// ---------------------------------------------------------------------------------------------
// ids and profiles

/** `type` 1 = user uin → QQ number, 4 = gid → group number (§2.7). */
export async function getFriendUin(ctx: ApiContext, tuin: number, type: 1 | 4): Promise<number> {
  const ep = 'get_friend_uin2';
  const query: Record<string, string | number> = { tuin, type, vfwebqq: ctx.session.vfwebqq, t: Date.now() };
  if (ctx.session.era === 'password') Object.assign(query, { verifysession: '', code: '' });
  const res = await ctx.transport.get(apiUrl(ctx.session.era, ep), baseOpts(ctx, 's', { query }));
  const result = asObject(ep, ok(ep, res), 'result', res);
  return num(ep, result, 'account', res);
}

export interface Profile {
  uin: number;
  nick: string;
  face?: number;
  account?: number;
  stat?: number;
}

function profileOf(ep: string, res: HttpResponse): Profile {
  const result = asObject(ep, ok(ep, res), 'result', res);
  const p: Profile = { uin: num(ep, result, 'uin', res), nick: unescapeName(str(result.nick) ?? '') };
  const face = optNum(result.face);
  if (face !== undefined) p.face = face;
  const account = optNum(result.account);
  if (account !== undefined) p.account = account;
  const stat = optNum(result.stat);
  if (stat !== undefined) p.stat = stat;
  return p;
}

export async function getSelfInfo(ctx: ApiContext): Promise<Profile> {
  const ep = 'get_self_info2';
  const res = await ctx.transport.get(apiUrl(ctx.session.era, ep), baseOpts(ctx, 's', { query: { t: Date.now() } }));
  return profileOf(ep, res);
}

export async function getFriendInfo(ctx: ApiContext, tuin: number): Promise<Profile> {
  const ep = 'get_friend_info2';
  const query = { tuin, vfwebqq: ctx.session.vfwebqq, ...sessionQuery(ctx), t: Date.now() };
  const res = await ctx.transport.get(apiUrl(ctx.session.era, ep), baseOpts(ctx, 's', { query }));
  return profileOf(ep, res);
}

export type QqStatus = 'online' | 'away' | 'busy' | 'silent' | 'hidden' | 'callme' | 'offline';

export async function changeStatus(ctx: ApiContext, status: QqStatus): Promise<void> {
  const ep = 'change_status2';
  const query = { newstatus: status, ...sessionQuery(ctx), t: Date.now() };
  const res = await ctx.transport.get(channelUrl(ctx.session.era, ep), baseOpts(ctx, 'd', { query }));
  ok(ep, res);
}

export async function getOnlineBuddies(ctx: ApiContext): Promise<{ uin: number; status: string; clientType?: number }[]> {
  const ep = 'get_online_buddies2';
  const query = { vfwebqq: ctx.session.vfwebqq, ...sessionQuery(ctx), t: Date.now() };
  const res = await ctx.transport.get(channelUrl(ctx.session.era, ep), baseOpts(ctx, 'd', { query }));
  const result = ok(ep, res);
  if (!Array.isArray(result)) throw new ProtocolError(ep, 'result is not an array', res.text());
  return result.flatMap((b) => {
    if (!b || typeof b !== 'object') return [];
    const uin = optNum((b as Json).uin);
    if (uin === undefined) return [];
    const e: { uin: number; status: string; clientType?: number } = { uin, status: str((b as Json).status) ?? 'online' };
    const ct = optNum((b as Json).client_type);
    if (ct !== undefined) e.clientType = ct;
    return [e];
  });
}

export async function getRecentList(ctx: ApiContext): Promise<{ type: number; uin: number }[]> {
  const ep = 'get_recent_list2';
  const r = { vfwebqq: ctx.session.vfwebqq, clientid: clientidValue(ctx.session), psessionid: ctx.session.psessionid };
  const res = await ctx.transport.postForm(channelUrl(ctx.session.era, ep), rForm(ctx, r, true), baseOpts(ctx, 'd'));
  const result = ok(ep, res);
  return arr(result).flatMap((e) => {
    if (!e || typeof e !== 'object') return [];
    const uin = optNum((e as Json).uin);
    const type = optNum((e as Json).type);
    return uin === undefined || type === undefined ? [] : [{ type, uin }];
  });
}

export async function logout(ctx: ApiContext): Promise<void> {
  const ep = 'logout2';
  const query = { ids: '', ...sessionQuery(ctx), t: Date.now() };
  const res = await ctx.transport.get(channelUrl(ctx.session.era, ep), baseOpts(ctx, 'd', { query }));
  ok(ep, res);
}

// ---------------------------------------------------------------------------------------------
// sending

export type SendTarget =
  | { kind: 'buddy'; uin: number }
  /** A temporary session with a group (service 0) or discussion (service 1) member, §2.6. */
  | { kind: 'sess'; uin: number; sig: string; serviceType: 0 | 1 }
  | { kind: 'group'; gid: number; code?: number }
  | { kind: 'discussion'; did: number };

/** The signature for writing to a member of a group (`id` = gid, service 0) or discussion (did, 1). */
export async function getC2cMsgSig(ctx: ApiContext, id: number, toUin: number, serviceType: 0 | 1): Promise<string> {
  const ep = 'get_c2cmsg_sig2';
  const res = await ctx.transport.get(channelUrl(ctx.session.era, ep), baseOpts(ctx, 'd', { query: { id, to_uin: toUin, service_type: serviceType, ...sessionQuery(ctx), t: Date.now() } }));
  const result = asObject(ep, ok(ep, res), 'result', res);
  const value = str(result.value);
  if (!value) throw new ProtocolError(ep, 'value missing', res.text());
  return value;
}

export interface GfaceSig {
  key: string;
  sig: string;
}

/** Outcome of a send: the retcode (errCode 0 → 0; `{"errMsg":"ERROR"}` → -3 as Mojo did). */
export interface SendAnswer {
  retcode: number;
  errmsg?: string;
}

export async function sendMessage(
  ctx: ApiContext,
  target: SendTarget,
  content: string,
  msgId: number,
  opts: { face?: number; gface?: GfaceSig } = {},
): Promise<SendAnswer> {
  const s = ctx.session;
  const ep = target.kind === 'buddy' ? 'send_buddy_msg2' : target.kind === 'sess' ? 'send_sess_msg2' : target.kind === 'group' ? 'send_qun_msg2' : 'send_discu_msg2';
  const r: Json = {};
  if (target.kind === 'buddy') r.to = target.uin;
  else if (target.kind === 'sess') Object.assign(r, { to: target.uin, group_sig: target.sig, service_type: target.serviceType });
  else if (target.kind === 'group') {
    r.group_uin = target.gid;
    if (opts.gface) {
      r.group_code = target.code ?? target.gid;
      r.key = opts.gface.key;
      r.sig = opts.gface.sig;
    }
  } else {
    // The seed (WebQQ) sent did as a string.
    r.did = s.era === 'password' ? String(target.did) : target.did;
    if (opts.gface) {
      r.key = opts.gface.key;
      r.sig = opts.gface.sig;
    }
  }
  Object.assign(r, { content, face: opts.face ?? 0, msg_id: msgId, clientid: clientidValue(s), psessionid: s.psessionid });
  const res = await ctx.transport.postForm(channelUrl(s.era, ep), rForm(ctx, r, true), baseOpts(ctx, 'd'));
  if (res.status !== 200) throw new ProtocolError(ep, `HTTP ${res.status}`, res.text());
  const body = asObject(ep, res.json(), 'answer', res);
  const rc = optNum(body.retcode);
  const errCode = optNum(body.errCode);
  const errmsg = str(body.errmsg) ?? str(body.errMsg) ?? str(body.msg);
  let retcode: number;
  if (rc !== undefined) retcode = rc;
  else if (errCode !== undefined) retcode = errCode;
  else if (body.errMsg !== undefined) retcode = -3;
  else throw new ProtocolError(ep, 'neither retcode nor errCode', res.text());
  return errmsg !== undefined ? { retcode, errmsg } : { retcode };
}

export async function getGfaceSig(ctx: ApiContext): Promise<GfaceSig> {
  const ep = 'get_gface_sig2';
  const res = await ctx.transport.get(channelUrl(ctx.session.era, ep), baseOpts(ctx, 'd', { query: { ...sessionQuery(ctx), t: Date.now() } }));
  const result = asObject(ep, ok(ep, res), 'result', res);
  const key = str(result.gface_key);
  const sig = str(result.gface_sig);
  if (!key || !sig) throw new ProtocolError(ep, 'gface_key/gface_sig missing', res.text());
  return { key, sig };
}
