/**
 * The QQ side of the bridge: one adapter above whichever QQ backend the config names (WebQQ,
 * OneBot, …; see backends.ts). Rooms are named by stable ids (`group:<group number>`,
 * `discussion:<name>`); the adapter turns the backend's QQ-level events into bridge messages
 * (fetching media into the media store, resolving replies through the message map) and every
 * send goes through `send()` here, the one place for pacing and the account's state.
 */
import type { Capabilities, Connector, ConnectorContext, Delivery, Joiner } from '../../core/connector.js';
import { DeliveryError } from '../../core/errors.js';
import { sourceId, type BridgeMessage, type MentionPart, type MessageKind, type Part } from '../../core/message.js';
import type { Logger } from '../../log.js';
import { bindLinks, logBindingReport, retryUnbound, type RetryHandle } from './binding.js';
import type { MappingLink } from '../../mappings/config.js';
import type { RoomInfo } from '../network.js';
import {
  parseQqRoom, qqRoomKey, type QqBackend, type QqBackendState, type QqInboundEvent, type QqMember, type QqOutItem,
  type QqPart, type QqRoom, type QqSender, QqSendError, type QqFailure,
} from './backend.js';
import { QQ_BACKENDS, type QqBackendOptions } from './backends.js';
import type { QqSectionConfig } from './config.js';
import { deliveryErrorFor, sentBeforeFailure } from './failures.js';
import { imageAsText, partsFromQqParts, renderForQq, type ResolvedMedia } from './format.js';
import { AvatarUrls } from './avatars.js';
import { itemsFingerprint, PartialSends } from './partial-sends.js';
import { fitForQq } from './pictures.js';
import { AccountHeldError, ClassifiedSendError, QqAccount } from './account/account.js';
import { resolvePacing, type ResolvedPacing } from './account/config.js';
import { planBatches } from './account/coalesce.js';
import { classifySendFailure, type FailureClass, type QqBackendKind, type SendFailure } from './account/failures.js';
import { accountAlert, accountNotice, type AccountEvent } from './account/state.js';
import { PRIVATE_ADDRESS_HINT, privateRecipient } from './private-chats.js';

export { parseQqRoom } from './backend.js';

export interface QqConnectorOptions {
  /** The configured links, to report at each login which QQ sides cannot be found. */
  routes?: { links(): readonly MappingLink[] };
  /** Passed to the backend (tests shorten timings; WebQQ login prompts). */
  backend?: QqBackendOptions;
  /** Called on every QQ session state change (status notices, health). */
  onState?: (s: QqBackendState, detail?: string) => void;
  /** For metrics: protocol conditions the backend counts (`retcode:<n>`, `timeout`, `relink`, …). */
  onCondition?: (what: string) => void;
  /**
   * The account's episodes (refused, offline) and recoveries, once each: `notice` is the line for
   * the bridged rooms, `alert` (episodes only) the message for the admins.
   */
  onAccountEvent?: (e: AccountEvent, text: { notice: string; alert?: string }) => void;
  /** Tests tune how many suspected refusals make one, and the jitter source (the back-off is qq.pacing). */
  account?: { suspectLimit?: number; random?: () => number };
}

const FALLBACK: Record<QqFailure, FailureClass> = { 'bad-request': 'bad_request', 'not-in-room': 'bad_request', offline: 'offline', refused: 'refused', transient: 'transient' };

/** A backend's send error as its implementation's answer, for the account's failure table. */
function describeFailure(protocol: string, e: unknown): { failure: SendFailure; fallback?: FailureClass } {
  const backend = (['webqq', 'onebot', 'milky'].includes(protocol) ? protocol : 'onebot') as QqBackendKind;
  if (!(e instanceof QqSendError)) return { failure: { backend, noAnswer: 'network', message: (e as Error)?.message ?? String(e) } };
  const failure: SendFailure = { backend, message: typeof e.code === 'string' ? `${e.code} ${e.message}` : e.message };
  if (typeof e.code === 'number') failure.retcode = e.code;
  // No code from the implementation and "try again": nothing answered (network, timeout, session change).
  else if (e.failure === 'transient') failure.noAnswer = 'network';
  return { failure, fallback: FALLBACK[e.failure] };
}

