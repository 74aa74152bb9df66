/**
 * WebQQ as a QQ backend: a thin adapter from the WebQQ client's public methods to the backend
 * interface. Events become QQ-level parts (pure: `parts.ts`), send failures become
 * QqSendErrors in one place (`sendFailure`).
 */
import {
  QqSendError, type QqBackend, type QqBackendContext, type QqDiscussion, type QqGroup, type QqInboundEvent,
  type QqMediaRef, type QqOutItem, type QqRoom, type QqSendOptions,
} from '../backend.js';
import type { QqBackendOptions } from '../backends.js';
import { imageRefs, WebQqClient, type ClientState, type ImageRef, type SendItem, type WebQqClientOptions } from './client.js';
import type { WebqqConfig } from './config.js';
import type { QqEvent } from './events.js';
import type { OutgoingItem } from './content.js';
import { SendError, UnknownTargetError } from './errors.js';
import { sentPieces, toDeliveryError } from './delivery-errors.js';
import { kvPollJournal } from './kv-journal.js';
import { webqqAccountFrom } from './account-options.js';
import { webqqParts } from './parts.js';

/** A WebQQ client error (or anything else) as a QqSendError, keeping the pieces already sent. */
export function sendFailure(e: unknown, alreadySent: readonly string[]): QqSendError {
  if (e instanceof QqSendError) return e;
  const sentIds = sentPieces(e)?.map(String) ?? alreadySent;
  const code = e instanceof SendError ? e.retcode : undefined;
  const opts = { sentIds, cause: e, ...(code !== undefined ? { code } : {}) };
  if (e instanceof UnknownTargetError) return new QqSendError('not-in-room', e.message, opts);
  const d = toDeliveryError(e);
  if (d.kind === 'retryable') return new QqSendError('transient', d.message, opts);
  if (d.kind === 'fatal') return new QqSendError('offline', d.message, opts);
  return new QqSendError(/not in QQ|not a friend/.test(d.message) ? 'not-in-room' : 'bad-request', d.message, opts);
}

export class WebqqBackend implements QqBackend {
  readonly protocol = 'webqq';
  readonly features = { replies: false, mentions: false, recall: false, discussions: true, privateChats: true };
  private client: WebQqClient | undefined;
  /** Where to answer each person who wrote through a temporary session (their group or discussion). */
  private readonly sessVia = new Map<number, { group: number } | { discussion: string }>();

  constructor(private readonly config: WebqqConfig, private readonly opts: QqBackendOptions = {}) {}

  /** The WebQQ client itself, for status commands and tests. */
  get webqq(): WebQqClient | undefined {
    return this.client;
  }

  async start(ctx: QqBackendContext): Promise<void> {
    const tuning = (this.opts.tuning ?? {}) as Partial<Omit<WebQqClientOptions, 'log' | 'onEvent' | 'onState'>>;
    this.client = new WebQqClient(webqqAccountFrom(this.config), {
      ...tuning,
      // A poll answer is in the store before any of it is relayed: a kill -9 loses at most the read in flight.
      ...(this.opts.kv ? { journal: kvPollJournal(this.opts.kv) } : {}),
      ...(this.opts.loginPrompt ? { login: { prompt: this.opts.loginPrompt } } : {}),
      log: ctx.log,
      onEvent: async (e) => {
        const ev = this.toEvent(e, ctx);
        if (ev) await ctx.onEvent(ev);
      },
      onState: (s: ClientState, detail?: string) => ctx.onState(detail !== undefined ? { state: s, reason: detail } : { state: s }),
      ...(ctx.onCondition ? { onCondition: (what: string) => ctx.onCondition!(what) } : {}),
    });
    await this.client.start();
  }

  async stop(): Promise<void> {
    await this.client?.stop();
  }

  /** WebQQ only hears what it polls: stop polling first, so nothing is fetched that cannot be stored. */
  async stopInput(): Promise<void> {
    await this.client?.stopPolling();
  }

