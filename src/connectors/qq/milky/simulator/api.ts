/**
 * The simulator's API endpoints. Parameters have already passed the protocol's schema (server.ts);
 * here a handler answers `data` or throws ApiFailure with the retcode a real implementation uses.
 */
import type { MilkySimState, Json, SimMessage } from './state.js';
import type { WorldGroup } from '../../../../simulator/world.js';
import { nickOf } from '../../../../simulator/world.js';

export class ApiFailure extends Error {
  constructor(readonly retcode: number, message: string) {
    super(message);
  }
}

export type Emit = (event_type: string, data: Json) => void;

function groupOf(state: MilkySimState, id: unknown): WorldGroup {
  const g = state.group(id as number);
  if (!g) throw new ApiFailure(-404, `group ${String(id)} does not exist or the account is not in it`);
  return g;
}

function sniffMime(b: Buffer): string {
  if (b[0] === 0x89 && b[1] === 0x50) return 'image/png';
  if (b[0] === 0xff && b[1] === 0xd8) return 'image/jpeg';
  if (b.subarray(0, 3).toString('latin1') === 'GIF') return 'image/gif';
  if (b.subarray(8, 12).toString('latin1') === 'WEBP') return 'image/webp';
  return 'application/octet-stream';
}

/** Outgoing segments as the group will store (and later push) them. */
function toIncoming(state: MilkySimState, g: WorldGroup, segs: Json[]): { incoming: Json[]; text: string } {
  const incoming: Json[] = [];
  let text = '';
  for (const s of segs) {
    const d = s.data as Json;
    switch (s.type) {
      case 'text':
        incoming.push(s);
        text += d.text as string;
        break;
      case 'mention':
        incoming.push({ type: 'mention', data: { user_id: d.user_id, name: nickOf(state.world, d.user_id as number) } });
        text += `@${String(d.user_id)}`;
        break;
      case 'mention_all':
        incoming.push(s);
        text += '@all';
        break;
      case 'face':
        incoming.push({ type: 'face', data: { face_id: d.face_id, is_large: Boolean(d.is_large) } });
        text += `[face:${String(d.face_id)}]`;
        break;
      case 'reply': {
        const target = state.message(g.number, d.message_seq as number);
        if (!target) throw new ApiFailure(-404, `message ${String(d.message_seq)} to reply to does not exist`);
        incoming.push({ type: 'reply', data: { message_seq: target.seq, sender_id: target.sender, time: target.time, segments: target.segments } });
        text += `[reply:${target.seq}]`;
        break;
      }
      case 'image': {
        const uri = d.uri as string;
        const m = /^base64:\/\/(.*)$/s.exec(uri);
        if (!m) throw new ApiFailure(-400, `the simulator only reads base64:// images (got ${uri.slice(0, 16)}…)`);
        const bytes = Buffer.from(m[1]!, 'base64');
        if (bytes.length === 0) throw new ApiFailure(-400, 'empty image');
        const mime = sniffMime(bytes);
        const resource_id = state.addResource(bytes, mime);
        incoming.push({ type: 'image', data: { resource_id, temp_url: '', width: 0, height: 0, summary: '[图片]', sub_type: d.sub_type ?? 'normal' } });
        text += `[image ${mime} ${bytes.length} bytes]`;
        break;
      }
      default:
        throw new ApiFailure(-400, `the simulator does not send ${String(s.type)} segments`);
    }
  }
  return { incoming, text };
}

