/**
 * The Matrix connector: an application service. The homeserver pushes transactions to us
 * (matrix-appservice's AppService checks the hs_token; replays are recognised by their
 * event ids, never by the transaction id, which a homeserver restarts at 1), and a transaction is acknowledged only once each of
 * its events is durably handed to the relay (see appservice.ts). We talk back through the
 * client-server API with the as_token, as the bot or as a ghost per QQ member
 * (`@qq_<QQ number>:<domain>`).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AppService } from 'matrix-appservice';
import type { Capabilities, Connector, ConnectorContext, Delivery } from '../../core/connector.js';
import { DeliveryError } from '../../core/errors.js';
import type { DeliveryFailure } from '../../core/outbox.js';
import { sourceId, type BridgeMessage, type ImagePart, type Part } from '../../core/message.js';
import type { Logger } from '../../log.js';
import { silentLogger } from '../../log.js';
import type { MappingLink } from '../../mappings/config.js';
import type { GhostStore, KvStore, LinkStore } from '../../store/store.js';
import { appserviceListener, createDurableAppService } from './appservice.js';
import { MatrixClient, MatrixError, toDeliveryError } from './client.js';
import type { MatrixConfig } from './config.js';
import { asEdit, imageContent, parseMatrixContent, parseMxc, renderSegments, withReply, type MatrixContent } from './format.js';
import { AdminDirectMessages } from './admin-dm.js';
import { Ghosts } from './ghosts.js';
import { MatrixLinks, type GroupInfo } from './links.js';
import { loadRegistration, type Registration } from './registration.js';

export interface MatrixConnectorOptions {
  store: LinkStore & GhostStore & KvStore;
  /** Defaults to reading `config.registration`. */
  registration?: Registration;
  /** Matrix rooms bridged by the config; plumbed and portal rooms come from the store. */
  rooms?: Iterable<string>;
  /** Called with every link made in Matrix (plumbing and portals), at start and on every change. */
  onLinksChanged?: (links: MappingLink[]) => void;
  /**
   * Name, topic (memo) and avatar of a QQ group for its portal room; undefined when the QQ account is not in
   * that group. Without it no portal room is created (alias queries answer 404).
   */
  groupInfo?: (groupNumber: number) => Promise<GroupInfo | undefined>;
  /** The Matrix room the config bridges to a QQ group, if any (a portal alias then names it). */
  mappedRoom?: (groupNumber: number) => string | undefined;
  /** The QQ group the config bridges to a Matrix room, if any (for its bridge-info state). */
  groupOf?: (room: string) => number | undefined;
  /** How often portal rooms are brought up to date with their QQ groups (default 1 h; also at start). */
  portalSyncMs?: number;
  /** How long a ghost's avatar fetched from QQ counts as current (default 6 h). */
  avatarRefreshMs?: number;
}

type Event = Record<string, unknown> & { type?: string; room_id?: string; sender?: string; event_id?: string; content?: Record<string, unknown>; state_key?: string; origin_server_ts?: number };

const SEEN_MAX = 5000;
/** Files larger than this are linked on the homeserver instead of copied into the media store. */
const MAX_FILE_FETCH = 50 * 1024 * 1024;
const BOT_DISPLAY_NAME = 'QQ bridge';

