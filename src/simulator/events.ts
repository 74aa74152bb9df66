/**
 * Poll events built as the real server built them (§3.2): WebQQ-era fields for sessions on
 * d.web2 (msg_id2, msg_type, reply_ip, seq, info_seq = group number), the trimmed SmartQQ shape
 * for sessions on d1.web2. Key order follows the captured samples.
 */
import { randomInt } from 'node:crypto';
import type { PollEvent, Session, SimState } from './sessions.js';

export const DEFAULT_FONT = ['font', { color: '000000', name: '宋体', size: 10, style: [0, 0, 0] }] as const;

const now = () => Math.floor(Date.now() / 1000);
const replyIp = () => randomInt(176_000_000, 177_000_000);

export function groupMessage(state: SimState, s: Session, group: number, senderUin: number, content: unknown[]): PollEvent {
  const { gid, code } = s.ids.group(group);
  const { msg_id, msg_id2 } = s.msgIds();
  if (s.era === 'C') {
    return {
      poll_type: 'group_message',
      value: { content, from_uin: gid, group_code: gid, msg_id, msg_type: 0, send_uin: senderUin, time: now(), to_uin: s.qq },
    };
  }
  void state;
  return {
    poll_type: 'group_message',
    value: {
      content,
      from_uin: gid,
      group_code: code,
      info_seq: group,
      msg_id,
      msg_id2,
      msg_type: 43,
      reply_ip: replyIp(),
      send_uin: senderUin,
      seq: s.seqFor(group),
      time: now(),
      to_uin: s.qq,
    },
  };
}

export function discuMessage(state: SimState, s: Session, name: string, senderUin: number, content: unknown[]): PollEvent {
  const did = s.ids.did(name);
  const { msg_id, msg_id2 } = s.msgIds();
  if (s.era === 'C') {
    return {
      poll_type: 'discu_message',
      value: { content, did, from_uin: did, msg_id, msg_type: 0, send_uin: senderUin, time: now(), to_uin: s.qq },
    };
  }
  // seed 003 (2014): from_uin is 10000, info_seq the discussion's version
  return {
    poll_type: 'discu_message',
    value: {
      msg_id,
      from_uin: 10000,
      to_uin: s.qq,
      msg_id2,
      msg_type: 42,
      reply_ip: replyIp(),
      did,
      send_uin: senderUin,
      seq: s.seqFor(-did),
      time: now(),
      info_seq: state.discussionSeq(name),
      content,
    },
  };
}

export function buddyMessage(s: Session, fromUin: number, content: unknown[]): PollEvent {
  const { msg_id, msg_id2 } = s.msgIds();
  if (s.era === 'C') {
    return { poll_type: 'message', value: { content, from_uin: fromUin, msg_id, msg_type: 0, time: now(), to_uin: s.qq } };
  }
  return {
    poll_type: 'message',
    value: { content, from_uin: fromUin, msg_id, msg_id2, msg_type: 9, reply_ip: replyIp(), time: now(), to_uin: s.qq },
  };
}

export function kickMessage(s: Session): PollEvent {
  const { msg_id, msg_id2 } = s.msgIds();
  return {
    poll_type: 'kick_message',
    value: {
      msg_id,
      from_uin: 10000,
      to_uin: s.qq,
      msg_id2,
      msg_type: 48,
      reply_ip: 0,
      show_reason: 1,
      reason: '您的帐号在另一地点登录，您已被迫下线。如有疑问，请登录:safe.qq.com了解更多。',
    },
  };
}

/** sys_g_msg for a member joining (33) or leaving (34), sample §3.2. */
export function memberChange(state: SimState, s: Session, group: number, member: number, join: boolean): PollEvent {
  const g = state.world.groups.find((x) => x.number === group)!;
  const { gid, code } = s.ids.group(group);
  const { msg_id, msg_id2 } = s.msgIds();
  const base = { msg_id, from_uin: gid, to_uin: s.qq, msg_id2, msg_type: join ? 33 : 34, reply_ip: replyIp() };
  const admin = { admin_uin: s.ids.uin(g.owner), t_admin_uin: '', admin_nick: '创建者' };
  return {
    poll_type: 'sys_g_msg',
    value: join
      ? { ...base, type: 'group_join', gcode: code, t_gcode: group, new_member: s.ids.uin(member), t_new_member: '', ...admin }
      : { ...base, type: 'group_leave', gcode: code, t_gcode: group, op_type: 2, old_member: s.ids.uin(member), t_old_member: '', ...admin },
  };
}
