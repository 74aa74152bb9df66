/**
 * OneBot v11 as a QQ backend: the OneBot client library below, QQ-level events and sends above.
 * On every (re)connect: get_login_info, get_group_list, the member lists of mapped groups, then
 * catch-up from get_group_msg_history for what was missed while disconnected — queued ahead of
 * the live events that follow, so a room's messages are handed over in order.
 */
import type { Logger } from '../../../log.js';
import {
  QqSendError, type QqBackend, type QqBackendContext, type QqBackendState, type QqGroup, type QqInboundEvent,
  type QqMediaRef, type QqMember, type QqOutItem, type QqPart, type QqRole, type QqRoom, type QqSendOptions,
} from '../backend.js';
import type { QqBackendOptions } from '../backends.js';
import { OneBotClient, type OneBotClientOptions, type OneBotEvent } from './client.js';
import type { OnebotConfig } from './config.js';
import { OneBotActionError, OneBotAuthError, OneBotError } from './errors.js';
import { partsFromSegments, segmentsForItems } from './parts.js';
import { normalizeMessage, numberField, stringField } from './segments.js';

/** History asked for per call, and pages read back at most, when catching up. */
const HISTORY_PAGE = 50;
const HISTORY_PAGES = 4;
/** Forwarded bundles: messages shown. */
const FORWARD_LIMIT = 20;
/** Largest media file fetched. */
const MAX_MEDIA_BYTES = 50 * 1024 * 1024;

type Tuning = Partial<Pick<OneBotClientOptions, 'actionTimeoutMs' | 'backoffMinMs' | 'backoffMaxMs' | 'authRetryMs' | 'maxFrameBytes' | 'maxInFlight'>> & { mediaTimeoutMs?: number };

export class OnebotBackend implements QqBackend {
  readonly protocol = 'onebot';
  readonly features = { replies: true, mentions: true, recall: true, discussions: false };
  private client: OneBotClient | undefined;
  private ctx: QqBackendContext | undefined;
  private log: Logger | undefined;
  private st: QqBackendState = 'offline';
  private me: { qq: number; nickname?: string } | undefined;
  private readonly groupList = new Map<number, QqGroup>();
  private readonly memberLists = new Map<number, QqMember[]>();
  /** Live events and catch-up share this chain, so each room's messages are handed over in order. */
  private inbound: Promise<void> = Promise.resolve();
  private historySupported: boolean | undefined;
  /**
   * Per group, the newest message id handed over (or seen in history at the first connection;
   * '' when the history was empty then): where catch-up starts when the adapter relayed nothing yet.
   */
  private readonly baseline = new Map<number, string>();
  /** Bumped at every new socket: a setup of an older socket stops. */
  private generation = 0;

  constructor(private readonly config: OnebotConfig, private readonly opts: QqBackendOptions = {}) {}

  /** The client (tests, status). */
  get onebot(): OneBotClient | undefined {
    return this.client;
  }

  async start(ctx: QqBackendContext): Promise<void> {
    this.ctx = ctx;
    this.log = ctx.log;
    const o = this.config.onebot;
    const tuning = (this.opts.tuning ?? {}) as Tuning;
    this.setState('connecting');
    this.client = new OneBotClient({
      mode: o.mode,
      ...(o.url ? { url: o.url } : {}),
      ...(o.accessToken ? { accessToken: o.accessToken } : {}),
      ...(o.reverse ? { reverse: o.reverse } : {}),
      ...(o.heartbeatTimeoutMs !== undefined ? { heartbeatTimeoutMs: o.heartbeatTimeoutMs } : {}),
      ...tuning,
      log: ctx.log,
      onEvent: (e) => this.enqueue(() => this.onEvent(e)),
      onState: (s, reason) => {
        if (s === 'auth-failed') this.setState('auth-failed', reason);
        else if (s === 'closed') this.setState('offline', reason);
        else if (s !== 'open') this.setState(this.me ? 'relinking' : 'connecting', reason);
        // Counted once per lost socket (metrics: qqbridge_network_conditions_total{network="qq",condition="reconnect"}).
        if ((s === 'connecting' || s === 'auth-failed') && this.me) ctx.onCondition?.('reconnect');
      },
      onOpen: () => {
        const gen = ++this.generation;
        // Ahead of every event of the new socket: session setup, then catch-up.
        void this.enqueue(() => this.setUp(gen));
      },
    });
    await this.client.start();
  }

