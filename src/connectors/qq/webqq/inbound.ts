/**
 * What the client does to a polled event before handing it over: recognise its own echoes (§5.5)
 * and fill in the stable numbers and names (group number, sender QQ number and display name).
 */
import type { Logger } from '../../../log.js';
import { MEMBER_RETRY_MS, type Contacts, type GroupContact } from './contacts.js';
import { receivedText, type RecentSends } from './echoes.js';
import type { QqEvent } from './events.js';

export interface InboundDeps {
  contacts: Contacts;
  log: Logger;
  /** Pieces just sent, by room: their echoes are recognised by content. */
  recentSends: RecentSends;
  selfUin(): number | undefined;
}

export class Inbound {
  /** Groups/discussions whose member list was refreshed because of an unknown sender (§5.5). */
  private readonly refreshedFor = new Set<string>();
  /** Rooms whose member-list refresh failed lately, so a dead endpoint is not hit per message. */
  private readonly memberRefreshFailedAt = new Map<string, number>();
  /** Rooms already warned about for having no member list (once per session). */
  private readonly noMembersWarned = new Set<string>();

  constructor(private readonly deps: InboundDeps) {}

  /** A new session: what was learnt about the old one's rooms no longer holds. */
  reset(): void {
    this.refreshedFor.clear();
    this.memberRefreshFailedAt.clear();
    this.noMembersWarned.clear();
  }

  /**
   * Own messages come back through poll (§5.5): from our uin, or (groups/discussions, 2017+) with a
   * send_uin that is nobody's. Such an echo is recognised by the text just sent to that room, or
   * by its sender missing from a member list that loaded — even after one refresh for that sender.
   * Without a member list nothing is called an echo: relaying one echo too many beats muting a
   * whole group for the session.
   */
  async isSelfEcho(e: QqEvent): Promise<boolean> {
    const me = this.deps.selfUin();
    if (e.type === 'message' || e.type === 'sess_message') return e.fromUin === me;
    if (e.type !== 'group_message' && e.type !== 'discu_message') return false;
    if (e.sendUin === me) return true;
    const c = this.deps.contacts;
    const isGroup = e.type === 'group_message';
    const id = isGroup ? e.gid : e.did;
    const room = `${isGroup ? 'g' : 'd'}:${id}`;
    const isMember = () => (isGroup ? c.isGroupMember(id, e.sendUin) : c.isDiscussionMember(id, e.sendUin));
    const members = () => (isGroup ? c.group(id)?.members : c.discussion(id)?.members);
    const key = `${room}:${e.sendUin}`;
    const mayRefresh = () => {
      const lastFailure = this.memberRefreshFailedAt.get(room);
      return lastFailure === undefined || Date.now() - lastFailure >= MEMBER_RETRY_MS;
    };
    // A group whose member list has not loaded yet (they load after login): load it first, so a
    // member who happens to repeat what the bridge just sent is not taken for its echo.
    if (isGroup && c.group(id) && !members() && mayRefresh()) {
      try {
        await c.ensureGroupMembers(id);
        // Loaded (not held off after a recent failure): as fresh as a refresh for this sender would be.
        if (members()) {
          this.refreshedFor.add(key);
          this.memberRefreshFailedAt.delete(room);
        }
      } catch (err) {
        this.memberRefreshFailedAt.set(room, Date.now());
        this.deps.log.warn({ err, pollType: e.pollType, room }, 'member list refresh failed; relaying the message from an unknown sender');
      }
    }
    if (isMember()) return false;
    if (this.deps.recentSends.take(room, receivedText(e.content.items))) return true;
    if (isGroup && !c.group(id)) {
      await c.refreshGroups().catch((err) => this.deps.log.warn({ err }, 'group list refresh failed'));
      if (!c.group(id)) return false; // nothing to compare against
    }
    if (!this.refreshedFor.has(key) && mayRefresh()) {
      try {
        await (isGroup ? c.refreshGroupInfo(id) : c.refreshDiscussionInfo(id));
        this.refreshedFor.add(key);
        this.memberRefreshFailedAt.delete(room);
      } catch (err) {
        // A list that did not load proves nothing about this sender: relay, and try again later.
        this.memberRefreshFailedAt.set(room, Date.now());
        this.deps.log.warn({ err, pollType: e.pollType, room }, 'member list refresh failed; relaying the message from an unknown sender');
        return false;
      }
    }
    if (members() === undefined) {
      if (!this.noMembersWarned.has(room)) {
        this.noMembersWarned.add(room);
        this.deps.log.warn({ pollType: e.pollType, room }, 'member list of this QQ group/discussion is unavailable; its own echoes cannot all be told apart, relaying everything');
      }
      return false;
    }
    if (!this.refreshedFor.has(key)) return false; // the list is stale and could not be refreshed yet
    return !isMember();
  }

