/**
 * A fake Matrix homeserver over real HTTP, for the parts of the client-server and
 * application-service APIs (spec v1.x) qqbridge uses: AS registration and `?user_id=`
 * masquerading, rooms (create, join, invite, leave, state, power levels), idempotent sends per
 * txnId, profiles, media (v3 and authenticated v1), aliases with AS alias queries, and pushing
 * transactions to the bridge. Errors have the spec's `{errcode, error}` shape. Failures (5xx,
 * 429 with retry_after_ms) can be injected. Like a real homeserver, a transaction the bridge did
 * not acknowledge with 2xx is kept and can be resent with the same txnId (`resendFailed`).
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeEvent {
  event_id: string;
  room_id: string;
  sender: string;
  type: string;
  state_key?: string;
  content: Record<string, unknown>;
  origin_server_ts: number;
  redacts?: string;
  /** Set once the event is redacted (its content is stripped then, as a homeserver does). */
  unsigned?: { redacted_because?: FakeEvent };
}

interface Room {
  id: string;
  public: boolean;
  members: Map<string, 'join' | 'invite' | 'leave'>;
  state: Map<string, Record<string, unknown>>;
  events: FakeEvent[];
}

interface Injected {
  status: number;
  errcode: string;
  retryAfterMs?: number;
  remaining: number;
  match: RegExp;
}

class HttpError extends Error {
  constructor(readonly status: number, readonly errcode: string, message: string, readonly extra: Record<string, unknown> = {}) {
    super(message);
  }
}

export interface FakeHomeserverOptions {
  domain: string;
  asToken: string;
  hsToken: string;
  senderLocalpart: string;
  /** Regex of the AS user namespace. */
  userNamespace: string;
  aliasNamespace: string;
  /** Where the bridge listens; set later with `setAppserviceUrl` when it uses port 0. */
  appserviceUrl?: string;
  /** Push every new event to the appservice as its own transaction (default true). */
  autoPush?: boolean;
  /**
   * How transactions and queries reach the appservice: `v1` (`/_matrix/app/v1/...` with an
   * `Authorization` header, Synapse 1.90+) or `legacy` (`/transactions/...`, `/users/...`,
   * `/rooms/...` with `?access_token=` and no header, as Synapse before 1.70 does). Default `v1`.
   */
  pushPaths?: 'v1' | 'legacy';
}

export class FakeHomeserver {
  readonly rooms = new Map<string, Room>();
  readonly users = new Set<string>();
  readonly profiles = new Map<string, string>();
  /** Global avatar (mxc URL) per user. */
  readonly avatars = new Map<string, string>();
  readonly aliases = new Map<string, string>();
  readonly media = new Map<string, { data: Buffer; type: string }>();
  /** `user\0room\0type` → room account data content. */
  readonly roomAccountData = new Map<string, Record<string, unknown>>();
  /** Every request: method, path (no query), user acted as. */
  readonly requests: { method: string; path: string; userId: string | undefined; status: number }[] = [];
  /** Transactions pushed to the appservice, with the status it answered and when (ms). */
  readonly pushed: { txnId: string; status: number; at: number }[] = [];
  /** Transactions the appservice did not acknowledge (non-2xx or unreachable), oldest first. */
  readonly unacknowledged: { txnId: string; events: FakeEvent[] }[] = [];
  /** Every media upload: the filename the client gave, content type and size. */
  readonly uploads: { filename: string | undefined; type: string; size: number }[] = [];
  /** The media repository's upload limit (Synapse's max_upload_size, default 50M); larger is 413 M_TOO_LARGE. */
  maxUploadBytes = 50 * 1024 * 1024;
  readonly botUserId: string;
  private readonly txns = new Map<string, string>();
  private injected: Injected[] = [];
  private server: http.Server | undefined;
  private counter = 0;
  private pushChain: Promise<unknown> = Promise.resolve();
  private appserviceUrl: string | undefined;

