/**
 * Milky as a QQ backend: the Milky client library below, the QQ adapter's backend interface
 * above. A message is `(scene, peer, seq)`: the room carries scene and peer, the native id is the
 * seq. After every (re)connect each group the bridge relayed from is caught up through paged
 * history, inside the same queue as live events, so the adapter sees each message once, in order.
 */
import {
  QqSendError, type QqBackend, type QqBackendContext, type QqBackendState, type QqForwardedMessage, type QqGroup, type QqInboundEvent,
  type QqMediaRef, type QqMember, type QqOutItem, type QqRoom,
} from '../backend.js';
import type { QqBackendOptions } from '../backends.js';
import { MilkyApi } from './api.js';
import { MilkyError, isMilkyError } from './errors.js';
import { MilkyEventStream, type MilkyEvent, type StreamState } from './events.js';
import { historySince, type HistoryMessage } from './history.js';
import type { MilkyConfig } from './config.js';
import { partsFromSegments, segmentsFromItems, type InSegment } from './parts.js';

/** Test knobs (qq backend tuning), all optional. */
export interface MilkyTuning {
  timeoutMs?: number;
  pingIntervalMs?: number;
  probeIntervalMs?: number;
  backoff?: { minMs: number; maxMs: number };
  unauthorizedRetryMs?: number;
  /** Forwarded bundles: at most this many messages are shown. */
  forwardLimit?: number;
  /** Catch-up: at most this many history pages per group and reconnect. */
  historyMaxPages?: number;
  /** While the account is offline (bot_offline, -403): how often get_login_info asks whether it is back. */
  offlinePollMs?: number;
  /**
   * SSE and webhook: after this long without an event, history is checked for messages the
   * stream never delivered (two checks in a row: the stream is stalled → reconnect and catch up).
   */
  stallCheckMs?: number;
}

type GroupMessage = Extract<HistoryMessage, { message_scene: 'group' }>;

/** A Milky client error as the adapter's failure classes (failures.ts decides retrying). */
export function sendFailure(e: unknown): QqSendError {
  if (e instanceof QqSendError) return e;
  if (!isMilkyError(e)) return new QqSendError('transient', `Milky send failed: ${(e as Error).message}`, { cause: e });
  const code = e.retcode ?? e.httpStatus ?? e.kind;
  switch (e.kind) {
    case 'bad_request':
    case 'not_found':
    case 'unsupported_media_type':
      return new QqSendError('bad-request', e.message, { code, cause: e });
    case 'offline':
    case 'unauthorized':
      return new QqSendError('offline', e.message, { code, cause: e });
    default:
      // failed (implementation-defined retcode), timeout, network, an unreadable answer: the
      // message may or may not be out; the outbox retries (at most one duplicate per such call).
      return new QqSendError('transient', e.message, { code, cause: e });
  }
}

export class MilkyBackend implements QqBackend {
  readonly protocol = 'milky';
  readonly features = { replies: true, mentions: true, recall: true, discussions: false };
  readonly api: MilkyApi;
  private stream: MilkyEventStream | undefined;
  private ctx: QqBackendContext | undefined;
  private current: QqBackendState = 'offline';
  private account: { qq: number; nickname: string } | undefined;
  private groupList: QqGroup[] = [];
  private readonly memberLists = new Map<number, QqMember[]>();
  /** Highest seq handed to the adapter per group: catch-up and live events never hand one twice. */
  private readonly handed = new Map<number, number>();
  private queue: Promise<void> = Promise.resolve();
  private inputStopped = false;
  private readonly tuning: MilkyTuning;
  /** Polls get_login_info while the QQ account is logged out (Milky has no "back online" event). */
  private offlinePoll: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private lastEventAt = Date.now();
  /** Per group, the newest seq history had that the stream had not delivered at the last check. */
  private stallSuspects = new Map<number, number>();
  private checkingStall = false;
  /**
   * Per group, the seq of the first message event this connection delivered (noted as it arrives,
   * before the queue): a first start's catch-up must not count live messages as old history.
   */
  private firstLive = new Map<number, number>();