/** A homeserver refusal that a retry would not change (4xx other than 429). */
function isPermanent(e: unknown): boolean {
  return e instanceof MatrixError && e.status >= 400 && e.status < 500 && e.status !== 429 && e.errcode !== 'M_LIMIT_EXCEEDED';
}
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export class MatrixConnector implements Connector {
  readonly network = 'matrix';
  readonly capabilities: Capabilities = {
    formatting: true,
    images: 'upload',
    replies: true,
    edits: true,
    deletes: true,
    kinds: ['message', 'action', 'notice', 'join', 'leave'],
    rateLimit: { perSecond: 10, burst: 20 },
  };

  readonly registration: Registration;
  readonly botUserId: string;
  private readonly client: MatrixClient;
  private readonly store: LinkStore & GhostStore & KvStore;
  private readonly ghostRe: RegExp;
  private readonly rooms = new Set<string>();
  private ctx: ConnectorContext | undefined;
  private log: Logger = silentLogger;
  private appservice: AppService | undefined;
  private server: http.Server | undefined;
  private listening = false;
  /** Event ids already handled (the homeserver may replay a transaction after a restart or timeout). */
  private readonly seen = new Set<string>();
  /** Event ids being handled, so a second transaction carrying one waits for the same outcome. */
  private readonly pending = new Map<string, Promise<void>>();
  /** Per-room chain so inbound events keep their order through async work. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly ghosts: Ghosts;
  private readonly links: MatrixLinks;
  private readonly adminDms: AdminDirectMessages;
  /** Start-up work that does not hold up start (bridge-info state), awaited by stop. */
  private background: Promise<unknown> = Promise.resolve();
  private portalTimer: NodeJS.Timeout | undefined;
  private readonly names = new Map<string, string>();
  /** mediaId → what was uploaded, so a retried delivery does not upload again. */
  private readonly uploaded = new Map<string, { mxc: string; mime: string; size: number }>();

  constructor(
    private readonly config: MatrixConfig,
    private readonly opts: MatrixConnectorOptions,
  ) {
    this.registration = opts.registration ?? loadRegistration(config.registration);
    this.store = opts.store;
    this.botUserId = `@${this.registration.sender_localpart}:${config.domain}`;
    this.client = new MatrixClient(config.homeserverUrl, this.registration.as_token);
    const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    this.ghostRe = new RegExp(`^@${esc(config.userPrefix)}(\\d+):${esc(config.domain)}$`);
    for (const r of opts.rooms ?? []) this.rooms.add(r);
    this.ghosts = new Ghosts({ client: this.client, store: this.store, botUserId: this.botUserId, log: () => this.log, ...(opts.avatarRefreshMs !== undefined ? { avatarRefreshMs: opts.avatarRefreshMs } : {}) });
    this.adminDms = new AdminDirectMessages({ client: this.client, store: this.store, botUserId: this.botUserId, admins: config.admins, log: () => this.log });
    this.links = new MatrixLinks({
      config, client: this.client, store: this.store, ghosts: this.ghosts, botUserId: this.botUserId, rooms: this.rooms, log: () => this.log,
      ...(opts.onLinksChanged ? { onLinksChanged: opts.onLinksChanged } : {}),
      ...(opts.groupInfo ? { groupInfo: opts.groupInfo } : {}),
      ...(opts.mappedRoom ? { mappedRoom: opts.mappedRoom } : {}),
      ...(opts.groupOf ? { groupOf: opts.groupOf } : {}),
    });
  }

  /** The ghost of a QQ member. */
  ghostId(qqNumber: string | number): string {
    return `@${this.config.userPrefix}${qqNumber}:${this.config.domain}`;
  }

  /** The port the appservice listens on (useful with port 0). */
  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  /** Starts bridging a room the config now links (SIGHUP reload): its events are relayed from now on. */
  addRoom(roomId: string): void {
    this.rooms.add(roomId);
  }

  /** An alert for the bridge admins (an account episode): a direct message to each of `matrix.admins`. */
  alertAdmins(text: string): Promise<void> {
    return this.adminDms.send(text);
  }

  bridgedRooms(): string[] {
    return [...this.rooms];
  }

  isConnected(): boolean {
    return this.listening;
  }

  async start(ctx: ConnectorContext): Promise<void> {
    this.ctx = ctx;
    // The relay's context logger already carries `net`; binding it again printed the key twice.
    this.log = ctx.log;
    const as = createDurableAppService(this.registration.hs_token, {
      onTransaction: (txnId, events) => this.onTransaction(txnId, events as Event[]),
      onAliasQuery: (alias) => this.links.onAliasQuery(alias),
      onError: (what, err) => this.log.error({ err: (err as Error)?.message ?? String(err) }, `${what} failed; the homeserver will retry it`),
    });
    as.on('http-log', (line: string) => this.log.trace({ line }, 'appservice http'));
    as.onUserQuery = ((userId: string) => this.onUserQuery(userId)) as AppService['onUserQuery'];
    this.appservice = as;
    // Our own server around the library's express app, so we know the port and can close it.
    const server = http.createServer(appserviceListener(as));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.port, this.config.bindAddress, () => resolve());
    });
    this.server = server;
    this.listening = true;
    for (const l of await this.links.matrixLinks()) this.rooms.add(l.rooms[1]!.room);
    await this.links.emitLinks();
    await this.setBotName();
    this.background = this.links.bridgeInfoForAll([...this.rooms]).catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'could not write the bridge info of the bridged rooms'));
    // QQ announces no rename, new memo or new picture: portals are re-checked now and then, one
    // pass at a time (a check writes only what changed).
    this.portalTimer = setInterval(() => {
      this.background = this.background.then(() => this.links.syncPortals()).catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'could not bring the portal rooms up to date'));
    }, this.opts.portalSyncMs ?? 3600_000);
    this.portalTimer.unref();
    this.log.info({ port: this.port, bind: this.config.bindAddress }, 'Matrix appservice listening');
  }

  async stop(): Promise<void> {
    this.listening = false;
    clearInterval(this.portalTimer);
    const server = this.server;
    this.server = undefined;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
    await Promise.allSettled([...this.chains.values(), this.background, this.links.idle()]);
    this.appservice?.removeAllListeners();
    this.ctx = undefined;
  }

  // ---------------------------------------------------------------------------------- outbound

  async send(d: Delivery): Promise<string[]> {
    const msg = d.message;
    const room = d.room;
    const key = (d.idempotencyKey ?? msg.id).replace(/[^A-Za-z0-9._~-]/g, '_');
    const ghost = msg.origin.sender.puppet ? this.ghostId(msg.origin.sender.id) : undefined;
    try {
      if (msg.kind === 'delete') return await this.redactAll(room, d.deleteOfRemoteIds ?? [], key);
      if (ghost && (msg.kind === 'join' || msg.kind === 'leave')) {
        if (msg.kind === 'join') await this.ghosts.ensureGhost(ghost, msg.origin.sender, room);
        else await this.ghosts.leave(ghost, room);
        return [];
      }
      if (ghost) await this.ghosts.ensureGhost(ghost, msg.origin.sender, room);
      else await this.ghosts.ensureBotJoined(room);
      const segments = renderSegments(msg.parts, msg.kind, {
        pillFor: (p) => (p.userId?.startsWith('@') ? p.userId : p.userId && msg.origin.sender.puppet ? this.ghostId(p.userId) : undefined),
        ...(ghost ? {} : { senderPrefix: msg.origin.sender.displayName }),
      });
      const ids: string[] = [];
      for (const [i, seg] of segments.entries()) {
        let content: MatrixContent;
        if (seg.type === 'text') content = seg.content;
        else content = await this.imageEvent(seg.part);
        if (i === 0 && d.editOfRemoteIds?.[0]) content = asEdit(content, d.editOfRemoteIds[0]);
        else if (i === 0 && d.replyToRemoteId) content = withReply(content, d.replyToRemoteId);
        try {
          ids.push(await this.client.sendEvent(room, 'm.room.message', `${key}.${i}`, content, ghost));
        } catch (e) {
          // The ghost was removed while the bridge was not watching (membership is trusted from
          // the store across restarts): join it again and send once more.
          if (!(ghost && e instanceof MatrixError && e.errcode === 'M_FORBIDDEN')) throw e;
          this.ghosts.forgetMembership(room, ghost);
          await this.ghosts.ensureGhost(ghost, msg.origin.sender, room);
          ids.push(await this.client.sendEvent(room, 'm.room.message', `${key}.${i}`, content, ghost));
        }
      }
      return ids;
    } catch (e) {
      if (e instanceof DeliveryError) throw e;
      throw toDeliveryError(e, `Matrix delivery to ${room}`);
    }
  }

  /**
   * Redacts each event of a deleted message, as the ghost (or bot) that sent it when it is ours —
   * no power level needed — else as the bot, which needs the room's redact level. Idempotent per
   * txnId, so a retry redacts nothing twice.
   */
  private async redactAll(room: string, eventIds: readonly string[], key: string): Promise<string[]> {
    const out: string[] = [];
    for (const [i, eventId] of eventIds.entries()) {
      const sender = await this.client.getEvent<{ sender?: unknown }>(room, eventId).then((e) => str(e.sender), (e: unknown) => {
        this.log.debug({ room, event: eventId, err: (e as Error).message }, 'could not read the event to delete; redacting as the bot');
        return undefined;
      });
      const as = sender && this.isOurs(sender) && sender !== this.botUserId ? sender : undefined;
      out.push(await this.client.redact(room, eventId, `${key}.d${i}`, as));
    }
    return out;
  }

  /** Uploads a picture (once per media id) under its original name; `m.image` with its real size and type. */
  private async imageEvent(part: ImagePart): Promise<MatrixContent> {
    let up = part.mediaId ? this.uploaded.get(part.mediaId) : undefined;
    if (!up) {
      let bytes: { data: Uint8Array; mime: string } | undefined;
      if (part.mediaId) bytes = await this.ctx?.media.get(part.mediaId);
      if (!bytes && part.url) {
        const res = await fetch(part.url, { signal: AbortSignal.timeout(30_000) }).catch(() => undefined);
        if (res?.ok) bytes = { data: new Uint8Array(await res.arrayBuffer()), mime: res.headers.get('content-type') ?? part.mime ?? 'application/octet-stream' };
      }
      if (!bytes) {
        // Nothing to upload: the link is the best Matrix can get.
        const text = part.url ?? '[image]';
        return { msgtype: 'm.text', body: text };
      }
      const mime = part.mime ?? bytes.mime;
      let mxc: string;
      try {
        mxc = await this.client.upload(bytes.data, mime, part.name);
      } catch (e) {
        // Over the homeserver's upload limit: the media server's link instead of a lost message.
        if (!(e instanceof MatrixError && (e.errcode === 'M_TOO_LARGE' || e.status === 413))) throw e;
        const url = part.url ?? (part.mediaId ? this.ctx?.media.urlFor(part.mediaId) : undefined);
        this.log.info({ size: bytes.data.byteLength }, 'a picture over the homeserver upload limit goes as its link');
        return { msgtype: 'm.text', body: url ? `[image] ${url}` : '[image]' };
      }
      up = { mxc, mime, size: bytes.data.byteLength };
      if (part.mediaId) this.uploaded.set(part.mediaId, up);
    }
    return imageContent(part, up.mxc, { mime: up.mime, size: up.size });
  }

  /**
   * The relay gave up on a message from Matrix (a target refused it for good): its author hears
   * it in Matrix, as a notice in reply to the message, not only the operator in the log.
   */
  async deliveryFailed(f: DeliveryFailure): Promise<void> {
    if (f.kind !== 'rejected' || !f.sourceId.startsWith('matrix:')) return;
    const rest = f.sourceId.slice('matrix:'.length);
    const cut = rest.indexOf(':$');
    if (cut < 0) return;
    const room = rest.slice(0, cut);
    const eventId = rest.slice(cut + 1);
    if (!this.rooms.has(room)) return;
    try {
      await this.client.sendEvent(room, 'm.room.message', `status.${eventId.replace(/[^A-Za-z0-9._~-]/g, '_')}.${f.target.network}.${f.seq}`, {
        msgtype: 'm.notice',
        body: f.messageKind === 'delete'
          ? `⚠ This deletion could not be carried out on ${f.target.network === 'qq' ? 'QQ' : f.target.network}: the copy there stays.`
          : `⚠ This message could not be delivered to ${f.target.network === 'qq' ? 'QQ' : f.target.network}.`,
        'm.relates_to': { 'm.in_reply_to': { event_id: eventId } },
      });
    } catch (e) {
      this.log.warn({ room, event: eventId, err: (e as Error).message }, 'could not tell a Matrix user that their message was not delivered');
    }
  }

  // ---------------------------------------------------------------------------------- inbound

  /**
   * Handles every event of a transaction (in order per room, rooms side by side) and resolves
   * once each is durably handed on; rejects when any could not be, so the homeserver resends the
   * whole transaction (events already taken are then dropped here or by the relay's dedupe).
   */
  private async onTransaction(txnId: string, events: Event[]): Promise<void> {
    if (!this.ctx) throw new Error('the Matrix connector is stopped');
    const results = await Promise.allSettled(events.map((ev) => this.onEvent(ev)));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length > 0) {
      const first = failed[0]!.reason as Error;
      throw new Error(`${failed.length} of ${events.length} events of transaction ${txnId} not taken: ${first?.message ?? String(first)}`, { cause: first });
    }
  }

  private onEvent(ev: Event): Promise<void> {
    const room = str(ev.room_id);
    const id = str(ev.event_id);
    if (!room || !id) return Promise.resolve();
    if (this.seen.has(id)) return Promise.resolve();
    const inProgress = this.pending.get(id);
    if (inProgress) return inProgress;
    const prev = this.chains.get(room) ?? Promise.resolve();
    const next = prev.then(
      () => this.handleOnce(ev, room, id),
      () => this.handleOnce(ev, room, id),
    );
    this.pending.set(id, next);
    this.chains.set(room, next);
    const clear = () => {
      this.pending.delete(id);
      if (this.chains.get(room) === next) this.chains.delete(room);
    };
    next.then(clear, clear);
    return next;
  }

  /** Handles one event; marks it seen only once it was taken, so a resent transaction tries it again. */
  private async handleOnce(ev: Event, room: string, id: string): Promise<void> {
    try {
      await this.handle(ev, room, id);
    } catch (e) {
      if (!isPermanent(e)) {
        this.log.warn({ err: (e as Error)?.message, room, event: id }, 'could not take a Matrix event; its transaction will be retried');
        throw e;
      }
      // The homeserver refused a side effect for good (a room we may not join, a notice we may not
      // post): retrying the transaction would only block every later one.
      this.log.error({ err: (e as Error).message, room, event: id }, 'failed to handle a Matrix event');
    }
    this.seen.add(id);
    if (this.seen.size > SEEN_MAX) this.seen.delete(this.seen.values().next().value!);
  }

  private isOurs(userId: string): boolean {
    return userId === this.botUserId || this.ghostRe.test(userId);
  }

  private async handle(ev: Event, room: string, eventId: string): Promise<void> {
    const sender = str(ev.sender) ?? '';
    const content = ev.content ?? {};
    if (ev.type === 'm.room.member') {
      const target = str(ev.state_key) ?? '';
      const name = str(content.displayname);
      if (name) this.names.set(`${room}\0${target}`, name);
      // Our bot or a ghost kicked, banned or gone: the next message joins again.
      if (this.isOurs(target) && content.membership !== 'join') this.ghosts.forgetMembership(room, target);
      if (target === this.botUserId && content.membership === 'invite') {
        // Anyone on any federated server can create a room and invite the bot: only a bridge admin
        // may bring it into a new room, so a stranger cannot reach a QQ group through one.
        if (!this.links.isAdmin(sender) && !this.rooms.has(room)) {
          this.log.info({ room, by: sender }, 'declined a Matrix invitation from a user who is not a bridge admin');
          await this.client.leave(room);
          return;
        }
        await this.client.join(room);
        this.ghosts.joined(room, this.botUserId);
        this.log.info({ room, by: sender }, 'joined a Matrix room on invitation');
        if (this.rooms.has(room)) await this.links.bridgeInfoForRoom(room);
      }
      return;
    }
    if (this.isOurs(sender)) return; // our own echo: never relayed back
    if (ev.type === 'm.room.message') {
      const body = str(content.body) ?? '';
      if (/^!qq(\s|$)/.test(body)) return this.links.command(room, sender, body.trim());
      if (!this.rooms.has(room)) return;
      const parsed = parseMatrixContent(content);
      if (!parsed) return;
      const parts: Part[] = [...parsed.parts];
      if (parsed.image) parts.push(await this.fetchImage(parsed.image));
      if (parsed.file) {
        const link = await this.fileLink(parsed.file);
        if (link) parts.push(link);
      }
      if (parts.length === 0) return;
      const msg = await this.inbound(room, eventId, sender, ev, parsed.kind, parts);
      if (parsed.replyToEventId) {
        const r = await this.ctx?.sourceIdFor(room, parsed.replyToEventId);
        if (r) msg.replyTo = r;
      }
      if (parsed.editOfEventId) {
        const r = await this.ctx?.sourceIdFor(room, parsed.editOfEventId);
        msg.editOf = r ?? sourceId('matrix', room, parsed.editOfEventId);
      }
      await this.ctx?.receive(msg, { hold: false }); // the homeserver keeps the transaction until 2xx
      return;
    }
    if (ev.type === 'm.room.redaction' && this.rooms.has(room)) {
      // Room v11 puts `redacts` in the content, older versions at the top.
      const target = str(content.redacts) ?? str(ev.redacts);
      const deleteOf = target ? await this.ctx?.sourceIdFor(room, target) : undefined;
      if (!deleteOf) {
        this.log.debug({ room, event: eventId, redacts: target }, 'a redaction of an event the bridge does not know; dropped');
        return;
      }
      // Networks that delete, delete; one that cannot (WebQQ, IRC) shows who deleted a message
      // (`redactions: notice`) or nothing — never a quote of the text its author wanted gone.
      const parts: Part[] = this.config.redactions === 'notice' ? [{ type: 'text', text: 'deleted a message' }] : [];
      const msg = await this.inbound(room, eventId, sender, ev, 'delete', parts);
      msg.deleteOf = deleteOf;
      await this.ctx?.receive(msg, { hold: false }); // the homeserver keeps the transaction until 2xx
    }
  }

  private async inbound(room: string, eventId: string, sender: string, ev: Event, kind: BridgeMessage['kind'], parts: Part[]): Promise<BridgeMessage> {
    return {
      id: sourceId('matrix', room, eventId),
      origin: { network: 'matrix', room, sender: { id: sender, displayName: await this.displayName(room, sender) } },
      kind,
      parts,
      time: typeof ev.origin_server_ts === 'number' ? ev.origin_server_ts : Date.now(),
    };
  }

  private async displayName(room: string, userId: string): Promise<string> {
    const k = `${room}\0${userId}`;
    const cached = this.names.get(k);
    if (cached) return cached;
    try {
      const m = await this.client.getState<{ displayname?: string }>(room, 'm.room.member', userId);
      if (m.displayname) {
        this.names.set(k, m.displayname);
        return m.displayname;
      }
    } catch (e) {
      this.log.debug({ room, err: (e as Error).message }, 'no member state for a sender; using the user id');
    }
    return userId.slice(1, userId.indexOf(':') > 0 ? userId.indexOf(':') : undefined);
  }

  /**
   * A link QQ readers can open for an `m.file`/`m.video`/`m.audio`: the bytes fetched (through
   * the authenticated media endpoint) into the media store and served by the media server when
   * there is one; the homeserver's download URL otherwise (which may need a login there).
   */
  private async fileLink(file: NonNullable<ReturnType<typeof parseMatrixContent>>['file'] & object): Promise<Part | undefined> {
    const m = parseMxc(file.mxc);
    if (!m) {
      this.log.warn({ mxc: file.mxc }, 'a Matrix file with a malformed mxc URL; relaying its name');
      return { type: 'text', text: `[file: ${file.name}]` };
    }
    if (this.ctx && (file.size === undefined || file.size <= MAX_FILE_FETCH)) {
      try {
        const got = await this.client.download(m.server, m.mediaId);
        if (got.data.byteLength <= MAX_FILE_FETCH) {
          const stored = await this.ctx.media.put(got.data, file.mime ?? got.type);
          const url = stored.url ?? this.ctx.media.urlFor(stored.mediaId);
          if (url) return { type: 'link', url, text: file.name };
        }
      } catch (e) {
        this.log.warn({ err: (e as Error).message, mxc: file.mxc }, 'could not fetch a Matrix file; linking the homeserver copy');
      }
    }
    const base = this.config.homeserverUrl.replace(/\/+$/, '');
    return { type: 'link', url: `${base}/_matrix/media/v3/download/${m.server}/${m.mediaId}/${encodeURIComponent(file.name)}`, text: file.name };
  }

  private async fetchImage(image: NonNullable<ReturnType<typeof parseMatrixContent>>['image'] & object): Promise<Part> {
    const m = parseMxc(image.mxc);
    try {
      if (!m || !this.ctx) throw new Error(`bad mxc URL ${image.mxc}`);
      const got = await this.client.download(m.server, m.mediaId);
      const mime = image.mime ?? got.type;
      const stored = await this.ctx.media.put(got.data, mime);
      const part: ImagePart = { type: 'image', mediaId: stored.mediaId, mime, size: got.data.byteLength };
      if (stored.url) part.url = stored.url;
      if (image.name) part.name = image.name;
      if (image.width) part.width = image.width;
      if (image.height) part.height = image.height;
      return part;
    } catch (e) {
      this.log.warn({ err: (e as Error).message, mxc: image.mxc }, 'could not fetch a Matrix picture; relaying its name');
      return { type: 'text', text: `[image${image.name ? `: ${image.name}` : ''}]` };
    }
  }

  /**
   * Gives the bot its display name at start, when it differs (a profile change posts a member
   * event in every room the bot is in, so it is not repeated needlessly).
   */
  private async setBotName(): Promise<void> {
    try {
      if ((await this.client.getDisplayName(this.botUserId)) === BOT_DISPLAY_NAME) return;
      await this.client.setDisplayName(this.botUserId, BOT_DISPLAY_NAME);
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'could not set the bridge bot\'s display name');
    }
  }

  private async onUserQuery(userId: string): Promise<void> {
    if (this.ghostRe.test(userId)) await this.ghosts.ensureRegistered(userId);
  }
}