export function handlers(state: MilkySimState, emit: Emit): Record<string, (p: Json) => Json> {
  const pushMessage = (g: WorldGroup, m: SimMessage) => emit('message_receive', state.incoming(g, m));
  return {
    get_login_info: () => ({ uin: state.self.qq, nickname: state.self.nick }),
    get_impl_info: () => ({ impl_name: 'qqbridge-milky-simulator', impl_version: '1.0.0', qq_protocol_version: '9.9.9', qq_protocol_type: 'linux', milky_version: '1.2' }),
    get_group_list: () => ({ groups: state.world.groups.filter((g) => state.group(g.number)).map((g) => state.groupEntity(g)) }),
    get_group_info: (p) => ({ group: state.groupEntity(groupOf(state, p.group_id)) }),
    get_group_member_list: (p) => {
      const g = groupOf(state, p.group_id);
      return { members: g.members.map((m) => state.memberEntity(g, m.qq)) };
    },
    get_group_member_info: (p) => {
      const g = groupOf(state, p.group_id);
      if (!g.members.some((m) => m.qq === p.user_id)) throw new ApiFailure(-404, `${String(p.user_id)} is not in group ${g.number}`);
      return { member: state.memberEntity(g, p.user_id as number) };
    },
    send_group_message: (p) => {
      const g = groupOf(state, p.group_id);
      const segs = p.message as Json[];
      if (segs.length === 0) throw new ApiFailure(-400, 'message is empty');
      const { incoming, text } = toIncoming(state, g, segs);
      const m = state.record(g.number, state.self.qq, incoming);
      const at = Date.now();
      state.sent.push({ group: g.number, message_seq: m.seq, segments: segs, text, at });
      state.attempts.push({ at, outcome: 'accepted' });
      // Implementations push the account's own messages too; a client must not echo them.
      pushMessage(g, m);
      return { message_seq: m.seq, time: m.time };
    },
    recall_group_message: (p) => {
      const g = groupOf(state, p.group_id);
      const m = state.message(g.number, p.message_seq as number);
      // Recalled messages leave the history: a second recall finds nothing.
      if (!m) throw new ApiFailure(-404, `message ${String(p.message_seq)} does not exist`);
      const refused = state.recallRefusal(g, m);
      if (refused) throw new ApiFailure(-403001, refused);
      state.recall(g.number, m.seq);
      state.recalls.push({ group: g.number, message_seq: m.seq, sender: m.sender });
      emit('message_recall', { message_scene: 'group', peer_id: g.number, message_seq: m.seq, sender_id: m.sender, operator_id: state.self.qq, display_suffix: '' });
      return {};
    },
    get_message: (p) => {
      if (p.message_scene !== 'group') throw new ApiFailure(-404, 'the simulator has only group messages');
      const g = groupOf(state, p.peer_id);
      const m = state.message(g.number, p.message_seq as number);
      if (!m) throw new ApiFailure(-404, `message ${String(p.message_seq)} does not exist`);
      return { message: state.incoming(g, m) };
    },
    get_history_messages: (p) => {
      if (p.message_scene !== 'group') throw new ApiFailure(-404, 'the simulator has only group messages');
      const g = groupOf(state, p.peer_id);
      const newest = state.newestSeq(g.number);
      if (newest === undefined) return { messages: [], next_message_seq: null };
      const start = Math.min(newest, (p.start_message_seq as number | null | undefined) ?? newest);
      const limit = p.limit as number;
      const from = Math.max(1001, start - limit + 1);
      const messages: Json[] = [];
      for (let s = from; s <= start; s++) {
        const m = state.message(g.number, s);
        if (m) messages.push(state.incoming(g, m));
      }
      return { messages, next_message_seq: from > 1001 ? from - 1 : null };
    },
    get_resource_temp_url: (p) => {
      if (!state.hasResource(p.resource_id as string)) throw new ApiFailure(-404, 'no such resource');
      return { url: state.tempUrl(p.resource_id as string) };
    },
    get_group_file_download_url: (p) => {
      const g = groupOf(state, p.group_id);
      const f = state.files.get(p.file_id as string);
      if (!f || f.group !== g.number) throw new ApiFailure(-404, 'no such file in this group');
      return { download_url: state.tempUrl(f.resourceId) };
    },
    get_forwarded_messages: (p) => {
      const f = state.forwards.get(p.forward_id as string);
      if (!f) throw new ApiFailure(-404, 'no such forward');
      return { messages: f };
    },
  };
}