  constructor(private readonly config: MilkyConfig, opts: QqBackendOptions = {}) {
    this.tuning = (opts.tuning ?? {}) as MilkyTuning;
    const m = config.milky;
    this.api = new MilkyApi({ url: m.url, ...(m.accessToken ? { accessToken: m.accessToken } : {}), ...(this.tuning.timeoutMs ? { timeoutMs: this.tuning.timeoutMs } : {}) });
  }

  async start(ctx: QqBackendContext): Promise<void> {
    this.ctx = ctx;
    this.inputStopped = false;
    const m = this.config.milky;
    const t = this.tuning;
    this.stream = new MilkyEventStream({
      url: m.url,
      ...(m.accessToken ? { accessToken: m.accessToken } : {}),
      transport: m.events,
      ...(m.webhook ? { webhook: m.webhook } : {}),
      log: ctx.log,
      onEvent: (e) => {
        if (e.event_type === 'message_receive' && e.data.message_scene === 'group' && !this.firstLive.has(e.data.peer_id)) this.firstLive.set(e.data.peer_id, e.data.message_seq);
        return this.enqueue(() => this.onEvent(e));
      },
      onState: (s, detail) => this.onStream(s, detail),
      probe: async () => {
        await this.api.call('get_login_info');
      },
      ...(t.pingIntervalMs ? { pingIntervalMs: t.pingIntervalMs } : {}),
      ...(t.probeIntervalMs ? { probeIntervalMs: t.probeIntervalMs } : {}),
      ...(t.backoff ? { backoff: t.backoff } : {}),
      ...(t.unauthorizedRetryMs ? { unauthorizedRetryMs: t.unauthorizedRetryMs } : {}),
    });
    this.setState('connecting');
    this.startStallWatch();
    await this.stream.start();
    // Resolve once the first connection settled either way (the adapter binds mappings when online).
    const end = Date.now() + 10_000;
    while (Date.now() < end && (this.current === 'connecting' || this.current === 'relinking')) await new Promise((r) => setTimeout(r, 20));
  }

  async stop(): Promise<void> {
    this.inputStopped = true;
    clearInterval(this.offlinePoll);
    this.offlinePoll = undefined;
    clearInterval(this.stallTimer);
    this.stallTimer = undefined;
    await this.stream?.stop();
    await this.queue;
    this.setState('offline');
  }

  async stopInput(): Promise<void> {
    this.inputStopped = true;
    await this.queue;
  }

  state(): QqBackendState {
    return this.current;
  }

  self() {
    return this.account ? { qq: this.account.qq, nickname: this.account.nickname } : undefined;
  }

  groups(): QqGroup[] {
    return this.groupList;
  }

  discussions() {
    return [];
  }

  members(group: number): QqMember[] | undefined {
    return this.memberLists.get(group);
  }

  avatarUrl(qq: number): string {
    return `https://q1.qlogo.cn/g?b=qq&nk=${qq}&s=640`;
  }

  groupAvatarUrl(group: number): string {
    return `https://p.qlogo.cn/gh/${group}/${group}/640`;
  }

  async refreshContacts(): Promise<void> {
    const { groups } = await this.api.call('get_group_list', { no_cache: true });
    this.groupList = groups.map((g) => ({ number: g.group_id, name: g.group_name, sessionId: String(g.group_id), memberCount: g.member_count }));
    await Promise.all(groups.slice(0, 50).map((g) => this.loadMembers(g.group_id).catch(() => undefined)));
  }

  private async loadMembers(group: number): Promise<void> {
    const { members } = await this.api.call('get_group_member_list', { group_id: group });
    this.memberLists.set(group, members.map((m) => ({ qq: m.user_id, nickname: m.nickname, ...(m.card ? { card: m.card } : {}), role: m.role })));
  }

