/**
 * The WebQQ client facade the QQ connector uses: login (stored session → relink, else silent
 * relogin, else full login), warm-up, contacts, the poll loop and the send queue, with every event
 * carrying the stable numbers (group number, sender QQ number and display name) where they can be
 * resolved. Session ids never leave this module except inside image refs.
 */
import type { Logger } from '../../../log.js';
import * as api from './api.js';
import type { ApiContext, GfaceSig, Picture, QqStatus } from './api.js';
import { NotReadyError, SendError, UnknownTargetError, WebQqError } from './errors.js';
import { channelEra, establishSession, relink as authRelink, type LoginContext, type PasswordEra, type QqStatus as LoginStatus, type Session } from './auth.js';
import { Contacts } from './contacts.js';
import { Inbound } from './inbound.js';
import { RecentSends, sentText } from './echoes.js';
import type { OutgoingItem } from './content.js';
import type { ImageRef } from './image-refs.js';
import type { QqEvent } from './events.js';
import { Poller, type PollerTuning, type PollJournal } from './poller.js';
import { Sender } from './sender.js';
import { resolveTarget } from './targets.js';
import { SessionGate } from './session-gate.js';
import type { Era } from './hosts.js';
import { SessionStore, type StoredSession } from './session-store.js';
import { createTransport, type Transport } from './transport.js';

export { imageRefs, type ImageRef } from './image-refs.js';

export type ClientState = 'connecting' | 'online' | 'relinking' | 'offline' | 'kicked';

/**
 * What callers may put in a message: the codec's items plus raw pictures, uploaded inside the send
 * (so the upload and the send belong to the same session). With `fallbackText`, a picture whose
 * upload fails travels as that text instead of failing the message.
 */
export type SendItem = OutgoingItem | { type: 'image'; data: Buffer; mime: string; name?: string; fallbackText?: string };

export interface SendOptions {
  /** msg_ids of the pieces an earlier attempt of this message sent: those pieces are not sent again. */
  alreadySent?: readonly number[];
  /**
   * Called with every msg_id sent so far after each piece but the last, before the next piece
   * goes out: a caller that records it durably can resume (`alreadySent`) after a crash. A
   * rejection stops the send there (retryable, with the pieces sent).
   */
  onPiece?: (sentMsgIds: readonly number[]) => Promise<void>;
}

/**
 * The account and its fixed settings: the library's own options, not the bridge's config (the
 * QQ connector maps one to the other, `webqqAccountFrom`).
 */
export interface WebQqAccount {
  /** The bot account's QQ number. */
  uin: number;
  /** Required when `login` is 'password'. */
  password?: string | undefined;
  login: Era;
  /** With login 'password': WebQQ's md5 scheme (default) or SmartQQ's RSA-then-TEA login (§1.2). */
  passwordEra?: PasswordEra | undefined;
  /** Send every request to this origin instead (a simulator), keeping the real Host. */
  endpoint?: string | undefined;
  /** Session file, captcha and QR images live here. */
  stateDir: string;
  status: LoginStatus;
  /** Minimum gap between two sends. */
  sendIntervalMs: number;
  /** Where the default login prompt waits for a captcha code; default `<stateDir>/captcha-code.txt`. */
  captchaCodeFile?: string | undefined;
}

export interface WebQqClientOptions {
  log: Logger;
  onEvent(e: QqEvent): Promise<void>;
  onState?(s: ClientState, detail?: string): void;
  /** For metrics: every poll condition (`retcode:<n>`, `timeout`, …) and every `relink` / `relogin` attempt. */
  onCondition?(what: string): void;
  /** Login knobs (interactive prompts, QR callbacks, …) passed through to auth. */
  login?: Partial<Omit<LoginContext, 'transport' | 'log' | 'mode' | 'uin' | 'password' | 'stateDir'>>;
  /** Keeps event-carrying poll answers durably until handed over; replayed at the next start. */
  journal?: PollJournal;
  /** Poll-loop timing (tests shorten it). */
  tuning?: Partial<PollerTuning>;
  /** poll2 request timeout; default 70 s (the server holds ~60 s). */
  pollTimeoutMs?: number;
  /** How long a queued send waits for a session being replaced before failing as retryable; default 60 s. */
  sendHoldMs?: number;
  /**
   * An account in more groups than this is online once it knows its groups and their numbers;
   * their member lists (names, cards, memo) load afterwards, a few at a time, and a group that
   * speaks first has its list loaded first. Default 20; 0 loads every list after login.
   */
  eagerMemberGroups?: number;
}

