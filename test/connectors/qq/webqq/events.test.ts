import { describe, expect, it } from 'vitest';
import { EventDeduper, parsePollBody, type QqEvent } from '../../../../src/connectors/qq/webqq/events.js';

const FONT = ['font', { color: '004faa', name: 'STKaiti', size: 13, style: [0, 0, 0] }];
const buddy = (msgId: number, time: number, text = 'hii ') => ({
  poll_type: 'message',
  value: { content: [FONT, text], from_uin: 2440652742, msg_id: msgId, msg_id2: 950054, msg_type: 9, reply_ip: 176498455, time, to_uin: 2769546520 },
});
const group = (msgId: number, time: number, text = 'ooo ') => ({
  poll_type: 'group_message',
  value: { content: [FONT, text], from_uin: 2559225925, group_code: 3483368056, info_seq: 346167134, msg_id: msgId, msg_id2: 886022, msg_type: 43, reply_ip: 176756826, send_uin: 2440652742, seq: 27, time, to_uin: 2769546520 },
});
const body = (result: unknown[]) => JSON.stringify({ retcode: 0, result });
const events = (b: string | unknown): QqEvent[] => {
  const r = parsePollBody(b);
  if (r.kind !== 'events') throw new Error(`expected events, got ${JSON.stringify(r)}`);
  return r.events;
};

