/**
 * The QQ side of the bridge: a WebQQ client behind the Connector interface. Rooms are named by
 * stable ids (`group:<group number>`, `discussion:<name>`), never by the session ids WebQQ hands
 * out at each login; the client resolves between the two.
 */
import type { Capabilities, Connector, ConnectorContext, Delivery } from '../../core/connector.js';
import { DeliveryError, isDeliveryError } from '../../core/errors.js';
import { sourceId, type BridgeMessage, type ImagePart, type MessageKind } from '../../core/message.js';
import type { Logger } from '../../log.js';
import { bindLinks, logBindingReport, retryUnbound, type RetryHandle } from './binding.js';
import type { MappingLink } from '../../mappings/config.js';
import type { QqConfig } from './config.js';
import { groupRoom, parseQqRoom, qqRoomId } from './rooms.js';
import { imageAsText, partsFromQq, pictureItems, renderForQq } from './format.js';
import { imageRefs, WebQqClient, type ClientState, type SendItem, type WebQqClientOptions } from './webqq/client.js';
import { itemsFingerprint, PartialSends } from './partial-sends.js';
import { SendError } from './webqq/sender.js';
import type { QqEvent } from './webqq/events.js';

export interface QqConnectorOptions {
  /** The configured links, to report at each login which QQ sides cannot be found. */
  routes?: { links(): readonly MappingLink[] };
  /** Passed to the WebQQ client (tests shorten timings; login prompts). */
  client?: Partial<Omit<WebQqClientOptions, 'log' | 'onEvent' | 'onState'>>;
  /** Called on every QQ session state change (status notices, health). */
  onState?: (s: ClientState, detail?: string) => void;
}

export { parseQqRoom } from './rooms.js';

export class QqConnector implements Connector {
  readonly network = 'qq';
  readonly capabilities: Capabilities = {
    formatting: false,
    images: 'upload',
    replies: false,
    edits: false,
    kinds: ['message', 'action', 'notice'] satisfies MessageKind[],
    // The WebQQ client paces every send of the account itself (qq.sendIntervalMs); the outbox's
    // bucket only needs to keep one room from monopolising that queue.
    rateLimit: { perSecond: 5, burst: 10 },
  };

  private client: WebQqClient | undefined;
  private ctx: ConnectorContext | undefined;
  private log: Logger | undefined;
  private state: ClientState = 'offline';
  private rebind: RetryHandle | undefined;
  /** Bumped by every bindMappings() and by stop(): an attempt of an older generation does nothing. */
  private bindGeneration = 0;
  private stopped = false;
  /**
   * Pieces of a split message already in the QQ room, per Delivery.idempotencyKey, so a retried
   * delivery sends only the rest. In memory only: after a restart a retry sends the whole message.
   */
  private readonly partial = new PartialSends();

  constructor(private readonly config: QqConfig, private readonly opts: QqConnectorOptions = {}) {}

  async start(ctx: ConnectorContext): Promise<void> {
    this.stopped = false;
    this.ctx = ctx;
    this.log = ctx.log;
    this.client = new WebQqClient(this.config, {
      ...this.opts.client,
      log: ctx.log,
      onEvent: (e) => this.onEvent(e),
      onState: (s, detail) => this.onState(s, detail),
    });
    await this.client.start();
    if (this.client.currentState() === 'online') this.bindMappings();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.bindGeneration++;
    this.rebind?.stop();
    this.rebind = undefined;
    await this.client?.stop();
  }

  /** WebQQ only hears what it polls: stop polling first, so nothing is fetched that cannot be stored. */
  async stopInput(): Promise<void> {
    await this.client?.stopPolling();
  }

  isConnected(): boolean {
    return this.state === 'online';
  }

  /** The name of a group or discussion this account is in (a Matrix portal asks), else undefined. */
  async roomInfo(room: string): Promise<{ name: string } | undefined> {
    const r = parseQqRoom(room);
    if (!r || !this.client) return undefined;
    const found = r.kind === 'group'
      ? this.client.groups().find((g) => g.number === r.number)
      : this.client.discussions().find((d) => d.name === r.name);
    return found ? { name: found.name } : undefined;
  }