  state() {
    return this.client?.currentState() ?? 'offline';
  }

  self() {
    try {
      const s = this.client?.self();
      return s ? { qq: s.qq, ...(s.nick !== undefined ? { nickname: s.nick } : {}) } : undefined;
    } catch {
      return undefined;
    }
  }

  groups(): QqGroup[] {
    return (this.client?.groups() ?? []).map((g) => ({ ...(g.number !== undefined ? { number: g.number } : {}), name: g.name, ...(g.memo ? { memo: g.memo } : {}), sessionId: String(g.gid), memberCount: g.members }));
  }

  async groupDetails(group: number): Promise<QqGroup | undefined> {
    const g = await this.client?.groupDetails(group);
    return g && { number: g.number, name: g.name, ...(g.memo ? { memo: g.memo } : {}), sessionId: String(g.gid), memberCount: g.members };
  }

  /** The face servers serve a group's picture by its gid, to this session only. */
  async groupAvatar(group: number): Promise<{ data: Buffer; mime: string }> {
    const g = this.client?.groups().find((x) => x.number === group);
    if (!this.client || !g) throw new Error(`not in QQ group ${group}`);
    return this.client.downloadAvatar({ gid: g.gid });
  }

  discussions(): QqDiscussion[] {
    return (this.client?.discussions() ?? []).map((d) => ({ name: d.name, sessionId: String(d.did) }));
  }

  /** WebQQ's member lists hold session uins, not QQ numbers: nothing the adapter can use. */
  members(): undefined {
    return undefined;
  }

  async refreshContacts(): Promise<void> {
    await this.client?.refreshContacts();
  }

  async send(room: QqRoom, items: QqOutItem[], opts: QqSendOptions = {}): Promise<string[]> {
    const client = this.client;
    if (!client) throw new QqSendError('transient', 'WebQQ client is not started');
    const out: SendItem[] = [];
    const pushText = (text: string) => {
      const last = out[out.length - 1];
      if (last && last.type === 'text') last.text += text;
      else out.push({ type: 'text', text });
    };
    for (const it of items) {
      if (it.type === 'text') pushText(it.text);
      else if (it.type === 'at') pushText(`@${it.name}`);
      else if (it.type === 'reply') continue;
      else out.push(it);
    }
    const alreadySent = opts.alreadySent ?? [];
    const onPiece = opts.onPiece;
    const sendOpts = {
      ...(alreadySent.length ? { alreadySent: alreadySent.map(Number) } : {}),
      ...(onPiece ? { onPiece: (ids: readonly number[]) => onPiece(ids.map(String)) } : {}),
    };
    try {
      const ids =
        room.kind === 'group' ? await client.sendGroup(room.number, out, sendOpts)
        : room.kind === 'discussion' ? await client.sendDiscussion(room.name, out, sendOpts)
        : await this.sendPrivate(client, room.qq, out, sendOpts);
      return ids.map(String);
    } catch (e) {
      throw sendFailure(e, alreadySent);
    }
  }

  /**
   * A buddy gets a buddy message; anyone else only through the temporary session they opened
   * (get_c2cmsg_sig2 + send_sess_msg2, §2.6) from a group or discussion.
   */
  private async sendPrivate(client: WebQqClient, qq: number | undefined, out: SendItem[], sendOpts: { alreadySent?: number[] }): Promise<number[]> {
    if (qq === undefined) throw new QqSendError('bad-request', 'a private QQ message needs the QQ number it is for');
    const via = this.sessVia.get(qq);
    if (via) {
      // A temporary session carries no uploaded pictures here: a picture goes as its link.
      const items: OutgoingItem[] = out.map((i) => (i.type === 'image' ? { type: 'text', text: i.fallbackText ?? '[picture]' } : i));
      return client.sendSess(qq, via, items, sendOpts);
    }
    if (client.friends().some((f) => f.qq === qq)) return client.sendBuddy(qq, out, sendOpts);
    throw new QqSendError('bad-request', `${qq} is not a friend of this QQ account and has not written to it through a group or discussion since it logged in`);
  }