export class QqConnector implements Connector {
  readonly network = 'qq';
  readonly capabilities: Capabilities;

  private backend: QqBackend | undefined;
  private ctx: ConnectorContext | undefined;
  private log: Logger | undefined;
  private state: QqBackendState = 'offline';
  private rebind: RetryHandle | undefined;
  /** Whether this start() already bound the mappings (the login's state change does it). */
  private boundThisStart = false;
  /** Bumped by every bindMappings() and by stop(): an attempt of an older generation does nothing. */
  private bindGeneration = 0;
  private stopped = false;
  /** The newest native message id relayed per room (since start), for a backend's catch-up. */
  private readonly lastRelayed = new Map<string, string>();
  /**
   * Pieces of a split message already in the QQ room, per Delivery.idempotencyKey, so a retried
   * delivery sends only the rest. In memory only: after a restart a retry sends the whole message.
   */
  private readonly partial = new PartialSends();
  /** The account above the backend: pacing, failure classes, refused/offline state (account/). */
  readonly account: QqAccount;
  private readonly avatars = new AvatarUrls({ media: () => this.ctx?.media, log: () => this.log });
  private readonly pacing: ResolvedPacing;
  /** A backlog for one group joined into fewer QQ messages (qq.pacing.coalesceAfter; 0: none). */
  readonly join: Joiner | undefined;

  constructor(private readonly config: QqSectionConfig, private readonly opts: QqConnectorOptions = {}) {
    this.pacing = resolvePacing(config as Parameters<typeof resolvePacing>[0]);
    this.join = this.pacing.coalesceAfter > 0 ? { ready: () => this.account.scheduler.paced(), plan: (d) => this.planJoin(d), send: (d) => this.sendJoined(d) } : undefined;
    this.account = new QqAccount({
      pacing: this.pacing,
      ...(opts.account ?? {}),
      onEvent: (e) => this.onAccountEvent(e),
    });
    const features = QQ_BACKENDS[config.protocol].features;
    this.capabilities = {
      formatting: false,
      images: 'upload',
      replies: features.replies,
      edits: false,
      deletes: features.recall,
      kinds: ['message', 'action', 'notice'] satisfies MessageKind[],
      // The account's sends are paced below the outbox (the backend's queue); the outbox's
      // bucket only needs to keep one room from monopolising that queue.
      rateLimit: { perSecond: 5, burst: 10 },
    };
  }

  async start(ctx: ConnectorContext): Promise<void> {
    this.stopped = false;
    this.boundThisStart = false;
    this.account.reopen();
    this.ctx = ctx;
    this.log = ctx.log;
    const entry = QQ_BACKENDS[this.config.protocol];
    const mod = (await entry.load()) as unknown as { createBackend(c: QqSectionConfig, o: QqBackendOptions): QqBackend };
    this.backend = mod.createBackend(this.config, this.opts.backend ?? {});
    await this.backend.start({
      log: ctx.log,
      onEvent: (e) => this.onEvent(e),
      onState: (c) => this.onState(c.state, c.reason),
      onCondition: (what) => {
        // WebQQ answered 1202 to a send: counted against the account (repeated, it is the spam filter).
        if (what === 'send:1202') this.account.noteUncertain(classifySendFailure({ backend: 'webqq', retcode: 1202 }));
        this.opts.onCondition?.(what);
      },
      lastRelayed: async (room) => this.lastRelayed.get(qqRoomKey(room)),
      mappedRooms: () => this.mappedRooms(),
      wasRelayed: async (room, nativeId) => (await ctx.sourceIdFor(qqRoomKey(room), nativeId)) !== undefined,
    });
    // A backend that came online without a state change during start() is bound here, once.
    if (this.backend.state() === 'online' && !this.boundThisStart) this.bindMappings();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.account.close();
    this.bindGeneration++;
    this.rebind?.stop();
    this.rebind = undefined;
    await this.backend?.stop();
  }

  async stopInput(): Promise<void> {
    await this.backend?.stopInput();
  }

  isConnected(): boolean {
    return this.state === 'online';
  }

  /** The QQ backend in use (status commands, tests). */
  get qqBackend(): QqBackend | undefined {
    return this.backend;
  }