export class WebQqClient {
  private transport: Transport | undefined;
  private session: Session | undefined;
  private readonly store: SessionStore;
  private readonly contacts: Contacts;
  private readonly inbound: Inbound;
  private readonly sender: Sender;
  /** Open only while the session is complete (state online); closed during relink/relogin. */
  private readonly gate = new SessionGate();
  private poller: Poller | undefined;
  private abort = new AbortController();
  private gface: Promise<GfaceSig> | undefined;
  private selfFace = 0;
  private state: ClientState = 'offline';
  private relogging: Promise<void> | undefined;
  private saving: Promise<void> = Promise.resolve();
  /** Pieces just sent, by room: their echoes are recognised by content. */
  private readonly recentSends = new RecentSends();
  private readonly log: Logger;
  private readonly delivered = new WeakSet<QqEvent>();
  private readonly resolved = new WeakSet<QqEvent>();

  constructor(private readonly config: WebQqAccount, private readonly opts: WebQqClientOptions) {
    this.log = opts.log;
    this.store = new SessionStore(config.stateDir, opts.log);
    this.contacts = new Contacts({
      ctx: () => this.ctx(),
      log: opts.log,
      onHashVersion: () => void this.save(),
      ...(opts.eagerMemberGroups !== undefined ? { eagerMemberGroups: opts.eagerMemberGroups } : {}),
    });
    this.inbound = new Inbound({ contacts: this.contacts, log: opts.log, recentSends: this.recentSends, selfUin: () => this.session?.uin });
    this.sender = new Sender({
      ctx: () => this.ctx(),
      log: opts.log,
      intervalMs: config.sendIntervalMs,
      gate: this.gate,
      resolve: (t) => resolveTarget(this.contacts, () => this.ctx(), t),
      gfaceSig: () => this.gfaceSig(),
      face: () => this.selfFace,
      onSending: (t, piece) => {
        if (t.kind === 'group' || t.kind === 'discussion') this.recentSends.note(t.kind === 'group' ? `g:${t.gid}` : `d:${t.did}`, sentText(piece));
      },
      // The poller owns every relogin, so none runs while a poll is being built or handled.
      onHardFailures: (n) => this.poller?.requestRelogin(`${n} consecutive send failures`),
      // Told to whoever counts conditions: the QQ adapter reads repeated 1202s as risk control.
      onUncertain: () => this.opts.onCondition?.('send:1202'),
      ...(opts.sendHoldMs !== undefined ? { holdMs: opts.sendHoldMs } : {}),
    });
  }

  // ---- lifecycle -------------------------------------------------------------------------

  async start(): Promise<void> {
    this.abort = new AbortController();
    this.sender.reopen();
    this.setState('connecting');
    const stored = await this.store.loadOrWarn();
    this.transport = createTransport({ ...(this.config.endpoint ? { endpoint: this.config.endpoint } : {}), jar: stored?.jar, log: this.log });
    if (stored?.hashVersion) this.contacts.hashVersion = stored.hashVersion;
    const usable = stored && stored.era === channelEra(this.config.login, this.config.passwordEra) && stored.uin === this.config.uin ? stored : undefined;
    await this.connect(usable);
    this.poller = new Poller({
      log: this.log,
      poll: (signal) => api.poll2({ ...this.ctx(), signal }, this.opts.pollTimeoutMs ?? 70_000),
      onEvents: (events) => this.dispatch(events),
      rotatePtwebqq: (p) => this.rotatePtwebqq(p),
      relink: () => this.relink(),
      relogin: (reason) => this.relogin(reason),
      onKicked: (reason) => this.setState('kicked', reason),
      onGiveUp: (e) => this.setState('offline', `relogin failed for good: ${(e as Error).message}`),
      isSelfEcho: (e) => this.inbound.isSelfEcho(e),
      wasDelivered: (e) => this.delivered.has(e),
      onCondition: (what) => this.opts.onCondition?.(what),
      ...(this.opts.tuning ? { tuning: this.opts.tuning } : {}),
      ...(this.opts.journal ? { journal: this.opts.journal } : {}),
    });
    this.poller.start();
  }