  async stop(): Promise<void> {
    this.generation++;
    await this.client?.stop();
    this.setState('offline', 'stopped');
  }

  async stopInput(): Promise<void> {
    await this.client?.stopInput();
    await this.inbound;
  }

  state(): QqBackendState {
    return this.st;
  }

  self() {
    return this.me;
  }

  groups(): QqGroup[] {
    return [...this.groupList.values()];
  }

  discussions() {
    return [];
  }

  members(group: number): QqMember[] | undefined {
    return this.memberLists.get(group);
  }

  async refreshContacts(): Promise<void> {
    await this.loadGroups();
    for (const room of this.ctx?.mappedRooms?.() ?? []) if (room.kind === 'group' && this.groupList.has(room.number)) await this.loadMembers(room.number);
  }

  avatarUrl(qq: number): string {
    return `https://q1.qlogo.cn/g?b=qq&nk=${qq}&s=640`;
  }

  groupAvatarUrl(group: number): string {
    return `https://p.qlogo.cn/gh/${group}/${group}/640`;
  }

  // ---- session -----------------------------------------------------------------------------

  private async setUp(gen: number): Promise<void> {
    const client = this.client!;
    try {
      const info = await client.call<{ user_id?: unknown; nickname?: unknown }>('get_login_info');
      const qq = numberField(info?.user_id);
      if (qq === undefined) throw new Error('get_login_info answered without a user_id');
      if (this.config.uin !== undefined && this.config.uin !== qq) {
        this.log?.error({ configured: this.config.uin, loggedIn: qq }, `qq.uin is ${this.config.uin} but the OneBot implementation is logged in as ${qq}; fix qq.uin (or remove it)`);
        this.setState('auth-failed', `logged in as ${qq}, not qq.uin ${this.config.uin}`);
        return;
      }
      const nickname = stringField(info.nickname);
      this.me = nickname ? { qq, nickname } : { qq };
      await this.refreshContacts();
      if (gen !== this.generation) return;
      this.setState('online');
      await this.catchUp(gen);
    } catch (e) {
      if (gen !== this.generation) return;
      if (e instanceof OneBotAuthError) return; // the client reports it as auth-failed
      this.log?.warn({ err: (e as Error).message }, 'OneBot session setup failed; trying again on the next connection');
      this.client?.dropConnection();
    }
  }

  private async loadGroups(): Promise<void> {
    const list = await this.client!.call<unknown[]>('get_group_list');
    this.groupList.clear();
    for (const g of Array.isArray(list) ? list : []) {
      const o = g as Record<string, unknown>;
      const number = numberField(o.group_id);
      if (number === undefined) continue;
      const memberCount = numberField(o.member_count);
      this.groupList.set(number, { number, name: stringField(o.group_name) ?? String(number), sessionId: String(number), ...(memberCount !== undefined ? { memberCount } : {}) });
    }
  }

  private async loadMembers(group: number): Promise<void> {
    const list = await this.client!.call<unknown[]>('get_group_member_list', { group_id: group });
    const members: QqMember[] = [];
    for (const m of Array.isArray(list) ? list : []) {
      const o = m as Record<string, unknown>;
      const qq = numberField(o.user_id);
      if (qq === undefined) continue;
      const card = stringField(o.card);
      const role = roleOf(o.role);
      members.push({ qq, nickname: stringField(o.nickname) ?? String(qq), ...(card ? { card } : {}), ...(role ? { role } : {}) });
    }
    this.memberLists.set(group, members);
  }