  private setState(s: QqBackendState, reason?: string): void {
    if (s === this.current) return;
    this.current = s;
    this.ctx?.onState(reason !== undefined ? { state: s, reason } : { state: s });
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch((e: unknown) => this.ctx?.log.error({ err: (e as Error).message }, 'Milky: handling an event failed'));
    return this.queue;
  }

  private onStream(s: StreamState, detail?: string): void {
    if (s !== 'online') this.ctx?.onCondition?.(`stream:${s}`);
    if (s === 'online') {
      this.firstLive.clear();
      void this.enqueue(() => this.sync());
    }
    else if (s === 'unauthorized') this.setState('auth-failed', detail ?? 'access token refused');
    else if (s === 'reconnecting') this.setState('relinking', detail);
    else if (s === 'stopped') this.setState('offline');
  }

  /** After each (re)connect: who we are, our groups, then what was missed while away. */
  private async sync(): Promise<void> {
    try {
      const me = await this.api.call('get_login_info');
      this.account = { qq: me.uin, nickname: me.nickname };
      await this.refreshContacts();
    } catch (e) {
      const err = e as MilkyError;
      // The implementation is up and says its QQ account is logged out (-403): the stream is fine;
      // wait for the account rather than reconnecting in a loop.
      if (isMilkyError(e) && e.kind === 'offline') return this.accountOffline(`retcode -403 (${err.message})`);
      this.ctx?.log.warn({ err: err.message }, 'Milky: could not read the account after connecting');
      if (isMilkyError(e) && e.kind === 'unauthorized') this.setState('auth-failed', err.message);
      else this.setState(isMilkyError(e) && e.kind === 'offline' ? 'offline' : 'relinking', err.message);
      // The stream is up but the API is not: try again through a reconnect.
      this.stream?.drop(`sync failed: ${err.message}`);
      return;
    }
    this.stopOfflinePoll();
    this.setState('online');
    await this.catchUp();
  }

  /**
   * The QQ account is logged out (bot_offline, or -403 from a call). The adapter holds every send
   * while the state says so; Milky has no event for the account coming back, so get_login_info is
   * asked every few seconds (-403 until it is back), and a success resyncs and catches up.
   */
  private accountOffline(reason: string): void {
    if (this.inputStopped) return;
    this.setState('offline', `the QQ account went offline: ${reason}`);
    if (this.offlinePoll) return;
    let asking = false;
    this.offlinePoll = setInterval(() => {
      if (asking || this.inputStopped) return;
      asking = true;
      this.api.call('get_login_info').then(
        () => {
          if (!this.offlinePoll) return;
          this.stopOfflinePoll();
          this.ctx?.log.info({}, 'Milky: the QQ account is logged in again');
          void this.enqueue(() => this.sync());
        },
        () => undefined,
      ).finally(() => (asking = false));
    }, this.tuning.offlinePollMs ?? 10_000);
  }

  private stopOfflinePoll(): void {
    clearInterval(this.offlinePoll);
    this.offlinePoll = undefined;
  }

  /**
   * SSE has no pings and a webhook no connection: a stream can stay open (or a webhook stay
   * quiet) while the implementation stopped pushing. The periodic get_login_info proves only the
   * API. So after a silent interval, each mapped group's newest history is compared with what the
   * stream delivered; a message from someone else that is still undelivered one interval later
   * means the stream is stalled: drop it, reconnect, and the catch-up relays what it missed.
   */
  private startStallWatch(): void {
    if (this.config.milky.events === 'websocket') return; // pings/pongs watch a WebSocket
    const every = this.tuning.stallCheckMs ?? 60_000;
    clearInterval(this.stallTimer);
    this.stallTimer = setInterval(() => {
      if (this.checkingStall) return;
      this.checkingStall = true;
      this.checkStall(every)
        .catch((e: unknown) => this.ctx?.log.debug({ err: (e as Error).message }, 'Milky: stall check could not read history'))
        .finally(() => (this.checkingStall = false));
    }, every);
  }