  /** Stops polling (shutdown): the batch being handed over completes; sends keep working. */
  async stopPolling(): Promise<void> {
    await this.poller?.stop();
  }

  async stop(): Promise<void> {
    this.abort.abort(new Error('WebQQ client stopped'));
    await this.contacts.stopLoading();
    await this.poller?.stop();
    this.sender.close();
    await this.saving.catch(() => undefined);
    this.setState('offline');
  }

  /** logout2, then forget the stored session so the next start logs in afresh. */
  async logout(): Promise<void> {
    await this.poller?.stop();
    try {
      if (this.session) await api.logout(this.ctx());
    } finally {
      this.abort.abort(new Error('logged out'));
      this.sender.close();
      await this.saving.catch(() => undefined);
      await this.store.clear();
      this.session = undefined;
      this.setState('offline', 'logged out');
    }
  }

  async changeStatus(status: QqStatus): Promise<void> {
    await api.changeStatus(this.ctx(), status);
  }

  // ---- queries ---------------------------------------------------------------------------

  self(): { qq: number; nick?: string } {
    const s = this.requireSession();
    return s.nick !== undefined ? { qq: s.uin, nick: s.nick } : { qq: s.uin };
  }

  currentState(): ClientState {
    return this.state;
  }

  groups(): { number?: number; name: string; memo?: string; gid: number; members: number }[] {
    return this.contacts.groups().map((g) => ({ ...(g.number !== undefined ? { number: g.number } : {}), name: g.name, ...(g.memo ? { memo: g.memo } : {}), gid: g.gid, members: g.members?.size ?? 0 }));
  }

  discussions(): { did: number; name: string; members: number }[] {
    return this.contacts.discussions().map((d) => ({ did: d.did, name: d.name, members: d.members?.size ?? 0 }));
  }

  friends(): { qq?: number; uin: number; nick: string; markname?: string }[] {
    return this.contacts.friends().map((f) => ({
      ...(f.qq !== undefined ? { qq: f.qq } : {}), uin: f.uin, nick: f.nick, ...(f.markname ? { markname: f.markname } : {}),
    }));
  }

  /** Group number of a session gid (get_friend_uin2 type 4, then info_seq, then name match). */
  resolveGroup(gid: number): Promise<number | undefined> {
    return this.contacts.resolveGroupNumber(gid);
  }

  /** Re-reads friends, groups and discussions (group members: see `eagerMemberGroups`). */
  async refreshContacts(): Promise<void> {
    await this.contacts.refreshAll();
  }

  /** Settles once the member lists that load in the background after a refresh have loaded. */
  membersLoaded(): Promise<void> {
    return this.contacts.membersLoaded();
  }

  /** A group's memo and member count, its member list loaded first when it has not loaded yet. */
  async groupDetails(number: number): Promise<{ number: number; name: string; memo?: string; gid: number; members: number } | undefined> {
    const g = await this.contacts.groupByNumber(number);
    if (!g) return undefined;
    await this.contacts.ensureGroupMembers(g.gid).catch((e) => this.log.debug({ err: e, group: number }, 'member list unavailable'));
    return { number, name: g.name, ...(g.memo ? { memo: g.memo } : {}), gid: g.gid, members: g.members?.size ?? 0 };
  }

  /** Tell the client a group's number by name, for when get_friend_uin2 is dead (post-2017). */
  learnGroupName(name: string, number: number): void {
    this.contacts.learnGroupName(name, number);
  }

  // ---- sending ---------------------------------------------------------------------------

  /*
   * Sends are queued by stable ids and resolved to session ids (and pictures uploaded) by the
   * sender right before each request, in the session that request goes out with.
   */

  /**
   * `opts.alreadySent`: msg_ids an earlier attempt of this same message got out (its
   * SendError.sentMsgIds); the send resumes after those pieces and resolves to all the ids.
   */
  sendGroup(groupNumber: number, items: SendItem[], opts: SendOptions = {}): Promise<number[]> {
    return this.sender.send({ kind: 'group', number: groupNumber }, this.prepare(items, 'group'), opts.alreadySent, opts.onPiece);
  }

