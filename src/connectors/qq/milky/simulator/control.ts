/**
 * The control API (JSON over HTTP on its own port): what happens in QQ (messages, notices,
 * recalls), faults (drop or stall the streams, fail the next calls with a retcode, go offline,
 * push raw frames) and the records tests assert on (sends decoded, violations).
 */
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { MilkyWire } from './server.js';
import type { Json, MilkySimState } from './state.js';

class BadRequest extends Error {}
const bad = (m: string): never => {
  throw new BadRequest(m);
};
const int = (v: unknown, what: string): number => (typeof v === 'number' && Number.isSafeInteger(v) ? v : bad(`${what} must be a whole number`));

export function createControl(state: MilkySimState, wire: MilkyWire): Server {
  const routes: Record<string, (b: Json) => unknown> = {
    'POST /inject': (b) => {
      const g = state.group(int(b.group, 'group')) ?? bad(`no group ${String(b.group)} with the account in it`);
      const from = int(b.from ?? g.members.find((m) => m.qq !== state.self.qq)?.qq, 'from');
      if (!g.members.some((m) => m.qq === from)) bad(`${from} is not in group ${g.number}`);
      let segments: Json[] = [];
      if (b.segments !== undefined) segments = Array.isArray(b.segments) ? (b.segments as Json[]) : bad('"segments" must be an array of incoming segments');
      else if (typeof b.text === 'string') segments = [{ type: 'text', data: { text: b.text } }];
      const img = b.image as { data?: unknown; mime?: unknown } | undefined;
      if (img) {
        const data = typeof img.data === 'string' ? Buffer.from(img.data, 'base64') : bad('"image.data" must be base64');
        const resource_id = state.addResource(data, typeof img.mime === 'string' ? img.mime : 'image/png');
        segments.push({ type: 'image', data: { resource_id, temp_url: '', width: 1, height: 1, summary: '[图片]', sub_type: 'normal' } });
      }
      if (segments.length === 0) bad('give "text", "segments" or "image"');
      const count = b.count === undefined ? 1 : int(b.count, 'count');
      const seqs: number[] = [];
      for (let i = 0; i < count; i++) {
        const segs = count > 1 ? segments.map((s) => (s.type === 'text' ? { type: 'text', data: { text: `${(s.data as Json).text as string} ${i + 1}` } } : s)) : segments;
        const m = state.record(g.number, from, segs);
        seqs.push(m.seq);
        wire.emit('message_receive', state.incoming(g, m));
      }
      return { message_seq: seqs[seqs.length - 1], message_seqs: seqs };
    },
    'POST /forward': (b) => {
      const messages = Array.isArray(b.messages) ? (b.messages as Json[]) : bad('"messages" must be IncomingForwardedMessage[]');
      const forward_id = randomBytes(8).toString('hex');
      state.forwards.set(forward_id, messages);
      return { forward_id };
    },
    'POST /resource': (b) => {
      const data = typeof b.data === 'string' ? Buffer.from(b.data, 'base64') : bad('"data" must be base64');
      return { resource_id: state.addResource(data, typeof b.mime === 'string' ? b.mime : 'application/octet-stream') };
    },
    'POST /group-file': (b) => {
      const g = state.group(int(b.group, 'group')) ?? bad(`no group ${String(b.group)}`);
      const data = typeof b.data === 'string' ? Buffer.from(b.data, 'base64') : bad('"data" must be base64');
      const name = typeof b.name === 'string' ? b.name : bad('"name" must be a string');
      const resourceId = state.addResource(data, typeof b.mime === 'string' ? b.mime : 'application/octet-stream');
      const file_id = randomBytes(8).toString('hex');
      state.files.set(file_id, { group: g.number, resourceId, name, size: data.length });
      return { file_id, file_name: name, file_size: data.length };
    },
    'POST /notice': (b) => {
      const g = state.group(int(b.group, 'group')) ?? bad(`no group ${String(b.group)}`);
      const user = int(b.user, 'user');
      if (b.type === 'member_increase') {
        if (!g.members.some((m) => m.qq === user)) g.members.push({ qq: user });
        wire.emit('group_member_increase', { group_id: g.number, user_id: user });
      } else if (b.type === 'member_decrease') {
        g.members = g.members.filter((m) => m.qq !== user);
        wire.emit('group_member_decrease', { group_id: g.number, user_id: user });
      } else bad('"type" must be member_increase or member_decrease');
      return {};
    },
    'POST /recall': (b) => {
      const g = state.group(int(b.group, 'group')) ?? bad(`no group ${String(b.group)}`);
      const m = state.recall(g.number, int(b.seq, 'seq')) ?? bad(`no message ${String(b.seq)}`);
      // `operator`: an admin recalling someone else's message (default: its sender).
      const operator = b.operator === undefined ? m.sender : int(b.operator, 'operator');
      wire.emit('message_recall', { message_scene: 'group', peer_id: g.number, message_seq: m.seq, sender_id: m.sender, operator_id: operator, display_suffix: '' });
      return {};
    },
    'POST /admin': (b) => {
      const g = state.group(int(b.group, 'group')) ?? bad(`no group ${String(b.group)}`);
      const key = `${g.number}:${int(b.user, 'user')}`;
      if (b.admin === false) state.admins.delete(key);
      else state.admins.add(key);
      return {};
    },
    'POST /backdate': (b) => {
      const m = state.message(int(b.group, 'group'), int(b.seq, 'seq')) ?? bad(`no message ${String(b.seq)}`);
      m.time -= int(b.seconds, 'seconds');
      return { time: m.time };
    },
    'GET /recalls': () => state.recalls,
    'POST /raw': (b) => {
      wire.pushRaw(typeof b.frame === 'string' ? b.frame : bad('"frame" must be a string'));
      return {};
    },
    'POST /drop': () => ({ dropped: wire.dropStreams() }),
    'POST /stall': (b) => {
      wire.stalled = b.on !== false;
      return { stalled: wire.stalled };
    },
    'POST /offline': (b) => {
      // The account is logged out: bot_offline once (the spec's only account event), then -403 to
      // every call. Back online there is no event in Milky: calls simply succeed again.
      const on = b.on !== false;
      if (on && !state.offline) wire.emit('bot_offline', { reason: typeof b.reason === 'string' ? b.reason : '账号在其他设备登录' });
      state.offline = on;
      return { offline: state.offline };
    },
    'POST /refuse': (b) => {
      state.refusingUntil = Date.now() + int(b.forMs ?? 30_000, 'forMs');
      return { refusingUntil: state.refusingUntil };
    },
    'GET /attempts': () => state.attempts,
    'POST /slow': (b) => {
      wire.slow = { endpoint: typeof b.endpoint === 'string' ? b.endpoint : 'send_group_message', ms: int(b.ms ?? 5000, 'ms'), remaining: b.count === undefined ? 1 : int(b.count, 'count') };
      return {};
    },
    'POST /restart': (b) => {
      if (wire.down) bad('already restarting');
      const downMs = b.downMs === undefined ? 1000 : int(b.downMs, 'downMs');
      wire.restart(downMs).catch(() => undefined);
      return { downMs };
    },
    'POST /fail': (b) => {
      const endpoint = typeof b.endpoint === 'string' ? b.endpoint : '*';
      state.faults.push({ endpoint, retcode: int(b.retcode, 'retcode'), remaining: b.count === undefined ? 1 : int(b.count, 'count') });
      return {};
    },
    'POST /webhooks': (b) => {
      wire.webhooks = Array.isArray(b.urls) ? (b.urls as string[]) : bad('"urls" must be an array');
      return {};
    },
    'GET /sent': () => state.sent,
    'GET /violations': () => state.violations,
    'GET /streams': () => ({ websocket: [...wire.sinks].filter((s) => s.kind === 'websocket').length, sse: [...wire.sinks].filter((s) => s.kind === 'sse').length, pushed: wire.pushed }),
  };
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const route = routes[`${req.method} ${new URL(req.url ?? '/', 'http://x').pathname}`];
      const send = (status: number, v: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(v));
      if (!route) return send(404, { error: 'no such control route' });
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        send(200, route(text ? (JSON.parse(text) as Json) : {}));
      } catch (e) {
        send(e instanceof BadRequest || e instanceof SyntaxError ? 400 : 500, { error: (e as Error).message });
      }
    });
  });
}