  private async checkStall(every: number): Promise<void> {
    if (this.current !== 'online' || this.inputStopped || Date.now() - this.lastEventAt < every) {
      this.stallSuspects.clear();
      return;
    }
    const mapped = new Set((this.ctx?.mappedRooms?.() ?? []).flatMap((r) => (r.kind === 'group' ? [r.number] : [])));
    const groups = this.groupList.flatMap((g) => (g.number !== undefined && (mapped.size === 0 || mapped.has(g.number)) ? [g.number] : []));
    const suspects = new Map<number, number>();
    let stalled: { group: number; seq: number } | undefined;
    for (const g of groups) {
      const r = await this.api.call('get_history_messages', { message_scene: 'group', peer_id: g, limit: 10 });
      // The account's own messages may never be pushed (IgnoreBotMessage / reportSelfMessage off).
      const others = r.messages.filter((m) => m.sender_id !== this.account?.qq).map((m) => m.message_seq);
      if (others.length === 0) continue;
      const newest = Math.max(...others);
      const handed = this.handed.get(g) ?? -1;
      if (newest <= handed) continue;
      const seen = this.stallSuspects.get(g);
      if (seen !== undefined && handed < seen) stalled ??= { group: g, seq: seen };
      suspects.set(g, newest);
    }
    // An event arrived while history was read: the stream is alive.
    if (Date.now() - this.lastEventAt < every) return void this.stallSuspects.clear();
    this.stallSuspects = suspects;
    if (!stalled) return;
    this.stallSuspects.clear();
    this.ctx?.log.warn({ transport: this.config.milky.events, group: stalled.group, undeliveredSeq: stalled.seq, silentMs: Date.now() - this.lastEventAt },
      'Milky event stream is open but silent: history has messages it never delivered; reconnecting and catching up');
    this.ctx?.onCondition?.('stream:stalled');
    this.stream?.drop('stream stalled (history has undelivered messages)');
  }

  private async catchUp(): Promise<void> {
    const ctx = this.ctx;
    if (!ctx?.lastRelayed) return;
    for (const g of this.groupList) {
      if (this.inputStopped || g.number === undefined) continue;
      const room: QqRoom = { kind: 'group', number: g.number };
      const last = Math.max(Number((await ctx.lastRelayed(room)) ?? NaN), this.handed.get(g.number) ?? NaN);
      try {
        // Nothing relayed since this start: find where the bridge stopped (the persisted message map).
        if (!Number.isFinite(last)) {
          await this.catchUpAfterStart(g.number);
          continue;
        }
        const r = await historySince(this.api, 'group', g.number, last, this.tuning.historyMaxPages ? { maxPages: this.tuning.historyMaxPages } : {});
        if (r.messages.length) ctx.log.info({ group: g.number, missed: r.messages.length, pages: r.pages }, 'Milky: catching up messages missed while disconnected');
        if (r.truncated) ctx.log.warn({ group: g.number, pages: r.pages }, 'Milky: catch-up stopped at its page bound; older missed messages are not relayed');
        for (const m of r.messages) if (m.message_scene === 'group') await this.onGroupMessage(m);
      } catch (e) {
        ctx.log.warn({ group: g.number, err: (e as Error).message }, 'Milky: catch-up failed for a group; it is tried again at the next reconnect');
      }
    }
  }