  async sendDiscussion(nameOrDid: string | number, items: SendItem[], opts: SendOptions = {}): Promise<number[]> {
    let name = nameOrDid;
    if (typeof nameOrDid === 'number') {
      // A did is only good for this login: queue the discussion by its name.
      let d = this.contacts.discussion(nameOrDid);
      if (!d) {
        await this.contacts.refreshDiscussions();
        d = this.contacts.discussion(nameOrDid);
      }
      if (!d) throw new UnknownTargetError('get_discus_list', `the bot is not in QQ discussion ${nameOrDid}`);
      name = d.name;
    }
    return this.sender.send({ kind: 'discussion', name: String(name) }, this.prepare(items, 'group'), opts.alreadySent, opts.onPiece);
  }

  sendBuddy(qq: number, items: SendItem[], opts: SendOptions = {}): Promise<number[]> {
    return this.sender.send({ kind: 'buddy', qq }, this.prepare(items, 'buddy', qq), opts.alreadySent, opts.onPiece);
  }

  /**
   * A temporary-session message to a member of a group or discussion the bot is in (§2.6), e.g.
   * the answer to a `sess_message`. Text and faces only. (SmartQQ blocked these sends from 2016.)
   */
  sendSess(qq: number, via: { group: number } | { discussion: string }, items: OutgoingItem[], opts: SendOptions = {}): Promise<number[]> {
    return this.sender.send({ kind: 'sess', qq, via }, items, opts.alreadySent, opts.onPiece);
  }

  /** Where to answer a received `sess_message`: its sender and the room it came through. */
  sessReplyTarget(e: QqEvent): { qq: number; via: { group: number } | { discussion: string } } | undefined {
    if (e.type !== 'sess_message' || e.senderQq === undefined) return undefined;
    if (e.serviceType === 0) {
      const g = this.contacts.group(e.id);
      return g?.number !== undefined ? { qq: e.senderQq, via: { group: g.number } } : undefined;
    }
    const d = this.contacts.discussion(e.id);
    return d ? { qq: e.senderQq, via: { discussion: d.name } } : undefined;
  }

  private prepare(items: SendItem[], scope: 'group' | 'buddy', buddyQq?: number): OutgoingItem[] | (() => Promise<OutgoingItem[]>) {
    // Uploaded pictures belong to the session that uploaded them: upload in the sending session.
    return items.some((i) => i.type === 'image') ? () => this.uploadAll(items, scope, buddyQq) : (items as OutgoingItem[]);
  }

  /**
   * Uploads a picture as a custom face; the name goes into `{type:'cface', name}` (group,
   * discussion) or `{type:'buddy-cface', name}` (buddy).
   */
  async uploadImage(data: Buffer, mime: string, nameOrOpts?: string | { name?: string; scope?: 'group' | 'buddy' }): Promise<string> {
    const opts = typeof nameOrOpts === 'string' ? { name: nameOrOpts } : nameOrOpts ?? {};
    const ext = mime === 'image/png' ? 'png' : mime === 'image/gif' ? 'gif' : 'jpg';
    await this.sessionReady();
    return api.cfaceUpload(this.ctx(), data, opts.name ?? `image.${ext}`, mime, { scope: opts.scope ?? 'group' });
  }

  async downloadImage(ref: ImageRef): Promise<Picture> {
    const ctx = this.ctx();
    switch (ref.kind) {
      case 'group': {
        const g = this.contacts.group(ref.gid);
        return api.getGroupPic(ctx, { code: g?.code ?? ref.gid, sendUin: ref.sendUin, fileId: ref.fileId, name: ref.name, ...(ref.server ? { server: ref.server } : {}) });
      }
      case 'discussion':
        return api.getGroupPic(ctx, { did: ref.did, sendUin: ref.sendUin, fileId: ref.fileId, name: ref.name, ...(ref.server ? { server: ref.server } : {}) });
      case 'buddy-cface':
        return api.getCface(ctx, ref.msgId, ref.name, ref.fromUin);
      case 'offpic':
        return api.getOffpic(ctx, ref.filePath, ref.fromUin);
    }
  }