  /** Name (and a group's picture, where the backend has one) of a room this account is in (a Matrix portal asks), else undefined. */
  async roomInfo(room: string): Promise<RoomInfo | undefined> {
    const r = parseQqRoom(room);
    if (!r || !this.backend) return undefined;
    if (r.kind === 'private') return undefined;
    if (r.kind === 'discussion') {
      const d = this.backend.discussions().find((x) => x.name === r.name);
      return d ? { name: d.name } : undefined;
    }
    const g = this.backend.groupDetails ? await this.backend.groupDetails(r.number) : this.backend.groups().find((x) => x.number === r.number);
    if (!g) return undefined;
    const avatarUrl = this.backend.groupAvatarUrl?.(r.number) ?? (await this.sessionGroupAvatar(r.number));
    return { name: g.name, ...(g.memo ? { topic: g.memo } : {}), ...(avatarUrl ? { avatarUrl } : {}) };
  }

  /**
   * A group picture only the session can fetch (WebQQ), copied into the media store whose URL
   * anyone can fetch. Fetched on each ask (a portal checks hourly), so a new picture is seen; the
   * store is content-addressed, so an unchanged one is stored once.
   */
  private async sessionGroupAvatar(group: number): Promise<string | undefined> {
    const media = this.ctx?.media;
    if (!this.backend?.groupAvatar || !media) return undefined;
    try {
      const pic = await this.backend.groupAvatar(group);
      return (await media.put(pic.data, pic.mime)).url;
    } catch (e) {
      this.log?.debug({ group, err: (e as Error).message }, 'QQ group picture could not be fetched');
      return undefined;
    }
  }

  private mappedRooms(): QqRoom[] {
    const out: QqRoom[] = [];
    for (const l of this.opts.routes?.links() ?? []) {
      for (const r of l.rooms) {
        const room = r.network === 'qq' ? parseQqRoom(r.room) : undefined;
        if (room) out.push(room);
      }
    }
    return out;
  }

  /** A group this account is in, by number (portal rooms are made only for those). */
  groupInfo(number: number): { name: string } | undefined {
    const g = this.backend?.groups().find((x) => x.number === number);
    return g ? { name: g.name } : undefined;
  }

  private onState(s: QqBackendState, detail?: string): void {
    const was = this.state;
    this.state = s;
    if (s === 'kicked') this.log?.error({ reason: detail }, 'QQ session was kicked off; not logging in again by itself (restart the bridge when ready)');
    else if (s === 'auth-failed') this.log?.error({ reason: detail }, `the QQ implementation refused the bridge's credentials (check qq.${this.config.protocol}.accessToken); retrying slowly`);
    else if (s !== was) this.log?.info({ state: s, detail }, 'QQ session state');
    if (s === 'online' && was !== 'online' && was !== 'offline') this.bindMappings();
    // A kick (and, with OneBot/Milky, bot_offline) is the account going offline, not the transport.
    if (s === 'kicked') this.account.setOffline(detail ?? 'kicked off QQ');
    // OneBot's bot_offline / lifecycle disable / heartbeat online:false (the transport is fine).
    else if (s === 'offline' && !this.stopped && detail !== undefined && detail !== 'stopped') this.account.setOffline(detail);
    else if (s === 'online' && this.account.status.state === 'offline') this.account.setOnline();
    this.opts.onState?.(s, detail);
  }

  private onAccountEvent(e: AccountEvent): void {
    const waiting = this.account.scheduler.waiting();
    if (e.type === 'episode') {
      const s = e.status;
      this.log?.error({ state: s.state, reason: s.reason, nextProbeAt: new Date(s.nextProbeAt).toISOString() }, s.state === 'refused' ? 'QQ is refusing this account\'s messages; the whole account backs off' : 'QQ account offline; holding every send');
      this.opts.onAccountEvent?.(e, { notice: accountNotice(e, waiting), alert: accountAlert(e) });
    } else {
      this.log?.info({ from: e.from, since: new Date(e.since).toISOString() }, 'QQ account sending again');
      this.opts.onAccountEvent?.(e, { notice: accountNotice(e, waiting) });
    }
  }

  /** The links changed (config reload): bind the new ones now when online, else at the next login. */
  refreshBindings(): void {
    if (this.state === 'online') this.bindMappings();
  }