  /** The underlying WebQQ client (status commands, tests). */
  get webqq(): WebQqClient | undefined {
    return this.client;
  }

  private onState(s: ClientState, detail?: string): void {
    const was = this.state;
    this.state = s;
    if (s === 'kicked') this.log?.error({ reason: detail }, 'QQ session was kicked off; not logging in again by itself (restart the bridge when ready)');
    else if (s !== was) this.log?.info({ state: s, detail }, 'QQ session state');
    if (s === 'online' && was !== 'online' && was !== 'offline') this.bindMappings();
    this.opts.onState?.(s, detail);
  }

  /** The links changed (config reload): bind the new ones now when online, else at the next login. */
  refreshBindings(): void {
    if (this.state === 'online') this.bindMappings();
  }

  /** At every login, tell the operator which mapped groups/discussions this account cannot see, and retry them. */
  private bindMappings(): void {
    if (this.stopped || !this.client || !this.log || !this.opts.routes) return;
    const client = this.client;
    const log = this.log;
    const routes = this.opts.routes;
    // A newer call (next login, config reload) or stop() makes this one's attempts stale.
    const generation = ++this.bindGeneration;
    const current = () => generation === this.bindGeneration && !this.stopped;
    this.rebind?.stop();
    this.rebind = undefined;
    const attempt = async (refresh: boolean): Promise<number> => {
      if (!current()) return 0;
      if (refresh) await client.refreshContacts();
      // Read at every attempt: a SIGHUP reload changes the links between retries.
      const links = routes.links();
      if (links.length === 0 || !current()) return 0;
      const report = bindLinks(links, { groups: client.groups(), discussions: client.discussions() });
      logBindingReport(report, log);
      return report.unbound.length;
    };
    attempt(false)
      .then((unbound) => {
        if (unbound > 0 && current()) this.rebind = retryUnbound(() => attempt(true), { intervalMs: 60_000, maxIntervalMs: 15 * 60_000, log });
      })
      .catch((err: unknown) => log.warn({ err }, 'could not check which QQ mappings this account can reach'));
  }

  private async onEvent(e: QqEvent): Promise<void> {
    const msg = await this.toBridgeMessage(e);
    if (msg) await this.ctx!.receive(msg);
  }

  private async toBridgeMessage(e: QqEvent): Promise<BridgeMessage | undefined> {
    const time = (e.time || Math.floor(Date.now() / 1000)) * 1000;
    // msg_id alone repeats across sessions; with the time it identifies a replayed event.
    const native = `${e.time}-${e.msgId}`;
    switch (e.type) {
      case 'group_message':
      case 'discu_message': {
        if (e.content.junk) return undefined;
        const room =
          e.type === 'group_message'
            ? e.groupNumber !== undefined ? groupRoom(e.groupNumber) : undefined
            : e.discussionName !== undefined ? qqRoomId({ kind: 'discussion', name: e.discussionName }) : undefined;
        if (!room) {
          this.log?.warn({ poll_type: e.type, msgId: e.msgId }, 'message from a QQ group/discussion whose number could not be resolved; not relayed');
          return undefined;
        }
        const sender = { id: e.senderQq !== undefined ? String(e.senderQq) : `uin:${e.sendUin}`, displayName: e.senderName ?? String(e.senderQq ?? e.sendUin), puppet: e.senderQq !== undefined };
        const parts = partsFromQq(e.content, await this.fetchPictures(e));
        if (parts.length === 0) return undefined;
        return { id: sourceId('qq', room, native), origin: { network: 'qq', room, sender }, kind: 'message', parts, time };
      }
      case 'sys_g_msg': {
        if ((e.subType !== 'group_join' && e.subType !== 'group_leave') || e.groupNumber === undefined) return undefined;
        const room = groupRoom(e.groupNumber);
        const member = e.memberQq ?? (e.subType === 'group_join' ? e.newMember : e.oldMember);
        const name = member !== undefined ? String(member) : 'someone';
        const kind: MessageKind = e.subType === 'group_join' ? 'join' : 'leave';
        return { id: sourceId('qq', room, native), origin: { network: 'qq', room, sender: { id: name, displayName: name, puppet: member !== undefined } }, kind, parts: [], time };
      }
      case 'kick_message':
        this.log?.error({ reason: e.reason }, 'kicked off QQ');
        return undefined;
      default:
        return undefined;
    }
  }