  /**
   * The avatar of whoever sent an event (`message`, `sess_message`, `group_message`,
   * `discu_message`), or of a session uin / gid. The ids are only good for this login: fetch it
   * while handling the event.
   */
  async downloadAvatar(of: QqEvent | { uin: number } | { gid: number }): Promise<Picture> {
    if ('gid' in of && !('type' in of)) return api.getFace(this.ctx(), of.gid, 'group');
    if ('uin' in of) return api.getFace(this.ctx(), of.uin, 'user');
    const e = of as QqEvent;
    if (e.type === 'group_message' || e.type === 'discu_message') return api.getFace(this.ctx(), e.sendUin, 'user');
    if (e.type === 'message' || e.type === 'sess_message') return api.getFace(this.ctx(), e.fromUin, 'user');
    throw new UnknownTargetError('getface', `a ${e.pollType} event has no sender with an avatar`);
  }

  private async uploadAll(items: SendItem[], scope: 'group' | 'buddy' = 'group', buddyQq?: number): Promise<OutgoingItem[]> {
    const out: OutgoingItem[] = [];
    let slot = 0;
    for (const it of items) {
      if (it.type !== 'image') {
        out.push(it);
        continue;
      }
      try {
        if (scope === 'buddy' && buddyQq !== undefined) {
          // To a buddy a picture travels as an offline picture, uploaded for that peer (§2.11).
          const target = await resolveTarget(this.contacts, () => this.ctx(), { kind: 'buddy', qq: buddyQq });
          const ext = it.mime === 'image/png' ? 'png' : it.mime === 'image/gif' ? 'gif' : 'jpg';
          const up = await api.offpicUpload(this.ctx(), it.data, it.name ?? `image.${ext}`, it.mime, target.kind === 'buddy' ? target.uin : 0, { slot: ++slot });
          out.push({ type: 'offpic', filePath: up.filePath, fileName: up.fileName, fileSize: up.fileSize });
          continue;
        }
        const name = await this.uploadImage(it.data, it.mime, { scope, ...(it.name ? { name: it.name } : {}) });
        out.push(scope === 'buddy' ? { type: 'buddy-cface', name } : { type: 'cface', name });
      } catch (e) {
        if (it.fallbackText === undefined) throw new SendError('cface_upload', e instanceof WebQqError ? e.retcode : undefined, `picture upload failed: ${(e as Error).message}`, [], true, e);
        this.log.warn({ err: (e as Error).message }, 'QQ picture upload failed; sending its fallback text instead');
        out.push({ type: 'text', text: it.fallbackText });
      }
    }
    return out;
  }

  // ---- internals -------------------------------------------------------------------------

  private setState(s: ClientState, detail?: string): void {
    this.state = s;
    // Closed before anything of the old session is replaced, opened once all of the new one is in.
    if (s === 'online') this.gate.open();
    else this.gate.close();
    this.opts.onState?.(s, detail);
  }

  /** Waits for a usable session (not while one is being replaced); retryable error when it stays away. */
  private async sessionReady(): Promise<void> {
    try {
      await this.gate.ready(this.abort.signal, this.opts.sendHoldMs ?? 60_000);
    } catch (e) {
      throw new NotReadyError(`WebQQ session unavailable: ${(e as Error).message}`, e);
    }
  }

  private requireSession(): Session {
    if (!this.session) throw new NotReadyError('WebQQ client is not logged in');
    return this.session;
  }

  private ctx(): ApiContext {
    if (!this.transport) throw new NotReadyError('WebQQ client is not started');
    return { transport: this.transport, session: this.requireSession(), signal: this.abort.signal };
  }

  private loginCtx(): LoginContext {
    return {
      status: this.config.status,
      ...(this.config.captchaCodeFile ? { captchaCodeFile: this.config.captchaCodeFile } : {}),
      ...this.opts.login,
      transport: this.transport!,
      log: this.log,
      mode: this.config.login,
      ...(this.config.passwordEra ? { passwordEra: this.config.passwordEra } : {}),
      uin: this.config.uin,
      ...(this.config.password ? { password: this.config.password } : {}),
      stateDir: this.config.stateDir,
      signal: this.abort.signal,
    };
  }