  /** At every login, tell the operator which mapped groups/discussions this account cannot see, and retry them. */
  private bindMappings(): void {
    if (this.stopped || !this.backend || !this.log || !this.opts.routes) return;
    this.boundThisStart = true;
    const backend = this.backend;
    const log = this.log;
    const routes = this.opts.routes;
    // A newer call (next login, config reload) or stop() makes this one's attempts stale.
    const generation = ++this.bindGeneration;
    const current = () => generation === this.bindGeneration && !this.stopped;
    this.rebind?.stop();
    this.rebind = undefined;
    const attempt = async (refresh: boolean): Promise<number> => {
      if (!current()) return 0;
      if (refresh) await backend.refreshContacts();
      // Read at every attempt: a SIGHUP reload changes the links between retries.
      const links = routes.links();
      if (links.length === 0 || !current()) return 0;
      const report = bindLinks(links, {
        groups: backend.groups().map((g) => ({ gid: g.sessionId, number: g.number, name: g.name })),
        discussions: backend.discussions().map((d) => ({ did: d.sessionId, name: d.name })),
      });
      logBindingReport(report, log);
      return report.unbound.length;
    };
    attempt(false)
      .then((unbound) => {
        if (unbound > 0 && current()) this.rebind = retryUnbound(() => attempt(true), { intervalMs: 60_000, maxIntervalMs: 15 * 60_000, log });
      })
      .catch((err: unknown) => log.warn({ err }, 'could not check which QQ mappings this account can reach'));
  }

  // ---- inbound -----------------------------------------------------------------------------

  private async onEvent(e: QqInboundEvent): Promise<void> {
    const msg = await this.toBridgeMessage(e);
    if (msg) await this.ctx!.receive(msg);
    if (e.type === 'message') this.lastRelayed.set(qqRoomKey(e.room), e.nativeId);
  }

  private async toBridgeMessage(e: QqInboundEvent): Promise<BridgeMessage | undefined> {
    const room = qqRoomKey(e.room);
    const id = sourceId('qq', room, e.nativeId);
    switch (e.type) {
      case 'message': {
        const members = e.room.kind === 'group' ? this.backend?.members(e.room.number) : undefined;
        const parts = trimEnd(partsFromQqParts(e.parts, { media: await this.fetchMedia(e.parts), memberName: (qq) => memberName(members, qq) }));
        if (parts.length === 0) return undefined;
        const replyTo = e.replyTo !== undefined ? await this.ctx!.sourceIdFor(room, e.replyTo).catch(() => undefined) : undefined;
        const avatarUrl =
          e.sender.qq === undefined ? undefined
          : e.sender.avatar ? await this.avatars.of(e.sender.qq, e.sender.avatar)
          : this.backend?.avatarUrl?.(e.sender.qq);
        const sender = { ...senderOf(e.sender), ...(avatarUrl ? { avatarUrl } : {}) };
        return { id, origin: { network: 'qq', room, sender }, kind: 'message', parts, time: e.time, ...(replyTo ? { replyTo } : {}) };
      }
      case 'member': {
        const name = e.member.name ?? (e.member.qq !== undefined ? String(e.member.qq) : 'someone');
        const senderId = e.member.qq !== undefined ? String(e.member.qq) : name;
        const kind: MessageKind = e.change === 'join' ? 'join' : 'leave';
        return { id, origin: { network: 'qq', room, sender: { id: senderId, displayName: name, puppet: e.member.qq !== undefined } }, kind, parts: [], time: e.time };
      }
      case 'recall': {
        // Our own recall (a delete from another network) comes back as an event: never relayed.
        const self = this.backend?.self()?.qq;
        if (e.operator !== undefined && e.operator === self) {
          this.log?.debug({ room, id: e.nativeId }, 'our own QQ recall; not relayed back');
          return undefined;
        }
        // The message map knows the recalled message: one from QQ, or the bridge's copy of one from elsewhere.
        const deleteOf = await this.ctx!.sourceIdFor(room, e.nativeId).catch(() => undefined);
        if (deleteOf === undefined) {
          this.log?.debug({ room, id: e.nativeId }, 'a QQ recall of a message the bridge does not know; dropped');
          return undefined;
        }
        const members = e.room.kind === 'group' ? this.backend?.members(e.room.number) : undefined;
        const who = e.operator !== undefined ? String(e.operator) : 'someone';
        const name = e.operator !== undefined ? memberName(members, e.operator) ?? who : who;
        return {
          id: sourceId('qq', room, `recall-${e.nativeId}`),
          origin: { network: 'qq', room, sender: { id: who, displayName: name, puppet: e.operator !== undefined } },
          kind: 'delete', deleteOf, parts: [{ type: 'text', text: 'recalled a message' }], time: e.time,
        };
      }
    }
  }