describe('parsePollBody', () => {
  it('parses the seed buddy and group messages', () => {
    const [b, g] = events(body([buddy(24225, 1388368696), group(13663, 1388368698)]));
    expect(b).toMatchObject({ type: 'message', fromUin: 2440652742, msgId: 24225, time: 1388368696 });
    expect(b!.type === 'message' && b.content.items).toEqual([{ type: 'text', text: 'hii ' }]);
    expect(g).toMatchObject({ type: 'group_message', gid: 2559225925, groupCode: 3483368056, infoSeq: 346167134, sendUin: 2440652742, seq: 27 });
  });

  it('types every poll_type of §3.2', () => {
    const evs = events(body([
      { poll_type: 'discu_message', value: { msg_id: 18803, from_uin: 10000, to_uin: 2769546520, msg_id2: 175418, msg_type: 42, reply_ip: 1, did: 2006892653, send_uin: 1657605740, seq: 8, time: 1395249174, info_seq: 2, content: [FONT, 'world '] } },
      { poll_type: 'sess_message', value: { msg_id: 25144, from_uin: 167017143, to_uin: 1070772010, msg_type: 140, time: 1365931836, id: 2581801127, ruin: 444674479, service_type: 1, flags: { text: 1 }, content: [FONT, '2载3 ', ['face', 1], ' '] } },
      { poll_type: 'buddies_status_change', value: { uin: 1786202149, status: 'online', client_type: 1 } },
      { poll_type: 'input_notify', value: { msg_id: 3, from_uin: 5, to_uin: 6, msg_type: 121, time: 1 } },
      { poll_type: 'shake_message', value: { msg_id: 4, from_uin: 5, to_uin: 6, msg_type: 9, time: 2 } },
      { poll_type: 'sys_g_msg', value: { msg_id: 39855, from_uin: 802292893, to_uin: 3087958343, msg_type: 34, type: 'group_leave', gcode: 898704454, t_gcode: 310070477, op_type: 3, old_member: 3087958343, admin_uin: 1089498579, admin_nick: '创建者', time: 3 } },
      { poll_type: 'sys_g_msg', value: { msg_id: 39856, from_uin: 802292893, msg_type: 33, type: 'group_join', gcode: 898704454, t_gcode: 310070477, new_member: 11, admin_uin: 1, admin_nick: 'x', time: 3 } },
      { poll_type: 'sys_g_msg', value: { msg_id: 39857, from_uin: 802292893, msg_type: 35, type: 'group_request_join', gcode: 898704454, request_uin: 12, msg: 'let me in', time: 3 } },
      { poll_type: 'sys_g_msg', value: { msg_id: 39858, from_uin: 802292893, msg_type: 38, type: 'group_create', gcode: 898704454, owner_uin: 13, time: 3 } },
      { poll_type: 'group_web_message', value: { msg_id: 7, from_uin: 1, group_code: 2, group_type: 1, ver: 1, send_uin: 3, xml: '<n t="t" s="共享文件"/>', time: 4 } },
      { poll_type: 'system_message', value: { msg_id: 8, from_uin: 9, type: 'verify_required', msg: 'hi', time: 5 } },
      { poll_type: 'buddylist_change', value: { added_friends: [] } },
      { poll_type: 'tips', value: {} },
      { poll_type: 'kick_message', value: { msg_id: 53125, from_uin: 10000, to_uin: 1449732709, msg_type: 48, show_reason: 1, reason: '您的帐号在另一地点登录，您已被迫下线' } },
    ]));
    const types = evs.map((e) => e.type + (e.type === 'sys_g_msg' ? `/${e.subType}` : ''));
    expect(types).toEqual([
      'input_notify', 'shake_message',
      'sys_g_msg/group_leave', 'sys_g_msg/group_join', 'sys_g_msg/group_request_join', 'sys_g_msg/group_create',
      'group_web_message', 'system_message', 'sess_message', 'discu_message',
      'buddies_status_change', 'other', 'other', 'kick_message',
    ]);
    const kick = evs.at(-1)!;
    expect(kick.type === 'kick_message' && kick.reason).toContain('另一地点');
    const leave = evs.find((e) => e.type === 'sys_g_msg' && e.subType === 'group_leave');
    expect(leave).toMatchObject({ oldMember: 3087958343, opType: 3, tGcode: 310070477, adminNick: '创建者' });
    const sess = evs.find((e) => e.type === 'sess_message');
    expect(sess).toMatchObject({ id: 2581801127, ruin: 444674479, serviceType: 1 });
  });

  it('sorts a batch by (time, msg_id)', () => {
    const evs = events(body([buddy(5, 20), buddy(3, 10), buddy(2, 20), group(1, 15)]));
    expect(evs.map((e) => e.msgId)).toEqual([3, 1, 2, 5]);
  });

  it('returns non-zero retcodes with p and t', () => {
    expect(parsePollBody('{"retcode":102,"errmsg":""}')).toEqual({ kind: 'retcode', retcode: 102, errmsg: '' });
    expect(parsePollBody('{"retcode":116,"p":"2c0d8375"}')).toMatchObject({ kind: 'retcode', retcode: 116, p: '2c0d8375' });
    expect(parsePollBody('{"retcode":121,"t":"0"}')).toMatchObject({ kind: 'retcode', retcode: 121, t: '0' });
  });

  it('reports empty, truncated, HTML and wrong-shape bodies as malformed without throwing', () => {
    for (const b of ['', '   ', '<html>502 Bad Gateway</html>', body([buddy(1, 1)]).slice(0, 60), '[]', 'null', '42', '{"result":[]}',
      '{"retcode":0,"retmsg":"ok","errmsg":"error"}', '{"retcode":"abc"}']) {
      expect(parsePollBody(b).kind).toBe('malformed');
    }
  });

  it('skips unknown poll_types and broken events with a warning, still delivering the others', () => {
    const r = parsePollBody(body([
      buddy(1, 1), { poll_type: 'from_the_future', value: {} }, { poll_type: 'message', value: { from_uin: 'x', content: 5 } },
      { poll_type: 'group_message', value: 'nope' }, 17, null, { value: {} }, ['a'], group(2, 2),
      { poll_type: 'sys_g_msg', value: { type: 'group_join', msg_id: 9 } },
    ]));
    expect(r.kind).toBe('events');
    if (r.kind !== 'events') return;
    expect(r.events.map((e) => e.msgId)).toEqual([1, 2]);
    expect(r.skipped).toBe(8);
    expect(r.warnings.find((w) => w.reason === 'unknown poll_type')?.pollType).toBe('from_the_future');
    expect(r.warnings.some((w) => w.pollType === 'sys_g_msg')).toBe(true);
  });

  it('handles a 10 000-element batch of junk around valid events, with bounded warnings', () => {
    const junk = Array.from({ length: 10_000 }, (_, i) => (i % 2 ? { poll_type: 'nope', value: {} } : i));
    const r = parsePollBody(body([buddy(1, 1), ...junk, group(2, 2)]));
    expect(r.kind).toBe('events');
    if (r.kind !== 'events') return;
    expect(r.events.map((e) => e.type)).toEqual(['message', 'group_message']);
    expect(r.skipped).toBe(10_000);
    expect(r.warnings.length).toBeLessThanOrEqual(50);
  });

  it('accepts numeric strings and tolerates missing optional fields', () => {
    const [e] = events(body([{ poll_type: 'group_message', value: { from_uin: '858811018', msg_id: '3373', send_uin: 1786202149, content: [FONT, '123'], time: 1483848903, to_uin: 229845213 } }]));
    expect(e).toMatchObject({ type: 'group_message', gid: 858811018, groupCode: 858811018, msgId: 3373 });
  });
});

describe('EventDeduper', () => {
  it('drops re-delivered events (same poll_type, from_uin, msg_id) and forgets beyond its window', () => {
    const d = new EventDeduper(3);
    const a = events(body([buddy(1, 1), buddy(2, 2)]));
    expect(d.filter(a)).toHaveLength(2);
    expect(d.filter(events(body([buddy(2, 2), buddy(3, 3), group(2, 2)])))).toHaveLength(2);
    expect(d.size).toBe(3);
    expect(d.filter(events(body([buddy(1, 1)])))).toHaveLength(1); // 1 fell out of the 3-key window
  });
});