  /** Login (relink a stored session when given), warm-up, contacts. */
  private async connect(stored: StoredSession | undefined): Promise<void> {
    const { session, how } = await establishSession(this.loginCtx(), stored);
    this.session = session;
    try {
      await this.warmUp();
    } catch (e) {
      if (how !== 'relink') throw e;
      // A stored session that relinks but still gets 103 (§5.1): start over.
      this.log.warn({ err: e }, 'relinked session failed the warm-up; logging in afresh');
      const fresh = await establishSession(this.loginCtx(), undefined);
      this.session = fresh.session;
      await this.warmUp();
    }
    this.log.info({ how, era: session.era }, 'WebQQ session established');
    // Contacts first: the session file must not pair this session with the last one's gids.
    this.contacts.reset();
    const relinked = this.session === session && how === 'relink';
    if (relinked && stored?.groups) this.contacts.rememberNumbers(stored.groups);
    await this.save();
    this.gface = undefined;
    this.inbound.reset();
    this.recentSends.clear();
    await this.loadContacts();
    // The numbers just resolved, for a restart that relinks this session (stop() waits for it).
    void this.save();
    this.setState('online');
  }

  /** get_online_buddies2 registers the session; without it poll/send answer 103 (§1.3.7). */
  private async warmUp(): Promise<void> {
    await api.getOnlineBuddies(this.ctx());
  }

  private async loadContacts(): Promise<void> {
    // Beside the contact lists, as the web page asked them: two round trips fewer before online.
    const selfInfo = async () => {
      try {
        const me = await api.getSelfInfo(this.ctx());
        if (me.face !== undefined) this.selfFace = me.face;
        if (me.nick && this.session) this.session.nick = me.nick;
      } catch (e) {
        this.log.debug({ err: e }, 'get_self_info2 failed');
      }
    };
    const recentList = async () => {
      try {
        await api.getRecentList(this.ctx());
      } catch (e) {
        this.log.debug({ err: e }, 'get_recent_list2 failed');
      }
    };
    await Promise.all([this.contacts.refreshAll(), selfInfo(), recentList()]);
  }

  private save(): Promise<void> {
    const s = this.session;
    const t = this.transport;
    if (!s || !t) return this.saving;
    this.saving = this.saving
      .catch(() => undefined)
      .then(() => this.store.save(s, t.serialize(), this.contacts.hashVersion, this.contacts.resolvedNumbers()))
      .catch((e) => this.log.warn({ err: e }, 'session file could not be saved'));
    return this.saving;
  }

  private gfaceSig(): Promise<GfaceSig> {
    if (!this.gface) {
      this.gface = api.getGfaceSig(this.ctx());
      this.gface.catch(() => (this.gface = undefined));
    }
    return this.gface;
  }

  private async rotatePtwebqq(p: string): Promise<void> {
    // The cookie (sent with every request), the session (poll r, login2) and the list-hash input.
    this.transport!.setCookie('ptwebqq', p, 'qq.com');
    if (this.session) this.session.ptwebqq = p;
    // Sends built before this carried the old ptwebqq: their refusals are stale, not real.
    this.gate.bump();
    await this.save();
  }

  private async relink(): Promise<boolean> {
    if (!this.session) return false;
    this.opts.onCondition?.('relink');
    this.setState('relinking');
    try {
      this.session = await authRelink(this.loginCtx(), this.session);
      await this.warmUp();
      await this.save();
      this.setState('online');
      return true;
    } catch (e) {
      this.log.warn({ err: e }, 'relink failed');
      return false;
    }
  }

  /** Full relogin; concurrent callers share one attempt. */
  private relogin(reason: string): Promise<void> {
    if (this.relogging) return this.relogging;
    this.relogging = (async () => {
      this.opts.onCondition?.('relogin');
      this.setState('relinking', reason);
      try {
        await this.connect(undefined);
      } catch (e) {
        this.setState('offline', `relogin failed: ${(e as Error).message}`);
        throw e;
      }
    })().finally(() => {
      this.relogging = undefined;
    });
    return this.relogging;
  }

  /**
   * Hands events to the caller in order. When the handler throws, the poller retries the batch:
   * events already accepted are not handed over twice.
   */
  private async dispatch(events: QqEvent[]): Promise<void> {
    for (const e of events) {
      if (this.delivered.has(e)) continue;
      if ((e.type === 'group_message' || e.type === 'discu_message' || e.type === 'message') && e.content.junk) {
        this.log.debug({ pollType: e.pollType }, 'junk message dropped');
        this.delivered.add(e);
        continue;
      }
      if (!this.resolved.has(e)) {
        await this.inbound.resolve(e);
        this.resolved.add(e);
      }
      await this.opts.onEvent(e);
      this.delivered.add(e);
    }
  }

}