  /** Downloads each picture/file into the media store; one that cannot be fetched becomes a marker, never a lost message. */
  private async fetchMedia(parts: readonly QqPart[]): Promise<ResolvedMedia[]> {
    const out: ResolvedMedia[] = [];
    for (const p of parts) {
      if (p.type !== 'image' && p.type !== 'file') continue;
      try {
        if (!this.backend?.fetchMedia) throw new Error('this QQ backend cannot fetch media');
        const got = await this.backend.fetchMedia(p.ref);
        const stored = await this.ctx!.media.put(got.data, got.mime);
        if (p.type === 'image') {
          out.push({ type: 'image', mediaId: stored.mediaId, mime: got.mime, size: got.data.length, ...(stored.url ? { url: stored.url } : {}), ...(p.name ? { name: p.name } : {}) });
        } else {
          out.push(stored.url ? { type: 'link', url: stored.url } : undefined);
        }
      } catch (err) {
        this.log?.warn({ err: (err as Error).message, kind: p.type }, 'could not fetch a QQ picture/file; relayed as a marker');
        out.push(undefined);
      }
    }
    return out;
  }

  // ---- outbound ----------------------------------------------------------------------------

  /** Every QQ send of the bridge goes through here. */
  async send(delivery: Delivery): Promise<string[]> {
    const backend = this.backend;
    if (!backend || this.state !== 'online') throw new DeliveryError('retryable', `QQ is not connected (${this.state})`);
    let room = parseQqRoom(delivery.room);
    if (!room) throw new DeliveryError('rejected', `not a QQ room: ${JSON.stringify(delivery.room)} (expected group:<number>, discussion:<name> or private)`);
    if (room.kind === 'discussion' && !backend.features.discussions) throw new DeliveryError('rejected', `QQ discussions are not supported with protocol: ${backend.protocol}`);
    if (delivery.message.kind === 'delete') return this.recall(backend, room, delivery);
    if (room.kind === 'private') {
      if (!backend.features.privateChats) throw new DeliveryError('rejected', `QQ private chats are not supported with protocol: ${backend.protocol}`);
      // An admin room answers one person: the message starts with their QQ number.
      const to = privateRecipient(delivery.message);
      if (!to) throw new DeliveryError('rejected', PRIVATE_ADDRESS_HINT);
      room = { kind: 'private', qq: to.qq };
      delivery = { ...delivery, message: to.message };
    }
    return this.sendItems(delivery, await this.outItems(delivery), room);
  }

  /**
   * How many of the waiting deliveries (the head first) go as one QQ message: when more than
   * coalesceAfter wait, a run of plain lines up to the backend's length limit (account/coalesce.ts).
   */
  private async planJoin(deliveries: readonly Delivery[]): Promise<number> {
    if (deliveries.length <= this.pacing.coalesceAfter) return 1;
    // An admin room's lines each name their own recipient: never joined.
    if (parseQqRoom(deliveries[0]!.room)?.kind === 'private') return 1;
    // Only plain messages join: a delete (a recall), a join/leave or a notice ends the run.
    const run = deliveries.findIndex((d) => d.message.kind !== 'message');
    if (run === 0) return 1;
    if (run > 0) deliveries = deliveries.slice(0, run);
    const limit = QQ_BACKENDS[this.config.protocol].features.joinLimit ?? { length: 4500, unit: 'utf16' };
    const entries = [];
    for (const [i, d] of deliveries.entries()) {
      // A picture goes alone anyway: no need to fetch (or scale) it to plan.
      const parts = d.message.parts.some((p) => p.type === 'image') ? [{ type: 'image' }] : await this.outItems(d);
      entries.push({ key: String(i), parts, reply: d.replyToRemoteId !== undefined });
    }
    const [first] = planBatches(entries, {
      coalesceAfter: this.pacing.coalesceAfter,
      maxLength: limit.length,
      ...(limit.unit === 'utf8' ? { measure: (t: string) => Buffer.byteLength(t) } : {}),
    });
    return first?.keys.length ?? 1;
  }