  /**
   * Nobody acknowledges OneBot events: after a reconnect, read each mapped group's recent history
   * back to the last message relayed and hand over what came after it, oldest first. The relay's
   * persisted dedupe drops what was already relayed.
   */
  private async catchUp(gen: number): Promise<void> {
    if (this.historySupported === false || !this.ctx?.lastRelayed) return;
    for (const room of this.ctx.mappedRooms?.() ?? []) {
      if (room.kind !== 'group' || gen !== this.generation) continue;
      const last = (await this.ctx.lastRelayed(room)) ?? this.baseline.get(room.number);
      if (last === undefined) {
        await this.resumeAfterStart(room);
        continue;
      }
      let found = false;
      const missed: Record<string, unknown>[] = [];
      let seq: number | undefined;
      for (let page = 0; page < HISTORY_PAGES && !found; page++) {
        let data: { messages?: unknown };
        try {
          data = await this.client!.call('get_group_msg_history', { group_id: room.number, count: HISTORY_PAGE, ...(seq !== undefined ? { message_seq: seq } : {}) });
        } catch (e) {
          if (e instanceof OneBotActionError && e.retcode === 1404) {
            this.historySupported = false;
            this.log?.warn({}, 'this OneBot implementation has no get_group_msg_history: messages sent while disconnected cannot be caught up');
            return;
          }
          this.log?.warn({ group: room.number, err: (e as Error).message }, 'catch-up after reconnect failed for this group');
          break;
        }
        this.historySupported = true;
        const msgs = (Array.isArray(data?.messages) ? data.messages : []) as Record<string, unknown>[];
        if (msgs.length === 0) break;
        const page_: Record<string, unknown>[] = [];
        for (const m of msgs) {
          if (String(m.message_id) === last) {
            found = true;
            page_.length = 0;
            continue;
          }
          page_.push(m);
        }
        missed.unshift(...page_.filter((m) => !missed.some((x) => x.message_id === m.message_id)));
        const oldest = numberField(msgs[0]?.message_seq ?? msgs[0]?.message_id);
        if (oldest === undefined || msgs.length < HISTORY_PAGE || oldest === seq) break;
        seq = oldest;
      }
      if (!found && last !== '') this.log?.warn({ group: room.number, relaying: missed.length }, 'catch-up did not reach the last relayed message; relaying the history it read (duplicates are dropped)');
      if (missed.length > 0) this.log?.info({ group: room.number, count: missed.length }, 'catching up on QQ messages missed while disconnected');
      for (const m of missed) await this.onEvent({ ...m, post_type: 'message', message_type: 'group', group_id: room.number } as OneBotEvent);
    }
  }

  /**
   * The first connection of this process: find, newest first, the last message the bridge already
   * knows (the persisted message map says so) and hand over what came after it — what was said
   * while the bridge was down. When none of the recent history is known (a fresh install, or down
   * for longer than the pages read), nothing old is replayed and the log says so.
   */
  private async resumeAfterStart(room: QqRoom & { kind: 'group' }): Promise<void> {
    const known = this.ctx?.wasRelayed;
    const newer: Record<string, unknown>[] = [];
    let seq: number | undefined;
    let newest: string | undefined;
    for (let page = 0; page < HISTORY_PAGES; page++) {
      let msgs: Record<string, unknown>[];
      try {
        const data = await this.client!.call<{ messages?: unknown }>('get_group_msg_history', { group_id: room.number, count: HISTORY_PAGE, ...(seq !== undefined ? { message_seq: seq } : {}) });
        this.historySupported = true;
        msgs = (Array.isArray(data?.messages) ? data.messages : []) as Record<string, unknown>[];
      } catch (e) {
        if (e instanceof OneBotActionError && e.retcode === 1404) {
          this.historySupported = false;
          this.log?.warn({}, 'this OneBot implementation has no get_group_msg_history: messages sent while disconnected cannot be caught up');
        } else this.log?.warn({ group: room.number, err: (e as Error).message }, 'reading the group history at start failed');
        return;
      }
      if (page === 0) newest = msgs.length ? String(msgs[msgs.length - 1]!.message_id) : '';
      for (let i = msgs.length - 1; i >= 0; i--) {
        const m = msgs[i]!;
        if (seq !== undefined && numberField(m.message_seq) === seq) continue; // the page boundary, already seen
        if (known && (await known(room, String(m.message_id)))) {
          if (newer.length) this.log?.info({ group: room.number, count: newer.length }, 'relaying QQ messages said while the bridge was down');
          for (const x of newer) await this.onEvent({ ...x, post_type: 'message', message_type: 'group', group_id: room.number } as OneBotEvent);
          return;
        }
        newer.unshift(m);
      }
      const oldest = numberField(msgs[0]?.message_seq);
      if (msgs.length < HISTORY_PAGE || oldest === undefined || oldest === seq) break;
      seq = oldest;
    }
    if (newer.length) this.log?.info({ group: room.number, unknown: newer.length }, 'none of the recent QQ history was relayed before (a new link, or down for long): not replaying it');
    if (!this.baseline.has(room.number) && newest !== undefined) this.baseline.set(room.number, newest);
  }