  /** Fills the stable numbers and names into an event. Resolution failures leave them unset. */
  async resolve(e: QqEvent): Promise<void> {
    const c = this.deps.contacts;
    try {
      switch (e.type) {
        case 'group_message': {
          if (!c.group(e.gid)) await c.refreshGroups();
          c.noteInfoSeq(e.gid, e.infoSeq);
          const n = await c.resolveGroupNumber(e.gid);
          if (n !== undefined) e.groupNumber = n;
          // Names come from the member list (the group card): load it now if it has not loaded yet.
          const g = await c.ensureGroupMembers(e.gid).catch((err) => {
            this.deps.log.debug({ err, gid: e.gid }, 'member list unavailable; the sender shows by number');
            return c.group(e.gid);
          });
          if (g) e.groupName = g.name;
          const qq = await c.memberQq(e.gid, e.sendUin);
          if (qq !== undefined) e.senderQq = qq;
          e.senderName = c.memberName(e.gid, e.sendUin) ?? (qq !== undefined ? String(qq) : String(e.sendUin));
          break;
        }
        case 'discu_message': {
          const d = c.discussion(e.did);
          if (d) e.discussionName = d.name;
          const qq = await c.discussionMemberQq(e.did, e.sendUin);
          if (qq !== undefined) e.senderQq = qq;
          e.senderName = c.discussionMemberName(e.did, e.sendUin) ?? (qq !== undefined ? String(qq) : String(e.sendUin));
          break;
        }
        case 'message':
        case 'sess_message': {
          const f = c.friend(e.fromUin);
          const qq = e.type === 'sess_message' && e.ruin ? e.ruin : await c.qqOf(e.fromUin);
          if (qq !== undefined) e.senderQq = qq;
          e.senderName = f?.markname || f?.nick || (qq !== undefined ? String(qq) : String(e.fromUin));
          break;
        }
        case 'sys_g_msg': {
          let g: GroupContact | undefined = e.gcode !== undefined ? c.groupByCode(e.gcode) ?? c.group(e.gcode) : undefined;
          if (!g) g = c.group(e.fromUin);
          // Membership changed: refresh the group list and that group's members (§3.2 "refresh group data").
          await c.refreshGroups();
          if (g) g = c.group(g.gid) ?? g;
          // Only this group's members changed: its list is read again (the others stay as loaded).
          if (g) await c.refreshGroupInfo(g.gid).catch((err) => this.deps.log.warn({ err, group: g!.name }, 'group member list unavailable'));
          if (g) {
            const n = await c.resolveGroupNumber(g.gid);
            if (n !== undefined) e.groupNumber = n;
          } else if (e.tGcode) e.groupNumber = e.tGcode;
          const member = e.newMember ?? e.oldMember ?? e.requestUin;
          if (member !== undefined) {
            const qq = g ? await c.memberQq(g.gid, member) : await c.qqOf(member);
            if (qq !== undefined) e.memberQq = qq;
          }
          break;
        }
        default:
          break;
      }
    } catch (err) {
      this.deps.log.warn({ err, pollType: e.pollType }, 'could not resolve ids of an event');
    }
  }
}