  /** One QQ message carrying several deliveries, one line each (their sender prefixes kept). */
  private async sendJoined(deliveries: readonly Delivery[]): Promise<string[]> {
    const items: QqOutItem[] = [];
    for (const d of deliveries) {
      if (items.length > 0) items.push({ type: 'text', text: '\n' });
      items.push(...(await this.outItems(d)));
    }
    const merged: QqOutItem[] = [];
    for (const it of items) {
      const last = merged[merged.length - 1];
      if (it.type === 'text' && last?.type === 'text') merged[merged.length - 1] = { type: 'text', text: last.text + it.text };
      else merged.push(it);
    }
    const head = deliveries[0]!;
    // The head's key and pieces stand for the joined message: the outbox keeps it for all of them.
    return this.sendItems({ ...head, ...(head.idempotencyKey !== undefined ? { idempotencyKey: `${head.idempotencyKey}+${deliveries.length}` } : {}) }, merged);
  }

  /** `target`: the room resolved by send() (a private chat's recipient), else the delivery's room. */
  private async sendItems(delivery: Delivery, items: QqOutItem[], target?: QqRoom): Promise<string[]> {
    const backend = this.backend;
    if (!backend || this.state !== 'online') throw new DeliveryError('retryable', `QQ is not connected (${this.state})`);
    const room = target ?? parseQqRoom(delivery.room);
    if (!room) throw new DeliveryError('rejected', `not a QQ room: ${JSON.stringify(delivery.room)} (expected group:<number>, discussion:<name> or private)`);
    if (!items.some((i) => i.type !== 'reply')) return [];
    // A retry of a delivery whose first pieces went out resumes after them (same items, same split).
    const key = delivery.idempotencyKey;
    const fingerprint = key !== undefined ? itemsFingerprint(delivery.room, items) : '';
    // The outbox keeps the pieces of an earlier attempt durably (across restarts); the memory
    // copy covers a retry whose failure could not be recorded.
    const fromMemory = key !== undefined ? this.partial.take(key, fingerprint) : [];
    const alreadySent = delivery.alreadySent?.length ? delivery.alreadySent : fromMemory;
    const sendOpts = {
      ...(alreadySent.length ? { alreadySent } : {}),
      ...(delivery.piecesSent ? { onPiece: delivery.piecesSent } : {}),
    };
    try {
      // The account's one send path: paced, fair between groups, held while QQ refuses it.
      return await this.account.send(delivery.room, () => backend.send(room, items, sendOpts), (e) => describeFailure(backend.protocol, e));
    } catch (e) {
      if (e instanceof AccountHeldError) throw e;
      const original = e instanceof ClassifiedSendError ? e.cause : e;
      const err = e instanceof ClassifiedSendError ? e : deliveryErrorFor(e);
      const sent = sentBeforeFailure(original, alreadySent);
      if (key !== undefined && err.kind === 'retryable' && sent.length > 0) {
        this.partial.keep(key, fingerprint, sent);
        this.log?.info({ room: delivery.room, piecesSent: sent.length }, 'QQ send failed part-way; a retry sends only the rest');
      }
      // The outbox stores the pieces with the item, so a retry after a restart sends only the rest.
      if (err.kind === 'retryable' && sent.length > 0 && err.remoteIds.length === 0) {
        throw new DeliveryError(err.kind, err.message, { cause: err.cause ?? err, remoteIds: sent, ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}) });
      }
      throw err;
    }
  }

  /**
   * Recalls every piece of the deleted message. Not paced with sends and never counted against the
   * account: QQ refusing a recall (too old, not ours, no admin rights) says nothing about the
   * account, and is reported once (rejected), not retried. Pieces recalled by an earlier attempt
   * (`alreadySent`) are skipped, since recalling one twice is refused.
   */
  private async recall(backend: QqBackend, room: QqRoom, delivery: Delivery): Promise<string[]> {
    if (!backend.features.recall || !backend.recall) throw new DeliveryError('rejected', `QQ recalls are not supported with protocol: ${backend.protocol}`);
    const done = [...(delivery.alreadySent ?? [])];
    for (const id of delivery.deleteOfRemoteIds ?? []) {
      if (done.includes(id)) continue;
      try {
        await backend.recall(room, id);
      } catch (e) {
        const err = deliveryErrorFor(e);
        throw new DeliveryError(err.kind, `QQ recall of message ${id} failed: ${err.message}`, { cause: e, remoteIds: done });
      }
      done.push(id);
    }
    return [];
  }

  /**
   * Pictures are handed to the backend as bytes, so it uploads them inside the send; when the
   * upload fails (or the bytes are gone) they travel as their media link.
   */
  private async outItems(delivery: Delivery): Promise<QqOutItem[]> {
    const out: QqOutItem[] = [];
    if (delivery.replyToRemoteId !== undefined && this.backend?.features.replies) out.push({ type: 'reply', id: delivery.replyToRemoteId });
    const pushText = (text: string) => {
      const last = out[out.length - 1];
      if (last && last.type === 'text') last.text += text;
      else out.push({ type: 'text', text });
    };
    const room = parseQqRoom(delivery.room);
    const members = room?.kind === 'group' && this.backend?.features.mentions ? this.backend.members(room.number) : undefined;
    const member = members ? (m: MentionPart) => mentionedMember(members, m) : undefined;
    for (const item of renderForQq(delivery.message, member ? { member } : {})) {
      if (item.type === 'text') pushText(item.text);
      else if (item.type === 'face' || item.type === 'at') out.push(item);
      else if (item.type === 'image' && 'part' in item) {
        const media = item.part.mediaId ? await this.ctx?.media.get(item.part.mediaId).catch(() => undefined) : undefined;
        // Dimensions QQ refuses: scaled down, or (when that cannot be done here) sent as the link.
        const fit = media ? fitForQq(media.data) : undefined;
        if (!media) pushText(imageAsText(item.part));
        else if (fit?.kind === 'too-large') {
          const url = item.part.url ?? (item.part.mediaId ? this.ctx?.media.urlFor(item.part.mediaId) : undefined);
          this.log?.info({ width: fit.width, height: fit.height }, 'a picture too large for QQ goes as its link');
          pushText(imageAsText({ ...item.part, ...(url ? { url } : {}) }));
        } else {
          const [data, mime] = fit?.kind === 'scaled' ? [fit.data, fit.mime] : [Buffer.from(media.data), media.mime];
          out.push({ type: 'image', data, mime, fallbackText: imageAsText(item.part), ...(item.part.name ? { name: item.part.name } : {}) });
        }
      }
    }
    return out;
  }
}

