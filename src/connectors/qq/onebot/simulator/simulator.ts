/**
 * A OneBot v11 implementation for tests and the demo, as NapCat behaves where the specification
 * leaves room: int32 message ids (possibly negative), `message_sent` echoes of our own sends,
 * `get_group_msg_history` (old → new, `message_seq` as the newest wanted), a wrong token either
 * refused at the upgrade (401/403) or NapCat's way (accept, retcode 1403, close). Forward mode is a
 * WebSocket server; reverse mode connects to the bridge. Strict: every action is checked
 * (validate.ts) and problems are listed as violations. The control methods drive faults: drop or
 * stall the socket, fail the next actions with a retcode, inject messages and notices.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { defaultWorld, nickOf, type World } from '../../../../simulator/world.js';
import { parseCqString, toCqString, type Segment } from '../segments.js';
import { checkMessage, intParam } from './validate.js';

export interface SimMessage {
  message_id: number;
  message_seq: number;
  group_id: number;
  user_id: number;
  time: number;
  segments: Segment[];
}

export interface SimSend {
  action: string;
  group_id: number;
  message_id: number;
  segments: Segment[];
  /** The message as a CQ string (escaped text), for reading. */
  cq: string;
  at: number;
}

export interface SimViolation {
  action: string;
  problem: string;
  at: number;
}

export interface OneBotSimulatorOptions {
  world?: World;
  accessToken?: string;
  /** How a wrong token is refused: at the upgrade (401/403), or NapCat's way (accept, 1403, close). */
  tokenRefusal?: 'http' | 'napcat';
  heartbeatIntervalMs?: number;
  /** Events' `message` as segments (default) or as CQ strings. */
  messageFormat?: 'array' | 'string';
  /** The most actions a client may have unanswered at once before it is a violation. */
  maxInFlight?: number;
  /** NapCat-like delay before answering an action. */
  answerDelayMs?: number;
}

/** How long a plain member may recall its own message (QQ's two minutes). */
const RECALL_WINDOW_S = 120;

type Failure = { retcode: number; status: 'failed'; message: string; remaining: number; action?: string };

export class OneBotSimulator {
  readonly world: World;
  readonly self: { qq: number; nick: string };
  private server: Server | undefined;
  private wss: WebSocketServer | undefined;
  private socket: WebSocket | undefined;
  private stalled = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private reverseTarget: { url: string; timer?: NodeJS.Timeout; stopped: boolean } | undefined;
  private readonly history = new Map<number, SimMessage[]>();
  private readonly usedIds = new Set<number>();
  private seq = 1000;
  private readonly sendLog: SimSend[] = [];
  private readonly violationLog: SimViolation[] = [];
  private readonly failures: Failure[] = [];
  private readonly inFlightEchoes = new Set<string>();
  private readonly forwards = new Map<string, Array<{ user_id: number; segments: Segment[] }>>();
  /** `group:qq` of the members made admins (the world names only owners). */
  private readonly admins = new Set<string>();
  /** Pictures and files members post, served at /media/<n> as NapCat serves its download URLs. */
  private readonly media: Array<{ data: Buffer; mime: string }> = [];
  /** Messages the client recalled (delete_msg answered ok), in order. */
  readonly recalls: Array<{ group_id: number; message_id: number; user_id: number; at: number }> = [];
  /** Actions the client called, in order (names only). */
  readonly calls: string[] = [];
  connections = 0;
  online = true;
  private refusing: { until: number; answerAfterMs: number } | undefined;
  /** Sends done at once but answered late (a slow implementation): how many more, and how late. */
  private slow: { remaining: number; ms: number } | undefined;
  private readonly attemptLog: Array<{ at: number; outcome: 'accepted' | 'refused' | 'failed' }> = [];

