/**
 * A queued send's stable target (group number, discussion name, QQ number) → the ids of the
 * current session, looked up in the contact tables right before the request; apart from the
 * client so the lookup rules (refresh once, then give up with UnknownTargetError) read in one place.
 */
import { getC2cMsgSig, type ApiContext, type SendTarget } from './api.js';
import type { Contacts } from './contacts.js';
import { UnknownTargetError } from './errors.js';
import type { StableTarget } from './sender.js';

/** Session ids of a target in the current session, from the current contact tables. */
export async function resolveTarget(c: Contacts, ctx: () => ApiContext, t: StableTarget): Promise<SendTarget> {
  switch (t.kind) {
    case 'group': {
      let g = await c.groupByNumber(t.number);
      if (!g) {
        await c.refreshGroups();
        g = await c.groupByNumber(t.number);
      }
      if (!g) throw new UnknownTargetError('get_group_name_list_mask2', `the bot is not in QQ group ${t.number} (or its number cannot be resolved)`);
      return { kind: 'group', gid: g.gid, code: g.code };
    }
    case 'discussion': {
      let d = c.discussionByName(t.name);
      if (!d) {
        await c.refreshDiscussions();
        d = c.discussionByName(t.name);
      }
      if (!d) throw new UnknownTargetError('get_discus_list', `the bot is not in QQ discussion ${JSON.stringify(t.name)}`);
      return { kind: 'discussion', did: d.did };
    }
    case 'sess': {
      if ('group' in t.via) {
        const g = (await c.groupByNumber(t.via.group)) ?? (await c.refreshGroups().then(() => c.groupByNumber((t.via as { group: number }).group)));
        if (!g) throw new UnknownTargetError('get_c2cmsg_sig2', `the bot is not in QQ group ${t.via.group}`);
        await c.ensureGroupMembers(g.gid);
        const uin = await memberUin(c, g.gid, t.qq, 'group');
        if (uin === undefined) throw new UnknownTargetError('get_c2cmsg_sig2', `QQ ${t.qq} is not a member of QQ group ${t.via.group}`);
        return { kind: 'sess', uin, serviceType: 0, sig: await getC2cMsgSig(ctx(), g.gid, uin, 0) };
      }
      let d = c.discussionByName(t.via.discussion);
      if (!d) {
        await c.refreshDiscussions();
        d = c.discussionByName(t.via.discussion);
      }
      if (!d) throw new UnknownTargetError('get_c2cmsg_sig2', `the bot is not in QQ discussion ${JSON.stringify(t.via.discussion)}`);
      if (!d.members) await c.refreshDiscussionInfo(d.did);
      const uin = await memberUin(c, d.did, t.qq, 'discussion');
      if (uin === undefined) throw new UnknownTargetError('get_c2cmsg_sig2', `QQ ${t.qq} is not a member of QQ discussion ${JSON.stringify(t.via.discussion)}`);
      return { kind: 'sess', uin, serviceType: 1, sig: await getC2cMsgSig(ctx(), d.did, uin, 1) };
    }
    case 'buddy': {
      let f = await c.friendByQq(t.qq);
      if (!f) {
        await c.refreshFriends();
        f = await c.friendByQq(t.qq);
      }
      if (!f) throw new UnknownTargetError('get_user_friends2', `QQ ${t.qq} is not a friend of the bot (or its number cannot be resolved)`);
      return { kind: 'buddy', uin: f.uin };
    }
  }
}

/** The session uin of a member with QQ number `qq` in a group (gid) or discussion (did). */
async function memberUin(c: Contacts, id: number, qq: number, kind: 'group' | 'discussion'): Promise<number | undefined> {
  const members = kind === 'group' ? c.group(id)?.members : c.discussion(id)?.members;
  for (const uin of members?.keys() ?? []) {
    const q = kind === 'group' ? await c.memberQq(id, uin) : await c.discussionMemberQq(id, uin);
    if (q === qq) return uin;
  }
  return undefined;
}