  /**
   * The first connection after a start: page back from the newest message until one the bridge
   * already knows (relayed from QQ, or sent there), and relay what came after it. When none of
   * the recent history is known (a new link, or down for very long) nothing is replayed; the
   * newest seq becomes the baseline a later reconnect catches up from.
   */
  private async catchUpAfterStart(group: number): Promise<void> {
    const ctx = this.ctx!;
    const room: QqRoom = { kind: 'group', number: group };
    const newer: GroupMessage[] = [];
    let start: number | undefined;
    let newest: number | undefined;
    let found = false;
    for (let page = 0; page < (this.tuning.historyMaxPages ?? 3) && !found; page++) {
      const r = await this.api.call('get_history_messages', { message_scene: 'group', peer_id: group, limit: 30, ...(start !== undefined ? { start_message_seq: start } : {}) });
      const msgs = r.messages.filter((m): m is GroupMessage => m.message_scene === 'group').sort((a, b) => b.message_seq - a.message_seq);
      for (const m of msgs) {
        newest = Math.max(newest ?? -1, m.message_seq);
        if (ctx.wasRelayed && (await ctx.wasRelayed(room, String(m.message_seq)))) {
          found = true;
          break;
        }
        newer.push(m);
      }
      if (r.next_message_seq === undefined || r.next_message_seq === null) break;
      start = r.next_message_seq;
    }
    if (found) {
      if (newer.length) ctx.log.info({ group, missed: newer.length }, 'Milky: relaying what the group said while the bridge was down');
      for (const m of newer.reverse()) await this.onGroupMessage(m);
    } else if (newer.length) {
      ctx.log.info({ group, unknown: newer.length }, 'Milky: none of the recent history was relayed before (a new link, or down for long): not replaying it');
    }
    // The baseline: what history held before this connection's first live message. Messages that
    // arrived while this start-up read contacts and history are in both; the live events relay them.
    const live = this.firstLive.get(group);
    const baseline = newest === undefined ? undefined : live !== undefined ? Math.min(newest, live - 1) : newest;
    if (!found && baseline !== undefined && !this.handed.has(group)) this.handed.set(group, baseline);
    else if (found && newest !== undefined && !this.handed.has(group)) this.handed.set(group, newest);
  }

  private async onEvent(e: MilkyEvent): Promise<void> {
    this.lastEventAt = Date.now();
    if (this.inputStopped) return;
    const ctx = this.ctx!;
    const time = e.time * 1000;
    switch (e.event_type) {
      case 'message_receive':
        if (e.data.message_scene === 'group') await this.onGroupMessage(e.data);
        return;
      case 'message_recall':
        if (e.data.message_scene === 'group') await ctx.onEvent({ type: 'recall', room: { kind: 'group', number: e.data.peer_id }, nativeId: String(e.data.message_seq), operator: e.data.operator_id, time });
        return;
      case 'group_member_increase':
      case 'group_member_decrease': {
        const join = e.event_type === 'group_member_increase';
        const g = e.data.group_id;
        const name = this.memberLists.get(g)?.find((m) => m.qq === e.data.user_id);
        await ctx.onEvent({
          type: 'member', change: join ? 'join' : 'leave', room: { kind: 'group', number: g }, nativeId: `${join ? 'join' : 'leave'}-${e.data.user_id}-${e.time}`,
          member: { qq: e.data.user_id, ...(name ? { name: name.card || name.nickname } : {}) }, time,
        });
        this.loadMembers(g).catch(() => undefined);
        return;
      }
      case 'bot_offline':
        this.accountOffline(e.data.reason);
        return;
      default:
        return;
    }
  }

  private async onGroupMessage(m: GroupMessage): Promise<void> {
    const g = m.peer_id;
    if (m.message_seq <= (this.handed.get(g) ?? -1)) return;
    // The account's own messages (the bridge's sends among them) come back as events: never relay them.
    if (this.account && m.sender_id === this.account.qq) {
      this.handed.set(g, m.message_seq);
      return;
    }
    const forwards = await this.expandForwards(m.segments);
    const { parts, replyTo } = partsFromSegments(m.segments, forwards, g);
    const member = m.group_member;
    const ev: QqInboundEvent = {
      type: 'message', room: { kind: 'group', number: g }, nativeId: String(m.message_seq),
      sender: { qq: m.sender_id, nickname: member.nickname, ...(member.card ? { card: member.card } : {}), role: member.role },
      parts, time: m.time * 1000, ...(replyTo !== undefined ? { replyTo: String(replyTo) } : {}),
    };
    await this.ctx!.onEvent(ev);
    // Only once the adapter has it durably: a failed hand-over is caught up after the next reconnect.
    this.handed.set(g, Math.max(this.handed.get(g) ?? -1, m.message_seq));
  }