/**
 * The member a mention from another network means: its user id when that is a member's QQ number,
 * else the one member whose card or nickname is the mention's name.
 */
function mentionedMember(members: readonly QqMember[], m: MentionPart): number | undefined {
  if (m.userId && /^\d{5,12}$/.test(m.userId)) {
    const n = Number(m.userId);
    if (members.some((x) => x.qq === n)) return n;
  }
  const named = members.filter((x) => x.card === m.name || (!x.card && x.nickname === m.name));
  return named.length === 1 ? named[0]!.qq : undefined;
}

function memberName(members: readonly QqMember[] | undefined, qq: number): string | undefined {
  const m = members?.find((x) => x.qq === qq);
  return m ? m.card || m.nickname : undefined;
}

/** Shown by group card, else nickname, else number. */
function senderOf(s: QqSender): BridgeMessage['origin']['sender'] {
  const id = s.qq !== undefined ? String(s.qq) : s.fallbackId ?? '?';
  return { id, displayName: s.card || s.nickname || id, puppet: s.qq !== undefined };
}

/** A message's trailing blanks mean nothing to a reader (QQ clients append them). */
function trimEnd(parts: Part[]): Part[] {
  const last = parts[parts.length - 1];
  if (last && last.type === 'text') {
    last.text = last.text.replace(/[ \t]+$/, '');
    if (last.text === '') parts.pop();
  }
  return parts;
}