  // ---- events ------------------------------------------------------------------------------

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.inbound.then(task).catch((err: unknown) => this.log?.error({ err: (err as Error).message }, 'a OneBot event could not be handled'));
    this.inbound = run;
    return run;
  }

  private async onEvent(e: OneBotEvent): Promise<void> {
    switch (e.post_type) {
      case 'message':
        if (e.message_type === 'group') await this.onGroupMessage(e);
        return;
      case 'message_sent':
        return; // our own sends, echoed back (NapCat): never relayed
      case 'notice':
        return this.onNotice(e);
      case 'meta_event':
        return this.onMeta(e);
      case 'request':
        return;
      default:
        this.log?.warn({ post_type: String(e.post_type).slice(0, 40) }, 'an unknown OneBot post_type was ignored');
    }
  }

  private async onGroupMessage(e: Record<string, unknown>): Promise<void> {
    const group = numberField(e.group_id);
    const id = stringField(e.message_id);
    const userId = numberField(e.user_id);
    if (group === undefined || id === undefined) {
      this.log?.warn({ keys: Object.keys(e).slice(0, 12) }, 'a OneBot group message without group_id or message_id was ignored');
      return;
    }
    if (userId !== undefined && userId === this.me?.qq) return;
    const { segments, problems } = normalizeMessage(e.message);
    if (problems.length) this.log?.warn({ group, problems }, 'malformed segments in a OneBot message; the rest is relayed');
    const incoming = partsFromSegments(segments);
    if (incoming.unknown.length) this.log?.info({ group, types: incoming.unknown }, 'OneBot segment types shown as their name');
    await this.expandForwards(incoming.parts, incoming.forwards);
    const s = (e.sender && typeof e.sender === 'object' ? e.sender : {}) as Record<string, unknown>;
    const card = stringField(s.card);
    const role = roleOf(s.role);
    const nickname = stringField(s.nickname);
    const ev: QqInboundEvent = {
      type: 'message', room: { kind: 'group', number: group }, nativeId: id,
      sender: { ...(userId !== undefined ? { qq: userId } : { fallbackId: 'unknown' }), ...(nickname ? { nickname } : {}), ...(card ? { card } : {}), ...(role ? { role } : {}) },
      parts: incoming.parts,
      ...(incoming.replyTo !== undefined ? { replyTo: incoming.replyTo } : {}),
      time: (numberField(e.time) ?? Math.floor(Date.now() / 1000)) * 1000,
    };
    await this.ctx!.onEvent(ev);
    this.baseline.set(group, id);
  }

  private async expandForwards(parts: QqPart[], ids: string[]): Promise<void> {
    let i = 0;
    for (const p of parts) {
      if (p.type !== 'forward') continue;
      const id = ids[i++];
      if (!id) continue;
      try {
        const data = await this.client!.call<{ messages?: unknown; message?: unknown }>('get_forward_msg', { id });
        const nodes = (Array.isArray(data?.messages) ? data.messages : Array.isArray(data?.message) ? data.message : []) as Record<string, unknown>[];
        for (const n of nodes.slice(0, FORWARD_LIMIT)) {
          const content = n.content ?? n.message ?? (n.data as Record<string, unknown> | undefined)?.content;
          const sender = (n.sender ?? {}) as Record<string, unknown>;
          const name = stringField(sender.card) || stringField(sender.nickname) || stringField((n.data as Record<string, unknown> | undefined)?.name) || '?';
          p.messages.push({ sender: name, parts: partsFromSegments(normalizeMessage(content).segments).parts.filter((x) => x.type !== 'forward') });
        }
        if (nodes.length > FORWARD_LIMIT) p.truncated = true;
      } catch (err) {
        this.log?.warn({ err: (err as Error).message }, 'a forwarded bundle could not be read');
      }
    }
  }

  private async onNotice(e: Record<string, unknown>): Promise<void> {
    const type = e.notice_type;
    const group = numberField(e.group_id);
    const user = numberField(e.user_id);
    const time = (numberField(e.time) ?? Math.floor(Date.now() / 1000)) * 1000;
    if (type === 'bot_offline') {
      this.setState('offline', `the QQ account went offline: ${stringField(e.message) ?? stringField(e.tag) ?? 'no reason given'}`);
      return;
    }
    if (group === undefined) return;
    const room: QqRoom = { kind: 'group', number: group };
    switch (type) {
      case 'group_increase':
      case 'group_decrease': {
        if (user === this.me?.qq) {
          await this.loadGroups().catch(() => undefined);
          return;
        }
        if (this.memberLists.has(group)) await this.loadMembers(group).catch(() => undefined);
        const known = this.memberLists.get(group)?.find((m) => m.qq === user);
        const name = known ? known.card || known.nickname : undefined;
        await this.ctx!.onEvent({
          type: 'member', change: type === 'group_increase' ? 'join' : 'leave', room, nativeId: `${type}-${numberField(e.time) ?? 0}-${user ?? 0}`,
          member: { ...(user !== undefined ? { qq: user } : {}), ...(name ? { name } : {}) }, time,
        });
        return;
      }
      case 'group_card': {
        const m = this.memberLists.get(group)?.find((x) => x.qq === user);
        const card = stringField(e.card_new);
        if (m) {
          if (card) m.card = card;
          else delete m.card;
        }
        return;
      }
      case 'group_recall': {
        const id = stringField(e.message_id);
        if (id === undefined) return;
        const operator = numberField(e.operator_id);
        await this.ctx!.onEvent({ type: 'recall', room, nativeId: id, ...(operator !== undefined ? { operator } : {}), time });
        return;
      }
      case 'group_upload': {
        if (user === this.me?.qq) return;
        const f = (e.file ?? {}) as Record<string, unknown>;
        const name = stringField(f.name) ?? 'file';
        const url = stringField(f.url);
        const size = numberField(f.size);
        const known = this.memberLists.get(group)?.find((m) => m.qq === user);
        await this.ctx!.onEvent({
          type: 'message', room, nativeId: `upload-${stringField(f.id) ?? `${numberField(e.time) ?? 0}-${name}`}`,
          sender: { ...(user !== undefined ? { qq: user } : { fallbackId: 'unknown' }), ...(known ? { nickname: known.nickname, ...(known.card ? { card: known.card } : {}) } : {}) },
          parts: [{ type: 'file', kind: 'file', ref: url ? { url } : { handle: stringField(f.id) }, name, ...(size !== undefined ? { size } : {}) }],
          time,
        });
        return;
      }
      default:
        return;
    }
  }

  private onMeta(e: Record<string, unknown>): void {
    if (e.meta_event_type === 'lifecycle') {
      if (e.sub_type === 'disable') this.setState('offline', 'the OneBot implementation was disabled (lifecycle disable)');
      else if ((e.sub_type === 'enable' || e.sub_type === 'connect') && this.st === 'offline' && this.me) this.setState('online');
      return;
    }
    if (e.meta_event_type === 'heartbeat') {
      const status = (e.status ?? {}) as Record<string, unknown>;
      if (status.online === false && this.st === 'online') this.setState('offline', 'the QQ account is offline (heartbeat status.online false)');
      else if (status.online === true && this.st === 'offline' && this.me) this.setState('online');
    }
  }

  // ---- sending -----------------------------------------------------------------------------

  async send(room: QqRoom, items: QqOutItem[], opts: QqSendOptions = {}): Promise<string[]> {
    if (room.kind !== 'group') throw new QqSendError('bad-request', 'OneBot has no QQ discussions');
    const client = this.client;
    if (!client) throw new QqSendError('transient', 'the OneBot client is not started');
    const pieces = segmentsForItems(items);
    const sent = [...(opts.alreadySent ?? [])];
    for (const piece of pieces.slice(sent.length)) {
      try {
        const data = await client.call<{ message_id?: unknown }>('send_group_msg', { group_id: room.number, message: piece });
        const id = stringField(data?.message_id);
        if (id === undefined) throw new QqSendError('transient', 'send_group_msg answered ok without a message_id', { sentIds: sent });
        sent.push(id);
      } catch (e) {
        throw sendFailure(e, sent);
      }
    }
    return sent;
  }

  async recall(_room: QqRoom, nativeId: string): Promise<void> {
    const id = numberField(nativeId);
    if (id === undefined) throw new QqSendError('bad-request', `not a OneBot message id: ${nativeId}`);
    try {
      await this.client!.call('delete_msg', { message_id: id });
    } catch (e) {
      // Implementations answer every refused recall (gone, too old, not ours, no admin rights) with
      // status failed — NapCat with 1200, its catch-all — so any failed answer is final for a recall;
      // only timeouts and a dropped socket are worth another try.
      if (e instanceof OneBotActionError) throw new QqSendError('bad-request', e.message, { cause: e, ...(e.retcode !== undefined ? { code: e.retcode } : {}) });
      throw sendFailure(e, []);
    }
  }

  async fetchMedia(ref: QqMediaRef): Promise<{ data: Buffer; mime: string }> {
    if (!ref.url) throw new Error('this media item has no URL to fetch');
    const tuning = (this.opts.tuning ?? {}) as Tuning;
    const res = await fetch(ref.url, { signal: AbortSignal.timeout(tuning.mediaTimeoutMs ?? 30_000) });
    if (!res.ok) throw new Error(`media download failed: HTTP ${res.status}`);
    const len = Number(res.headers.get('content-length') ?? 0);
    if (len > MAX_MEDIA_BYTES) throw new Error(`media too large (${len} bytes)`);
    const data = Buffer.from(await res.arrayBuffer());
    if (data.length > MAX_MEDIA_BYTES) throw new Error(`media too large (${data.length} bytes)`);
    return { data, mime: (res.headers.get('content-type') ?? 'application/octet-stream').split(';')[0]!.trim() };
  }

  private setState(s: QqBackendState, reason?: string): void {
    if (s === this.st) return;
    this.st = s;
    this.ctx?.onState(reason !== undefined ? { state: s, reason } : { state: s });
  }
}

/** A OneBot client error as a QqSendError, keeping the pieces already sent. */
export function sendFailure(e: unknown, sentIds: readonly string[]): QqSendError {
  if (e instanceof QqSendError) return e;
  const opts = { sentIds, cause: e };
  if (e instanceof OneBotActionError) {
    return new QqSendError(e.retryable ? 'transient' : 'bad-request', e.message, { ...opts, ...(e.retcode !== undefined ? { code: e.retcode } : {}) });
  }
  if (e instanceof OneBotAuthError) return new QqSendError('offline', e.message, opts);
  if (e instanceof OneBotError) return new QqSendError('transient', e.message, opts);
  return new QqSendError('transient', `QQ send failed: ${(e as Error).message}`, opts);
}

function roleOf(v: unknown): QqRole | undefined {
  return v === 'owner' || v === 'admin' || v === 'member' ? v : undefined;
}

export function createBackend(config: OnebotConfig, opts: QqBackendOptions): OnebotBackend {
  return new OnebotBackend(config, opts);
}