  private async expandForwards(segs: readonly InSegment[]): Promise<Map<string, { messages: QqForwardedMessage[]; truncated: boolean }>> {
    const out = new Map<string, { messages: QqForwardedMessage[]; truncated: boolean }>();
    const limit = this.tuning.forwardLimit ?? 20;
    for (const s of segs) {
      if (s.type !== 'forward') continue;
      try {
        const { messages } = await this.api.call('get_forwarded_messages', { forward_id: s.data.forward_id });
        // Nested bundles stay their summary: one level is readable, more is not.
        out.set(s.data.forward_id, { messages: messages.slice(0, limit).map((f) => ({ sender: f.sender_name, parts: partsFromSegments(f.segments).parts })), truncated: messages.length > limit });
      } catch (e) {
        this.ctx?.log.warn({ err: (e as Error).message }, 'Milky: could not expand a forwarded bundle; its summary is shown');
      }
    }
    return out;
  }

  async send(room: QqRoom, items: QqOutItem[], opts: { alreadySent?: readonly string[] } = {}): Promise<string[]> {
    if (room.kind !== 'group') throw new QqSendError('bad-request', 'Milky has no discussions');
    // One Milky message per delivery: a retry after it went out has nothing left to send.
    if (opts.alreadySent?.length) return [...opts.alreadySent];
    const message = segmentsFromItems(items);
    if (!message.some((s) => s.type !== 'reply')) return [];
    try {
      const r = await this.api.call('send_group_message', { group_id: room.number, message });
      return [String(r.message_seq)];
    } catch (e) {
      if (isMilkyError(e) && e.kind === 'offline') this.accountOffline(`retcode -403 (${e.message})`);
      throw sendFailure(e);
    }
  }

  async recall(room: QqRoom, nativeId: string): Promise<void> {
    if (room.kind !== 'group') throw new QqSendError('bad-request', 'Milky has no discussions');
    try {
      await this.api.call('recall_group_message', { group_id: room.number, message_seq: Number(nativeId) });
    } catch (e) {
      // An answer with a retcode is QQ refusing this recall (gone, too old, not ours): asking again
      // gets the same answer. Offline, timeouts and the network stay retryable.
      if (isMilkyError(e) && e.kind === 'failed') throw new QqSendError('bad-request', e.message, { cause: e, ...(e.retcode !== undefined ? { code: e.retcode } : {}) });
      throw sendFailure(e);
    }
  }

  /** Temp URLs expire: fetch at once, and when the one in the event is stale ask for a fresh one. */
  async fetchMedia(ref: QqMediaRef): Promise<{ data: Buffer; mime: string }> {
    const handle = (ref.handle ?? {}) as { resource_id?: string; file_id?: string; group?: number };
    if (ref.url) {
      const got = await download(ref.url).catch(() => undefined);
      if (got) return got;
    }
    if (handle.resource_id) {
      const { url } = await this.api.call('get_resource_temp_url', { resource_id: handle.resource_id });
      return download(url);
    }
    if (handle.file_id && handle.group) {
      const { download_url } = await this.api.call('get_group_file_download_url', { group_id: handle.group, file_id: handle.file_id });
      return download(download_url);
    }
    throw new Error('no way to fetch this item (no URL, no resource id)');
  }
}

async function download(url: string): Promise<{ data: Buffer; mime: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (!res.ok) throw new Error(`HTTP ${res.status} fetching a Milky resource`);
  const data = Buffer.from(await res.arrayBuffer());
  return { data, mime: (res.headers.get('content-type') ?? 'application/octet-stream').split(';')[0]!.trim() };
}

export function createBackend(config: MilkyConfig, opts: QqBackendOptions): MilkyBackend {
  return new MilkyBackend(config, opts);
}