  /** Downloads each picture into the media store; a picture that cannot be fetched becomes a marker, never a lost message. */
  private async fetchPictures(e: QqEvent): Promise<(ImagePart | undefined)[]> {
    if ((e.type !== 'group_message' && e.type !== 'discu_message') || pictureItems(e.content).length === 0) return [];
    const out: (ImagePart | undefined)[] = [];
    for (const ref of imageRefs(e)) {
      try {
        const pic = await this.client!.downloadImage(ref);
        const stored = await this.ctx!.media.put(pic.data, pic.mime);
        out.push({ type: 'image', mediaId: stored.mediaId, mime: pic.mime, size: pic.data.length, ...(stored.url ? { url: stored.url } : {}) });
      } catch (err) {
        this.log?.warn({ err: (err as Error).message }, 'could not fetch a QQ picture; relayed as a marker');
        out.push(undefined);
      }
    }
    return out;
  }

  async send(delivery: Delivery): Promise<string[]> {
    const client = this.client;
    if (!client || this.state !== 'online') throw new DeliveryError('retryable', `QQ is not connected (${this.state})`);
    const room = parseQqRoom(delivery.room);
    if (!room) throw new DeliveryError('rejected', `not a QQ room: ${JSON.stringify(delivery.room)} (expected group:<number> or discussion:<name>)`);
    const items = await this.resolveImages(delivery.message);
    if (items.length === 0) return [];
    // The client holds sends while the session is replaced, resolves the room's session ids at the
    // moment of sending and resends what a session change refused: its errors can be taken as given.
    // A retry of a delivery whose first pieces went out resumes after them (same items, same split).
    const key = delivery.idempotencyKey;
    const fingerprint = key !== undefined ? itemsFingerprint(delivery.room, items) : '';
    const alreadySent = key !== undefined ? this.partial.take(key, fingerprint) : [];
    const opts = alreadySent.length ? { alreadySent } : {};
    try {
      const ids = room.kind === 'group' ? await client.sendGroup(room.number, items, opts) : await client.sendDiscussion(room.name, items, opts);
      return ids.map(String);
    } catch (e) {
      const sent = e instanceof SendError ? e.sentMsgIds : alreadySent;
      const kind = isDeliveryError(e) ? e.kind : 'retryable';
      if (key !== undefined && kind === 'retryable' && sent.length > 0) {
        this.partial.keep(key, fingerprint, sent);
        this.log?.info({ room: delivery.room, piecesSent: sent.length }, 'QQ send failed part-way; a retry sends only the rest');
      }
      if (isDeliveryError(e)) throw e;
      throw new DeliveryError('retryable', `QQ send failed: ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * Pictures are handed to the client as bytes, so it uploads them inside the send, in the same
   * session; when the upload fails (or the bytes are gone) they travel as their media link.
   */
  private async resolveImages(msg: BridgeMessage): Promise<SendItem[]> {
    const out: SendItem[] = [];
    const pushText = (text: string) => {
      const last = out[out.length - 1];
      if (last && last.type === 'text') last.text += text;
      else out.push({ type: 'text', text });
    };
    for (const item of renderForQq(msg)) {
      if (item.type === 'text') pushText(item.text);
      else if (item.type !== 'image') out.push(item);
      else {
        const media = item.part.mediaId ? await this.ctx?.media.get(item.part.mediaId).catch(() => undefined) : undefined;
        if (!media) pushText(imageAsText(item.part));
        else out.push({ type: 'image', data: Buffer.from(media.data), mime: media.mime, fallbackText: imageAsText(item.part), ...(item.part.name ? { name: item.part.name } : {}) });
      }
    }
    return out;
  }
}