  async fetchMedia(ref: QqMediaRef): Promise<{ data: Buffer; mime: string }> {
    if (!this.client || !ref.handle) throw new Error('no WebQQ picture reference');
    const pic = await this.client.downloadImage(ref.handle as ImageRef);
    return { data: pic.data, mime: pic.mime };
  }

  private toEvent(e: QqEvent, ctx: QqBackendContext): QqInboundEvent | undefined {
    // msg_id alone repeats across sessions; with the time it identifies a replayed event.
    const nativeId = `${e.time}-${e.msgId}`;
    const time = (e.time || Math.floor(Date.now() / 1000)) * 1000;
    switch (e.type) {
      case 'group_message':
      case 'discu_message': {
        if (e.content.junk) return undefined;
        const room: QqRoom | undefined =
          e.type === 'group_message'
            ? e.groupNumber !== undefined ? { kind: 'group', number: e.groupNumber } : undefined
            : e.discussionName !== undefined ? { kind: 'discussion', name: e.discussionName } : undefined;
        if (!room) {
          ctx.log.warn({ poll_type: e.type, msgId: e.msgId }, 'message from a QQ group/discussion whose number could not be resolved; not relayed');
          return undefined;
        }
        const client = this.client;
        const sender = {
          ...(e.senderQq !== undefined ? { qq: e.senderQq } : { fallbackId: `uin:${e.sendUin}` }),
          nickname: e.senderName ?? String(e.senderQq ?? e.sendUin),
          ...(client ? { avatar: () => client.downloadAvatar(e) } : {}),
        };
        return { type: 'message', room, nativeId, sender, parts: webqqParts(e.content, imageRefs(e)), time };
      }
      case 'message':
      case 'sess_message': {
        if (e.content.junk || e.senderQq === undefined) return undefined;
        // Private chats go nowhere (not even their pictures into the media store) unless a link has the private room.
        if (!ctx.mappedRooms?.().some((r) => r.kind === 'private')) return undefined;
        // A temporary session is answered through the group or discussion it came from.
        const via = e.type === 'sess_message' ? this.client?.sessReplyTarget(e)?.via : undefined;
        if (via) this.sessVia.set(e.senderQq, via);
        if (e.type === 'sess_message' && !via) {
          ctx.log.warn({ msgId: e.msgId }, 'temporary-session message from a group/discussion this session cannot resolve; relayed, but it cannot be answered');
        }
        const client = this.client;
        const sender = {
          qq: e.senderQq,
          // The admin room answers by QQ number: show it (networks shorten long names, so nothing more).
          nickname: e.senderName !== undefined && e.senderName !== String(e.senderQq) ? `${e.senderName} (${e.senderQq})` : String(e.senderQq),
          ...(client ? { avatar: () => client.downloadAvatar(e) } : {}),
        };
        return { type: 'message', room: { kind: 'private', qq: e.senderQq }, nativeId, sender, parts: webqqParts(e.content, imageRefs(e)), time };
      }
      case 'sys_g_msg': {
        if ((e.subType !== 'group_join' && e.subType !== 'group_leave') || e.groupNumber === undefined) return undefined;
        const member = e.memberQq ?? (e.subType === 'group_join' ? e.newMember : e.oldMember);
        return {
          type: 'member', change: e.subType === 'group_join' ? 'join' : 'leave', room: { kind: 'group', number: e.groupNumber }, nativeId,
          member: member !== undefined ? { qq: member } : {}, time,
        };
      }
      case 'kick_message':
        ctx.log.error({ reason: e.reason }, 'kicked off QQ');
        return undefined;
      default:
        return undefined;
    }
  }
}

export function createBackend(config: WebqqConfig, opts: QqBackendOptions): WebqqBackend {
  return new WebqqBackend(config, opts);
}