  constructor(private readonly o: FakeHomeserverOptions) {
    this.botUserId = `@${o.senderLocalpart}:${o.domain}`;
    this.users.add(this.botUserId);
    this.appserviceUrl = o.appserviceUrl;
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  setAppserviceUrl(url: string): void {
    this.appserviceUrl = url;
  }

  /**
   * A homeserver restart as Synapse does it: transaction ids start again at 1 (its sqlite store
   * numbers them from the highest undelivered one, and delivered ones are deleted).
   */
  restartTransactionIds(): void {
    this.counter = 0;
  }

  /** Where a push or query for `kind` goes, and how it carries the hs_token. */
  private appserviceRequest(kind: 'transactions' | 'users' | 'rooms', id: string, token = this.o.hsToken): { url: string; headers: Record<string, string> } {
    if (this.o.pushPaths === 'legacy') {
      return { url: `${this.appserviceUrl}/${kind}/${encodeURIComponent(id)}?access_token=${encodeURIComponent(token)}`, headers: {} };
    }
    return { url: `${this.appserviceUrl}/_matrix/app/v1/${kind}/${encodeURIComponent(id)}`, headers: { Authorization: `Bearer ${token}` } };
  }

  async stop(): Promise<void> {
    await this.pushChain.catch(() => undefined);
    await new Promise<void>((r) => {
      if (!this.server) return r();
      this.server.close(() => r());
      this.server.closeAllConnections();
    });
  }

  /** The next `count` requests whose path matches answer with this error. */
  failNext(count: number, error: { status: number; errcode: string; retryAfterMs?: number }, match = /\/send\//): void {
    this.injected.push({ ...error, remaining: count, match });
  }

  // --------------------------------------------------------------- test-side actions (a human's client)

  /** A room made by a human user (invite-only unless `public`), with power levels. */
  createRoomAs(creator: string, o: { public?: boolean; powerLevels?: Record<string, number>; name?: string } = {}): string {
    this.users.add(creator);
    const room = this.newRoom(o.public ?? false);
    this.setMember(room, creator, 'join');
    this.addState(room, creator, 'm.room.power_levels', '', { users: { [creator]: 100, ...o.powerLevels }, users_default: 0 });
    if (o.name) this.addState(room, creator, 'm.room.name', '', { name: o.name });
    return room.id;
  }

  joinAs(user: string, roomId: string, displayname?: string): void {
    this.users.add(user);
    if (displayname) this.profiles.set(user, displayname);
    this.setMember(this.room(roomId), user, 'join');
  }

  inviteAs(inviter: string, roomId: string, invitee: string): void {
    this.setMember(this.room(roomId), invitee, 'invite', inviter);
  }

  /** A moderator removes `user` from the room. */
  kickAs(moderator: string, roomId: string, user: string): void {
    const room = this.room(roomId);
    if (this.powerOf(room, moderator) < 50) throw new Error(`${moderator} may not kick in ${roomId}`);
    this.setMember(room, user, 'leave', moderator);
  }

  /** A human user posts a message; returns its event id. */
  sendAs(user: string, roomId: string, content: Record<string, unknown>, type = 'm.room.message'): string {
    const room = this.room(roomId);
    if (room.members.get(user) !== 'join') throw new Error(`${user} is not in ${roomId}`);
    return this.addEvent(room, user, type, content).event_id;
  }

  uploadAs(data: Buffer, type: string): string {
    const id = crypto.randomBytes(8).toString('hex');
    this.media.set(id, { data, type });
    return `mxc://${this.o.domain}/${id}`;
  }

  /** A human user redacts an event (room v11 shape: `redacts` in the content and at the top). */
  redactAs(user: string, roomId: string, eventId: string, reason?: string): string {
    const room = this.room(roomId);
    if (room.members.get(user) !== 'join') throw new Error(`${user} is not in ${roomId}`);
    const ev = this.addEvent(room, user, 'm.room.redaction', { redacts: eventId, ...(reason ? { reason } : {}) }, undefined, eventId);
    this.applyRedaction(room, ev);
    return ev.event_id;
  }

  /** The redaction event that redacted `eventId`, if it was redacted. */
  redactionOf(eventId: string): FakeEvent | undefined {
    return this.event(eventId)?.unsigned?.redacted_because;
  }

  /**
   * Resends, in order and with their own txnIds, the transactions not acknowledged yet; returns the
   * answers. It runs in the push queue, as a homeserver sends an appservice's transactions one at
   * a time: an event posted meanwhile waits behind the resent ones instead of overtaking them.
   */
  resendFailed(): Promise<number[]> {
    const run = this.pushChain.catch(() => undefined).then(async () => {
      const statuses: number[] = [];
      const list = this.unacknowledged.splice(0);
      for (const [i, t] of list.entries()) {
        const status = await this.pushTransaction(t.events, t.txnId).catch(() => 0);
        statuses.push(status);
        if (status < 200 || status >= 300) {
          this.unacknowledged.unshift(t, ...list.slice(i + 1));
          break;
        }
      }
      return statuses;
    });
    this.pushChain = run.catch(() => undefined);
    return run;
  }

  /** Waits until every automatic push so far was answered. */
  async settled(): Promise<void> {
    await this.pushChain.catch(() => undefined);
  }

  /** Messages (m.room.message) of a room, in order. */
  messages(roomId: string): FakeEvent[] {
    return this.room(roomId).events.filter((e) => e.type === 'm.room.message');
  }

  memberName(roomId: string, user: string): string | undefined {
    return this.room(roomId).state.get(`m.room.member\0${user}`)?.displayname as string | undefined;
  }

  membership(roomId: string, user: string): string | undefined {
    return this.room(roomId).members.get(user);
  }

  event(eventId: string): FakeEvent | undefined {
    for (const r of this.rooms.values()) for (const e of r.events) if (e.event_id === eventId) return e;
    return undefined;
  }

  /** Pushes events to the appservice as transaction `txnId`, the way a homeserver does; returns the status. */
  async pushTransaction(events: FakeEvent[], txnId = String(++this.counter), token = this.o.hsToken): Promise<number> {
    if (!this.appserviceUrl) throw new Error('no appservice URL');
    const target = this.appserviceRequest('transactions', txnId, token);
    const res = await fetch(target.url, {
      method: 'PUT',
      headers: { ...target.headers, 'Content-Type': 'application/json' },
      body: JSON.stringify({ events }),
      redirect: 'manual', // a homeserver does not follow redirects on PUT
    });
    await res.text();
    this.pushed.push({ txnId, status: res.status, at: Date.now() });
    return res.status;
  }

  /** Resolves an alias as a client's GET /directory/room would, asking the appservice for its namespace. */
  async resolveAlias(alias: string): Promise<string | undefined> {
    const known = this.aliases.get(alias);
    if (known) return known;
    if (!new RegExp(`^${this.o.aliasNamespace}$`).test(alias) || !this.appserviceUrl) return undefined;
    const target = this.appserviceRequest('rooms', alias);
    const res = await fetch(target.url, { headers: target.headers, redirect: 'manual' });
    await res.text();
    return res.ok ? this.aliases.get(alias) : undefined;
  }

  // --------------------------------------------------------------- internals

  private room(id: string): Room {
    const r = this.rooms.get(id);
    if (!r) throw new HttpError(404, 'M_NOT_FOUND', `unknown room ${id}`);
    return r;
  }

  private newRoom(isPublic: boolean): Room {
    const room: Room = { id: `!${crypto.randomBytes(6).toString('hex')}:${this.o.domain}`, public: isPublic, members: new Map(), state: new Map(), events: [] };
    this.rooms.set(room.id, room);
    return room;
  }

  private addEvent(room: Room, sender: string, type: string, content: Record<string, unknown>, stateKey?: string, redacts?: string): FakeEvent {
    const ev: FakeEvent = { event_id: `$${crypto.randomBytes(9).toString('base64url')}`, room_id: room.id, sender, type, content, origin_server_ts: Date.now() };
    if (stateKey !== undefined) ev.state_key = stateKey;
    if (redacts !== undefined) ev.redacts = redacts;
    room.events.push(ev);
    if (this.o.autoPush !== false && this.appserviceUrl) {
      const txnId = String(++this.counter);
      // The transaction carries the event as it was sent: a later redaction does not reach back into it.
      const sent = structuredClone(ev);
      this.pushChain = this.pushChain.then(async () => {
        // Behind an unacknowledged transaction, later ones wait too (order is kept).
        if (this.unacknowledged.length > 0) {
          this.unacknowledged.push({ txnId, events: [sent] });
          return;
        }
        const status = await this.pushTransaction([sent], txnId).catch(() => 0);
        if (status < 200 || status >= 300) this.unacknowledged.push({ txnId, events: [sent] });
      });
    }
    return ev;
  }

  /** Strips the redacted event's content (m.room.message keeps none of its keys). */
  private applyRedaction(room: Room, redaction: FakeEvent): void {
    const target = room.events.find((e) => e.event_id === redaction.redacts);
    if (!target || target.unsigned?.redacted_because) return;
    target.content = {};
    target.unsigned = { redacted_because: redaction };
  }

  private addState(room: Room, sender: string, type: string, key: string, content: Record<string, unknown>): FakeEvent {
    room.state.set(`${type}\0${key}`, content);
    return this.addEvent(room, sender, type, content, key);
  }

  private setMember(room: Room, user: string, membership: 'join' | 'invite' | 'leave', sender = user, displayname?: string): FakeEvent {
    room.members.set(user, membership);
    const content: Record<string, unknown> = { membership };
    const name = displayname ?? this.profiles.get(user);
    if (membership === 'join' && name) content.displayname = name;
    return this.addState(room, sender, 'm.room.member', user, content);
  }

  private powerOf(room: Room, user: string): number {
    const pl = room.state.get('m.room.power_levels\0') as { users?: Record<string, number>; users_default?: number } | undefined;
    return pl?.users?.[user] ?? pl?.users_default ?? 0;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    let userId: string | undefined;
    let status = 200;
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const raw = Buffer.concat(chunks);
      const auth = req.headers.authorization?.replace(/^Bearer /, '') ?? url.searchParams.get('access_token');
      if (!auth) throw new HttpError(401, 'M_MISSING_TOKEN', 'Missing access token');
      if (auth !== this.o.asToken) throw new HttpError(401, 'M_UNKNOWN_TOKEN', 'Unrecognised access token');
      userId = url.searchParams.get('user_id') ?? this.botUserId;
      const inNamespace = new RegExp(`^${this.o.userNamespace}$`).test(userId);
      if (userId !== this.botUserId && !inNamespace) throw new HttpError(403, 'M_EXCLUSIVE', `Application service cannot masquerade as ${userId}`);
      const inj = this.injected.find((i) => i.match.test(url.pathname));
      if (inj) {
        if (--inj.remaining <= 0) this.injected = this.injected.filter((i) => i !== inj);
        throw new HttpError(inj.status, inj.errcode, inj.status === 429 ? 'Too Many Requests' : 'Internal server error', inj.retryAfterMs !== undefined ? { retry_after_ms: inj.retryAfterMs } : {});
      }
      const isRegister = url.pathname === '/_matrix/client/v3/register';
      if (!isRegister && !this.users.has(userId)) throw new HttpError(403, 'M_FORBIDDEN', 'Application service has not registered this user');
      const body = req.headers['content-type']?.startsWith('application/json') && raw.length ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {};
      const out = await this.route(req.method ?? 'GET', url, userId, body, raw, req.headers['content-type'] ?? 'application/octet-stream', res);
      if (out === undefined) return;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(out));
    } catch (e) {
      const err = e instanceof HttpError ? e : new HttpError(500, 'M_UNKNOWN', (e as Error).message);
      status = err.status;
      res.writeHead(err.status, { 'Content-Type': 'application/json' }).end(JSON.stringify({ errcode: err.errcode, error: err.message, ...err.extra }));
    } finally {
      this.requests.push({ method: req.method ?? '', path: url.pathname, userId, status: res.statusCode || status });
    }
  }

  private async route(method: string, url: URL, user: string, body: Record<string, unknown>, raw: Buffer, contentType: string, res: http.ServerResponse): Promise<unknown> {
    const p = url.pathname;
    const seg = p.split('/').map(decodeURIComponent);
    let m: RegExpExecArray | null;
    if (method === 'POST' && p === '/_matrix/client/v3/register') {
      if (body.type !== 'm.login.application_service') throw new HttpError(400, 'M_UNKNOWN', 'only m.login.application_service here');
      const name = `@${String(body.username)}:${this.o.domain}`;
      if (!new RegExp(`^${this.o.userNamespace}$`).test(name)) throw new HttpError(400, 'M_EXCLUSIVE', `${name} is not in the appservice namespace`);
      if (this.users.has(name)) throw new HttpError(400, 'M_USER_IN_USE', 'User ID already taken.');
      this.users.add(name);
      return { user_id: name };
    }
    if (method === 'POST' && (m = /^\/_matrix\/client\/v3\/join\/([^/]+)$/.exec(p))) {
      let id = decodeURIComponent(m[1]!);
      if (id.startsWith('#')) id = (await this.resolveAlias(id)) ?? '';
      const room = this.room(id);
      if (room.members.get(user) === 'join') return { room_id: room.id };
      if (!room.public && room.members.get(user) !== 'invite') throw new HttpError(403, 'M_FORBIDDEN', 'You are not invited to this room.');
      this.setMember(room, user, 'join');
      return { room_id: room.id };
    }
    if (seg[1] === '_matrix' && seg[2] === 'client' && seg[3] === 'v3' && seg[4] === 'rooms' && seg[5]) {
      const room = this.room(seg[5]);
      const action = seg[6];
      if (method === 'POST' && action === 'invite') {
        if (room.members.get(user) !== 'join') throw new HttpError(403, 'M_FORBIDDEN', `${user} is not in the room`);
        const invitee = String(body.user_id);
        if (room.members.get(invitee) === 'join') throw new HttpError(403, 'M_FORBIDDEN', `${invitee} is already in the room`);
        this.setMember(room, invitee, 'invite', user);
        return {};
      }
      if (method === 'POST' && action === 'leave') {
        if (!room.members.has(user)) throw new HttpError(403, 'M_FORBIDDEN', 'User is not in the room');
        this.setMember(room, user, 'leave');
        return {};
      }
      if (method === 'PUT' && action === 'send' && seg[7] && seg[8]) {
        if (room.members.get(user) !== 'join') throw new HttpError(403, 'M_FORBIDDEN', `User ${user} not in room ${room.id}`);
        const key = `${user}\0${room.id}\0${seg[8]}`;
        const prior = this.txns.get(key);
        if (prior) return { event_id: prior };
        const ev = this.addEvent(room, user, seg[7], body);
        this.txns.set(key, ev.event_id);
        return { event_id: ev.event_id };
      }
      if (method === 'PUT' && action === 'redact' && seg[7] && seg[8]) {
        // As Synapse 1.67 decides (handlers/message.py, event_auth.check_redaction): with the
        // room's redact level (default 50) anything goes, even an unknown event; below it only the
        // sender's own, existing event.
        if (room.members.get(user) !== 'join') throw new HttpError(403, 'M_FORBIDDEN', `User ${user} not in room ${room.id}`);
        const key = `${user}\0${room.id}\0redact\0${seg[8]}`;
        const prior = this.txns.get(key);
        if (prior) return { event_id: prior };
        const target = room.events.find((e) => e.event_id === seg[7]);
        if (target?.type === 'm.room.create') throw new HttpError(403, 'M_FORBIDDEN', 'Redacting create events is not permitted');
        const pl = room.state.get('m.room.power_levels\0') as { redact?: number } | undefined;
        if (this.powerOf(room, user) < (pl?.redact ?? 50)) {
          if (!target) throw new HttpError(404, 'M_NOT_FOUND', `Could not find event ${seg[7]}`);
          if (target.sender !== user) throw new HttpError(403, 'M_FORBIDDEN', "You don't have permission to redact events");
        }
        const ev = this.addEvent(room, user, 'm.room.redaction', body, undefined, seg[7]);
        this.applyRedaction(room, ev);
        this.txns.set(key, ev.event_id);
        return { event_id: ev.event_id };
      }
      if (method === 'GET' && action === 'event' && seg[7]) {
        // The spec answers 404 both for an unknown event and for one the requester may not see.
        const ev = room.members.get(user) === 'join' ? room.events.find((e) => e.event_id === seg[7]) : undefined;
        if (!ev) throw new HttpError(404, 'M_NOT_FOUND', 'Event not found.');
        return ev;
      }
      if (action === 'state' && seg[7]) {
        const type = seg[7];
        const key = seg[8] ?? '';
        if (method === 'GET') {
          const c = room.state.get(`${type}\0${key}`);
          if (!c) throw new HttpError(404, 'M_NOT_FOUND', 'Event not found.');
          return c;
        }
        if (method === 'PUT') {
          if (room.members.get(user) !== 'join') throw new HttpError(403, 'M_FORBIDDEN', 'not in room');
          if (type === 'm.room.member' && key !== user) throw new HttpError(403, 'M_FORBIDDEN', 'cannot set another user\'s membership');
          if (type !== 'm.room.member' && this.powerOf(room, user) < 50) throw new HttpError(403, 'M_FORBIDDEN', 'power level too low');
          if (type === 'm.room.member') room.members.set(user, body.membership as 'join');
          return { event_id: this.addState(room, user, type, key, body).event_id };
        }
      }
    }
    if ((m = /^\/_matrix\/client\/v3\/user\/([^/]+)\/rooms\/([^/]+)\/account_data\/([^/]+)$/.exec(p)) && (method === 'GET' || method === 'PUT')) {
      // Room account data, as Synapse keeps it: a user's own, 404 until written.
      const [target, roomId, type] = [m[1]!, m[2]!, m[3]!].map(decodeURIComponent) as [string, string, string];
      if (target !== user) throw new HttpError(403, 'M_FORBIDDEN', `Cannot ${method === 'GET' ? 'get' : 'add'} account data for other users.`);
      const key = `${user}\0${roomId}\0${type}`;
      if (method === 'PUT') {
        this.roomAccountData.set(key, body);
        return {};
      }
      const data = this.roomAccountData.get(key);
      if (!data) throw new HttpError(404, 'M_NOT_FOUND', 'Room account data not found');
      return data;
    }
    if (method === 'GET' && (m = /^\/_matrix\/client\/v3\/profile\/([^/]+)\/displayname$/.exec(p))) {
      const target = decodeURIComponent(m[1]!);
      const name = this.profiles.get(target);
      if (!this.users.has(target)) throw new HttpError(404, 'M_NOT_FOUND', 'Profile was not found');
      return name === undefined ? {} : { displayname: name };
    }
    if (method === 'PUT' && (m = /^\/_matrix\/client\/v3\/profile\/([^/]+)\/displayname$/.exec(p))) {
      const target = decodeURIComponent(m[1]!);
      if (target !== user) throw new HttpError(403, 'M_FORBIDDEN', 'Cannot set another user\'s displayname');
      this.profiles.set(user, String(body.displayname));
      for (const room of this.rooms.values()) {
        if (room.members.get(user) === 'join') this.setMember(room, user, 'join', user, String(body.displayname));
      }
      return {};
    }
    if (method === 'PUT' && (m = /^\/_matrix\/client\/v3\/profile\/([^/]+)\/avatar_url$/.exec(p))) {
      const target = decodeURIComponent(m[1]!);
      if (target !== user) throw new HttpError(403, 'M_FORBIDDEN', 'Cannot set another user\'s avatar_url');
      if (typeof body.avatar_url !== 'string') throw new HttpError(400, 'M_BAD_JSON', 'Missing key \'avatar_url\'');
      this.avatars.set(user, body.avatar_url);
      for (const room of this.rooms.values()) {
        if (room.members.get(user) === 'join') this.setMember(room, user, 'join', user, this.profiles.get(user));
      }
      return {};
    }
    if (method === 'POST' && p === '/_matrix/media/v3/upload') {
      if (raw.length > this.maxUploadBytes) throw new HttpError(413, 'M_TOO_LARGE', 'Upload request body is too large');
      this.uploads.push({ filename: url.searchParams.get('filename') ?? undefined, type: contentType, size: raw.length });
      return { content_uri: this.uploadAs(raw, contentType) };
    }
    if (method === 'GET' && (m = /^\/_matrix\/(?:media\/v3|client\/v1\/media)\/download\/([^/]+)\/([^/]+)(?:\/[^/]+)?$/.exec(p))) {
      const item = decodeURIComponent(m[1]!) === this.o.domain ? this.media.get(decodeURIComponent(m[2]!)) : undefined;
      if (!item) throw new HttpError(404, 'M_NOT_FOUND', 'Not found');
      res.writeHead(200, { 'Content-Type': item.type, 'Content-Length': item.data.length }).end(item.data);
      return undefined;
    }
    if (method === 'GET' && (m = /^\/_matrix\/client\/v3\/directory\/room\/([^/]+)$/.exec(p))) {
      const id = await this.resolveAlias(decodeURIComponent(m[1]!));
      if (!id) throw new HttpError(404, 'M_NOT_FOUND', 'Room alias not found');
      return { room_id: id, servers: [this.o.domain] };
    }
    if (method === 'PUT' && (m = /^\/_matrix\/client\/v3\/directory\/room\/([^/]+)$/.exec(p))) {
      const alias = decodeURIComponent(m[1]!);
      if (!alias.endsWith(`:${this.o.domain}`)) throw new HttpError(400, 'M_INVALID_PARAM', 'Room alias must be local');
      if (this.aliases.has(alias)) throw new HttpError(409, 'M_UNKNOWN', `Room alias ${alias} already exists`);
      this.room(String(body.room_id));
      this.aliases.set(alias, String(body.room_id));
      return {};
    }
    if (method === 'POST' && p === '/_matrix/client/v3/createRoom') {
      const aliasName = typeof body.room_alias_name === 'string' ? body.room_alias_name : undefined;
      const alias = aliasName ? `#${aliasName}:${this.o.domain}` : undefined;
      if (alias && this.aliases.has(alias)) throw new HttpError(400, 'M_ROOM_IN_USE', 'Room alias already taken');
      // As the spec orders it: the preset's join rule, then initial_state may override it.
      const initial = Array.isArray(body.initial_state) ? (body.initial_state as { type: string; state_key?: string; content: Record<string, unknown> }[]) : [];
      const joinRuleState = initial.find((e) => e.type === 'm.room.join_rules')?.content.join_rule;
      const joinRule = typeof joinRuleState === 'string' ? joinRuleState : body.preset === 'public_chat' ? 'public' : 'invite';
      const room = this.newRoom(joinRule === 'public');
      this.setMember(room, user, 'join');
      const override = (body.power_level_content_override ?? {}) as { users?: Record<string, number> };
      this.addState(room, user, 'm.room.power_levels', '', { users: { [user]: 100, ...override.users }, users_default: 0 });
      this.addState(room, user, 'm.room.join_rules', '', { join_rule: joinRule });
      for (const e of initial) if (e.type !== 'm.room.join_rules') this.addState(room, user, e.type, e.state_key ?? '', e.content);
      for (const invitee of Array.isArray(body.invite) ? (body.invite as string[]) : []) this.setMember(room, invitee, 'invite', user);
      if (typeof body.name === 'string') this.addState(room, user, 'm.room.name', '', { name: body.name });
      if (typeof body.topic === 'string') this.addState(room, user, 'm.room.topic', '', { topic: body.topic });
      if (alias) {
        this.aliases.set(alias, room.id);
        this.addState(room, user, 'm.room.canonical_alias', '', { alias });
      }
      return { room_id: room.id };
    }
    throw new HttpError(404, 'M_UNRECOGNIZED', `Unrecognized request ${method} ${p}`);
  }
}