  constructor(private readonly opts: OneBotSimulatorOptions = {}) {
    this.world = opts.world ?? defaultWorld();
    const acct = this.world.accounts[0]!;
    this.self = { qq: acct.qq, nick: acct.nick };
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  /** Forward mode: a WebSocket server (any path) plus the control API under /control/. */
  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    const server = createServer((req, res) => void this.control(req, res));
    const wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req, sock, head) => {
      const auth = this.tokenOf(req);
      if (this.opts.accessToken && auth !== this.opts.accessToken && this.opts.tokenRefusal !== 'napcat') {
        const status = auth === undefined ? '401 Unauthorized' : '403 Forbidden';
        sock.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      wss.handleUpgrade(req, sock, head, (ws) => {
        if (this.opts.accessToken && auth !== this.opts.accessToken) return this.napcatRefuse(ws);
        this.adopt(ws);
      });
    });
    await new Promise<void>((r) => server.listen(port, host, () => r()));
    this.server = server;
    this.wss = wss;
    const a = server.address() as AddressInfo;
    return `ws://${host}:${a.port}`;
  }

  /** The control API's base URL (forward mode's server). */
  controlUrl(): string | undefined {
    const a = this.server?.address() as AddressInfo | undefined;
    return a ? `http://127.0.0.1:${a.port}/control` : undefined;
  }

  /** Reverse mode: connect to the bridge (and reconnect every `retryMs` while it is away). */
  connectReverse(url: string, retryMs = 200): void {
    this.reverseTarget = { url, stopped: false };
    const attempt = () => {
      const t = this.reverseTarget;
      if (!t || t.stopped) return;
      const headers: Record<string, string> = { 'X-Self-ID': String(this.self.qq), 'X-Client-Role': 'Universal', 'User-Agent': 'OneBot/11' };
      if (this.opts.accessToken) headers.Authorization = `Bearer ${this.opts.accessToken}`;
      const ws = new WebSocket(url, { headers });
      ws.on('open', () => this.adopt(ws));
      ws.on('error', () => undefined);
      ws.on('close', () => {
        if (this.socket === ws) this.socket = undefined;
        if (!t.stopped) t.timer = setTimeout(attempt, retryMs);
      });
    };
    attempt();
  }

  async close(): Promise<void> {
    if (this.reverseTarget) {
      this.reverseTarget.stopped = true;
      clearTimeout(this.reverseTarget.timer);
    }
    clearInterval(this.heartbeat);
    this.socket?.terminate();
    this.socket = undefined;
    for (const c of this.wss?.clients ?? []) c.terminate();
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = undefined;
  }

  private tokenOf(req: IncomingMessage): string | undefined {
    const h = req.headers.authorization;
    if (h) return h.replace(/^(Bearer|Token)\s+/i, '');
    return new URL(req.url ?? '/', 'http://x').searchParams.get('access_token') ?? undefined;
  }

  private napcatRefuse(ws: WebSocket): void {
    ws.send(JSON.stringify({ status: 'failed', retcode: 1403, data: null, message: 'token验证失败', wording: 'token验证失败', echo: null }), () => ws.close(1000));
  }

  private adopt(ws: WebSocket): void {
    this.socket?.terminate();
    this.socket = ws;
    this.stalled = false;
    this.connections++;
    this.inFlightEchoes.clear();
    ws.on('message', (data, isBinary) => void this.onFrame(ws, data.toString(), isBinary));
    ws.on('close', () => {
      if (this.socket === ws) this.socket = undefined;
    });
    this.emit({ post_type: 'meta_event', meta_event_type: 'lifecycle', sub_type: 'connect' });
    clearInterval(this.heartbeat);
    const interval = this.opts.heartbeatIntervalMs ?? 30_000;
    this.heartbeat = setInterval(() => this.emit({ post_type: 'meta_event', meta_event_type: 'heartbeat', status: { online: this.online, good: true }, interval }), interval);
    this.heartbeat.unref();
  }

  // ---- control -----------------------------------------------------------------------------

  /** A member says something in a group: recorded in the history, pushed as an event when connected. */
  inject(group: number, user: number, message: Segment[] | string): SimMessage {
    const segments = typeof message === 'string' ? parseCqString(message) : message;
    const m = this.record(group, user, segments);
    this.emitMessage(m);
    return m;
  }

  /** A notice (group_increase, group_recall, …) as the implementation would push it. */
  injectNotice(notice: Record<string, unknown>): void {
    this.emit({ post_type: 'notice', ...notice });
  }

  /** Any frame, verbatim (hostile input). */
  injectRaw(frame: string | Buffer): void {
    if (this.socket && !this.stalled) this.socket.send(frame);
  }

  /** A forwarded bundle that get_forward_msg will answer. */
  addForward(id: string, nodes: Array<{ user_id: number; segments: Segment[] }>): void {
    this.forwards.set(id, nodes);
  }

  /** Stores a member's picture or file; returns the URL an event's segment carries (forward mode). */
  addMedia(data: Buffer, mime: string): string {
    this.media.push({ data, mime });
    const a = this.server?.address() as AddressInfo | undefined;
    return `http://127.0.0.1:${a?.port ?? 0}/media/${this.media.length - 1}`;
  }

  /** Makes a member (the account itself too) an admin of a group, or a plain member again. */
  setAdmin(group: number, qq: number, admin = true): void {
    if (admin) this.admins.add(`${group}:${qq}`);
    else this.admins.delete(`${group}:${qq}`);
  }

  /** Moves a message's time back (to test QQ's recall window without waiting it out). */
  backdate(messageId: number, seconds: number): void {
    for (const list of this.history.values()) for (const m of list) if (m.message_id === messageId) m.time -= seconds;
  }

  /** A member recalls a message (their own, or as an admin): gone from the history, group_recall pushed. */
  recallAs(operator: number, messageId: number): SimMessage | undefined {
    for (const [gid, list] of this.history) {
      const i = list.findIndex((m) => m.message_id === messageId);
      if (i < 0) continue;
      const [m] = list.splice(i, 1);
      this.emit({ post_type: 'notice', notice_type: 'group_recall', group_id: gid, user_id: m!.user_id, operator_id: operator, message_id: messageId });
      return m;
    }
    return undefined;
  }

  drop(): void {
    this.socket?.terminate();
    this.socket = undefined;
  }

  /** The socket stays open but nothing more is sent or answered (a half-dead connection). */
  stall(): void {
    this.stalled = true;
  }

  /**
   * Risk control for `forMs`: every send is answered as NapCat answers a blocked group send —
   * after `answerAfterMs` (NapCat: ~10 s), retcode 1200, "Timeout: NTEvent … sendMsg" — and not
   * delivered (NapNeko/NapCatQQ#1410).
   */
  refuse(forMs: number, answerAfterMs = 10_000): void {
    this.refusing = { until: Date.now() + forMs, answerAfterMs };
  }

  /**
   * The next `count` sends are delivered to the group at once but answered only after `ms` (a
   * slow or overloaded implementation). If the socket drops meanwhile, the answer is lost: the
   * client cannot know the message went out.
   */
  slowSends(ms: number, count = 1): void {
    this.slow = { remaining: count, ms };
  }

  /** The QQ account logs out (NapCat's bot_offline notice; heartbeats say online: false) or back in (lifecycle connect). */
  setAccountOnline(online: boolean, reason = '账号在其他设备登录'): void {
    if (online === this.online) return;
    this.online = online;
    if (!online) this.emit({ post_type: 'notice', notice_type: 'bot_offline', user_id: this.self.qq, tag: 'BotOfflineEvent', message: reason });
    else this.emit({ post_type: 'meta_event', meta_event_type: 'lifecycle', sub_type: 'connect' });
  }

  /** Every send attempt and its outcome, in order. */
  sendAttempts(): Array<{ at: number; outcome: 'accepted' | 'refused' | 'failed' }> {
    return [...this.attemptLog];
  }

  /** The next `count` actions (of `action`, or any) fail with this retcode. */
  failNext(retcode: number, opts: { count?: number; message?: string; action?: string } = {}): void {
    this.failures.push({ retcode, status: 'failed', message: opts.message ?? `simulated failure ${retcode}`, remaining: opts.count ?? 1, ...(opts.action ? { action: opts.action } : {}) });
  }

  sends(): SimSend[] {
    return [...this.sendLog];
  }

  violations(): SimViolation[] {
    return [...this.violationLog];
  }

  messages(group: number): SimMessage[] {
    return [...(this.history.get(group) ?? [])];
  }

  get connected(): boolean {
    return this.socket !== undefined && this.socket.readyState === WebSocket.OPEN;
  }

  private async control(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const media = /^\/media\/(\d+)$/.exec(url.pathname);
    if (media) {
      const m = this.media[Number(media[1])];
      if (!m) return void res.writeHead(404).end();
      return void res.writeHead(200, { 'content-type': m.mime, 'content-length': m.data.length }).end(m.data);
    }
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (!url.pathname.startsWith('/control/')) return send(426, { error: 'OneBot WebSocket endpoint: upgrade required' });
    let body: Record<string, unknown> = {};
    if (req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      try {
        body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>) : {};
      } catch {
        return send(400, { error: 'body is not JSON' });
      }
    }
    switch (url.pathname) {
      case '/control/sends':
        return send(200, this.sends());
      case '/control/violations':
        return send(200, this.violations());
      case '/control/inject': {
        const group = Number(body.group);
        const user = Number(body.user);
        if (!Number.isSafeInteger(group) || !Number.isSafeInteger(user)) return send(400, { error: 'group and user must be numbers' });
        const m = this.inject(group, user, (body.message ?? '') as Segment[] | string);
        return send(200, { message_id: m.message_id });
      }
      case '/control/notice':
        this.injectNotice(body);
        return send(200, {});
      case '/control/recall': {
        // A member recalls a message: { message_id, operator? } (operator: an admin; default its sender).
        const id = Number(body.message_id);
        const m = [...this.history.values()].flat().find((x) => x.message_id === id);
        if (!m) return send(404, { error: `no message ${String(body.message_id)}` });
        this.recallAs(body.operator === undefined ? m.user_id : Number(body.operator), id);
        return send(200, {});
      }
      case '/control/recalls':
        return send(200, this.recalls);
      case '/control/admin': {
        const group = Number(body.group);
        const user = Number(body.user);
        if (!Number.isSafeInteger(group) || !Number.isSafeInteger(user)) return send(400, { error: 'group and user must be numbers' });
        this.setAdmin(group, user, body.admin !== false);
        return send(200, {});
      }
      case '/control/drop':
        this.drop();
        return send(200, {});
      case '/control/stall':
        this.stall();
        return send(200, {});
      case '/control/refuse':
        this.refuse(Number(body.forMs ?? 30_000), body.answerAfterMs === undefined ? undefined : Number(body.answerAfterMs));
        return send(200, {});
      case '/control/offline':
        this.setAccountOnline(false, typeof body.reason === 'string' ? body.reason : undefined);
        return send(200, {});
      case '/control/online':
        this.setAccountOnline(true);
        return send(200, {});
      case '/control/slow':
        this.slowSends(Number(body.ms ?? 5000), Number(body.count ?? 1));
        return send(200, { ok: true });
      case '/control/send-attempts':
        return send(200, this.sendAttempts());
      case '/control/fail':
        this.failNext(Number(body.retcode ?? 1200), { ...(typeof body.count === 'number' ? { count: body.count } : {}), ...(typeof body.action === 'string' ? { action: body.action } : {}) });
        return send(200, {});
      default:
        return send(404, { error: 'unknown control endpoint' });
    }
  }

  // ---- protocol ----------------------------------------------------------------------------

  private violation(action: string, problem: string): void {
    this.violationLog.push({ action, problem, at: Date.now() });
  }

  private emit(event: Record<string, unknown>): void {
    if (!this.socket || this.stalled || this.socket.readyState !== WebSocket.OPEN) return;
    this.socket.send(JSON.stringify({ time: Math.floor(Date.now() / 1000), self_id: this.self.qq, ...event }));
  }

  private emitMessage(m: SimMessage, postType: 'message' | 'message_sent' = 'message'): void {
    const member = this.member(m.group_id, m.user_id);
    const message = this.opts.messageFormat === 'string' ? toCqString(m.segments) : m.segments;
    this.emit({
      post_type: postType, message_type: 'group', sub_type: 'normal', message_id: m.message_id, message_seq: m.message_seq, real_id: m.message_id,
      group_id: m.group_id, user_id: m.user_id, anonymous: null, message, raw_message: toCqString(m.segments), font: 14,
      message_format: this.opts.messageFormat ?? 'array',
      sender: { user_id: m.user_id, nickname: nickOf(this.world, m.user_id), card: member?.card ?? '', role: this.roleOf(m.group_id, m.user_id) },
      time: m.time,
    });
  }

  /** NapCat's ids: int32, may be negative, unique. */
  private newId(): number {
    for (;;) {
      const id = (Math.random() * 2 ** 32) | 0;
      if (id !== 0 && !this.usedIds.has(id)) {
        this.usedIds.add(id);
        return id;
      }
    }
  }

  private record(group: number, user: number, segments: Segment[]): SimMessage {
    const m: SimMessage = { message_id: this.newId(), message_seq: ++this.seq, group_id: group, user_id: user, time: Math.floor(Date.now() / 1000), segments };
    const list = this.history.get(group) ?? [];
    list.push(m);
    this.history.set(group, list);
    return m;
  }

  private member(group: number, qq: number) {
    return this.world.groups.find((g) => g.number === group)?.members.find((m) => m.qq === qq);
  }

  private roleOf(group: number, qq: number): 'owner' | 'admin' | 'member' {
    if (this.world.groups.find((g) => g.number === group)?.owner === qq) return 'owner';
    return this.admins.has(`${group}:${qq}`) ? 'admin' : 'member';
  }

  /**
   * Whether the account may recall `m`, as QQ decides: its own message within two minutes, any
   * time as owner or admin; another member's only when it outranks them (owner > admin > member).
   * The refusal is worded as NapCat passes QQ's answer on.
   */
  private recallRefusal(m: SimMessage): string | undefined {
    const rank = { member: 0, admin: 1, owner: 2 } as const;
    const mine = rank[this.roleOf(m.group_id, this.self.qq)];
    const why = m.user_id === this.self.qq
      ? mine === 0 && Math.floor(Date.now() / 1000) - m.time > RECALL_WINDOW_S ? 'the message is too old to recall' : undefined
      : mine <= rank[this.roleOf(m.group_id, m.user_id)] ? 'no permission to recall this message' : undefined;
    return why && `Timeout: NTEvent serviceAndMethod:NodeIKernelMsgService/recallMsg ListenerName:NodeIKernelMsgListener/onMsgInfoListUpdate EventRet:\n{\n    "result": 7,\n    "errMsg": "${why}"\n}\n`;
  }

  private async onFrame(ws: WebSocket, text: string, isBinary: boolean): Promise<void> {
    if (this.socket !== ws || this.stalled) return;
    if (isBinary) return this.violation('?', 'a binary frame');
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return this.violation('?', 'a frame that is not JSON');
    }
    const action = typeof frame.action === 'string' ? frame.action : '?';
    this.calls.push(action);
    const echo = frame.echo;
    if (echo === undefined) this.violation(action, 'action without an echo (its answer cannot be matched)');
    const echoKey = echo === undefined ? undefined : JSON.stringify(echo);
    if (echoKey !== undefined) {
      if (this.inFlightEchoes.has(echoKey)) this.violation(action, `duplicate echo ${echoKey} while the first is unanswered`);
      this.inFlightEchoes.add(echoKey);
      if (this.inFlightEchoes.size > (this.opts.maxInFlight ?? 8)) this.violation(action, `${this.inFlightEchoes.size} actions in flight (more than ${this.opts.maxInFlight ?? 8})`);
    }
    const answer = (body: Record<string, unknown>) => {
      if (echoKey !== undefined) this.inFlightEchoes.delete(echoKey);
      if (this.socket !== ws || this.stalled || ws.readyState !== WebSocket.OPEN) return;
      ws.send(JSON.stringify({ ...body, echo: echo ?? null }));
    };
    if (this.opts.answerDelayMs) await new Promise((r) => setTimeout(r, this.opts.answerDelayMs));
    const ok = (data: unknown) => answer({ status: 'ok', retcode: 0, data, message: '', wording: '' });
    const fail = (retcode: number, message: string) => answer({ status: 'failed', retcode, data: null, message, wording: message });
    if (typeof frame.action !== 'string') {
      this.violation('?', 'a frame without an action');
      return fail(1400, 'action missing');
    }
    if (frame.params !== undefined && (typeof frame.params !== 'object' || frame.params === null || Array.isArray(frame.params))) {
      this.violation(action, 'params must be an object');
      return fail(1400, 'params must be an object');
    }
    const isSend = action === 'send_group_msg' || action === 'send_msg';
    if (isSend && this.refusing && Date.now() < this.refusing.until) {
      this.attemptLog.push({ at: Date.now(), outcome: 'refused' });
      await new Promise((r) => setTimeout(r, this.refusing!.answerAfterMs));
      return fail(1200, 'Timeout: NTEvent serviceAndMethod:NodeIKernelMsgService/sendMsg ListenerName:NodeIKernelMsgListener/onMsgInfoListUpdate EventRet:\n{\n    "result": 0,\n    "errMsg": ""\n}\n');
    }
    const failure = this.failures.find((f) => f.remaining > 0 && (!f.action || f.action === action));
    if (failure) {
      failure.remaining--;
      return fail(failure.retcode, failure.message);
    }
    const params = (frame.params ?? {}) as Record<string, unknown>;
    const problems: string[] = [];
    const result = this.act(action, params, problems);
    if (problems.length) {
      for (const p of problems) this.violation(action, p);
      return fail(1400, problems.join('; '));
    }
    if (result === undefined) return fail(1404, `unknown action ${action}`);
    if ('error' in result) return fail(result.error.retcode, result.error.message);
    if (isSend && this.slow && this.slow.remaining > 0) {
      this.slow.remaining--;
      await new Promise((r) => setTimeout(r, this.slow!.ms));
    }
    ok(result.data);
  }

  private act(action: string, p: Record<string, unknown>, problems: string[]): { data: unknown } | { error: { retcode: number; message: string } } | undefined {
    const group = (key = 'group_id') => {
      const n = intParam(p, key, problems);
      if (n === undefined) return undefined;
      return this.world.groups.find((g) => g.number === n);
    };
    switch (action) {
      case 'get_login_info':
        return { data: { user_id: this.self.qq, nickname: this.self.nick } };
      case 'get_status':
        return { data: { online: this.online, good: true } };
      case 'get_version_info':
        return { data: { app_name: 'qqbridge-onebot-simulator', app_version: '1.0.0', protocol_version: 'v11' } };
      case 'get_group_list':
        return { data: this.world.groups.filter((g) => g.members.some((m) => m.qq === this.self.qq)).map((g) => ({ group_id: g.number, group_name: g.name, member_count: g.members.length, max_member_count: 500 })) };
      case 'get_group_member_list': {
        const g = group();
        if (!g) return problems.length ? { data: null } : { error: { retcode: 1200, message: 'group not found' } };
        return { data: g.members.map((m) => ({ group_id: g.number, user_id: m.qq, nickname: nickOf(this.world, m.qq), card: m.card ?? '', role: this.roleOf(g.number, m.qq) })) };
      }
      case 'send_group_msg':
      case 'send_msg': {
        if (action === 'send_msg' && p.message_type !== 'group') problems.push('send_msg: only message_type "group" is simulated');
        const g = group();
        const { segments, problems: mp } = checkMessage(p.message, p.auto_escape);
        problems.push(...mp);
        if (problems.length) return { data: null };
        if (!g || !g.members.some((m) => m.qq === this.self.qq)) return { error: { retcode: 1200, message: `not a member of group ${String(p.group_id)}` } };
        if (!this.online) {
          this.attemptLog.push({ at: Date.now(), outcome: 'failed' });
          return { error: { retcode: 1200, message: 'the account is offline' } };
        }
        const m = this.record(g.number, this.self.qq, segments);
        this.sendLog.push({ action, group_id: g.number, message_id: m.message_id, segments, cq: toCqString(segments), at: Date.now() });
        this.attemptLog.push({ at: Date.now(), outcome: 'accepted' });
        setImmediate(() => this.emitMessage(m, 'message_sent'));
        return { data: { message_id: m.message_id } };
      }
      case 'delete_msg': {
        const id = intParam(p, 'message_id', problems);
        if (id === undefined) return { data: null };
        const m = [...this.history.values()].flat().find((x) => x.message_id === id);
        // Recalled messages leave the history: a second recall finds nothing.
        if (!m) return { error: { retcode: 1200, message: 'message not found' } };
        const refused = this.recallRefusal(m);
        if (refused) return { error: { retcode: 1200, message: refused } };
        this.recalls.push({ group_id: m.group_id, message_id: id, user_id: m.user_id, at: Date.now() });
        this.recallAs(this.self.qq, id);
        return { data: null };
      }
      case 'get_msg': {
        const id = intParam(p, 'message_id', problems);
        const m = [...this.history.values()].flat().find((x) => x.message_id === id);
        if (!m) return problems.length ? { data: null } : { error: { retcode: 1200, message: 'message not found' } };
        return { data: { message_id: m.message_id, real_id: m.message_id, time: m.time, message_type: 'group', group_id: m.group_id, sender: { user_id: m.user_id, nickname: nickOf(this.world, m.user_id) }, message: m.segments } };
      }
      case 'get_group_msg_history': {
        const g = group();
        const seq = intParam(p, 'message_seq', problems, { optional: true });
        const count = intParam(p, 'count', problems, { optional: true }) ?? 20;
        if (count < 1 || count > 100) problems.push('count must be 1..100');
        if (problems.length || !g) return problems.length ? { data: null } : { error: { retcode: 1200, message: 'group not found' } };
        const list = this.history.get(g.number) ?? [];
        const upto = seq === undefined || seq === 0 ? list.length : list.findIndex((m) => m.message_seq === seq) + 1;
        const slice = list.slice(Math.max(0, upto - count), upto);
        return {
          data: {
            messages: slice.map((m) => ({
              self_id: this.self.qq, user_id: m.user_id, time: m.time, message_id: m.message_id, real_id: m.message_id, message_seq: m.message_seq,
              message_type: 'group', group_id: m.group_id, sub_type: 'normal', message: m.segments, raw_message: toCqString(m.segments), font: 14,
              sender: { user_id: m.user_id, nickname: nickOf(this.world, m.user_id), card: this.member(m.group_id, m.user_id)?.card ?? '', role: this.roleOf(m.group_id, m.user_id) },
              post_type: m.user_id === this.self.qq ? 'message_sent' : 'message',
            })),
          },
        };
      }
      case 'get_forward_msg': {
        const id = typeof p.id === 'string' ? p.id : (problems.push('id must be a string'), undefined);
        const nodes = id !== undefined ? this.forwards.get(id) : undefined;
        if (!nodes) return problems.length ? { data: null } : { error: { retcode: 1200, message: 'forward message not found' } };
        return { data: { messages: nodes.map((n) => ({ sender: { user_id: n.user_id, nickname: nickOf(this.world, n.user_id) }, time: Math.floor(Date.now() / 1000), content: n.segments })) } };
      }
      default:
        return undefined;
    }
  }
}
