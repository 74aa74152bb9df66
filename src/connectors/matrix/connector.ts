/**
 * The Matrix connector: an application service. The homeserver pushes transactions to us
 * (matrix-appservice-bridge's AppService checks the hs_token and drops a replayed last txnId;
 * we also drop event ids already handled), and a transaction is acknowledged only once each of
 * its events is durably handed to the relay (see appservice.ts). We talk back through the
 * client-server API with the as_token, as the bot or as a ghost per QQ member
 * (`@qq_<QQ number>:<domain>`).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AppService } from 'matrix-appservice-bridge';
import type { Capabilities, Connector, ConnectorContext, Delivery } from '../../core/connector.js';
import { DeliveryError } from '../../core/errors.js';
import { sourceId, type BridgeMessage, type ImagePart, type Part } from '../../core/message.js';
import type { Logger } from '../../log.js';
import { silentLogger } from '../../log.js';
import type { MappingLink } from '../../mappings/config.js';
import type { Store } from '../../store/store.js';
import { AliasNotFound, createDurableAppService } from './appservice.js';
import { MatrixClient, MatrixError, toDeliveryError } from './client.js';
import type { MatrixConfig } from './config.js';
import { asEdit, imageContent, parseMatrixContent, parseMxc, renderSegments, withReply, type MatrixContent } from './format.js';
import { loadRegistration, type Registration } from './registration.js';

export interface MatrixConnectorOptions {
  store: Store;
  /** Defaults to reading `config.registration`. */
  registration?: Registration;
  /** Matrix rooms bridged by the config; plumbed and portal rooms come from the store. */
  rooms?: Iterable<string>;
  /** Called with every link made in Matrix (plumbing and portals), at start and on every change. */
  onLinksChanged?: (links: MappingLink[]) => void;
  /**
   * Name and topic of a QQ group for its portal room; undefined when the QQ account is not in
   * that group. Without it no portal room is created (alias queries answer 404).
   */
  groupInfo?: (groupNumber: number) => Promise<{ name?: string; topic?: string } | undefined>;
}

type Event = Record<string, unknown> & { type?: string; room_id?: string; sender?: string; event_id?: string; content?: Record<string, unknown>; state_key?: string; origin_server_ts?: number };

const LINK_PREFIX = 'matrix:';
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
    kinds: ['message', 'action', 'notice', 'join', 'leave'],
    rateLimit: { perSecond: 10, burst: 20 },
  };

  readonly registration: Registration;
  readonly botUserId: string;
  private readonly client: MatrixClient;
  private readonly store: Store;
  private readonly ghostRe: RegExp;
  private readonly aliasRe: RegExp;
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
  private readonly registered = new Set<string>();
  /** `room\0user` pairs known to be joined. */
  private readonly memberships = new Set<string>();
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
    this.aliasRe = new RegExp(`^#${esc(config.userPrefix)}(\\d+):${esc(config.domain)}$`);
    for (const r of opts.rooms ?? []) this.rooms.add(r);
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

  bridgedRooms(): string[] {
    return [...this.rooms];
  }

  isConnected(): boolean {
    return this.listening;
  }

  async start(ctx: ConnectorContext): Promise<void> {
    this.ctx = ctx;
    this.log = ctx.log.child({ net: 'matrix' });
    const as = createDurableAppService(this.registration.hs_token, {
      onTransaction: (txnId, events) => this.onTransaction(txnId, events as Event[]),
      onAliasQuery: (alias) => this.onAliasQuery(alias),
      onError: (what, err) => this.log.error({ err: (err as Error)?.message ?? String(err) }, `${what} failed; the homeserver will retry it`),
    });
    as.on('http-log', (line: string) => this.log.trace({ line }, 'appservice http'));
    as.onUserQuery = ((userId: string) => this.onUserQuery(userId)) as AppService['onUserQuery'];
    this.appservice = as;
    // Our own server around the library's express app, so we know the port and can close it.
    const server = http.createServer(as.expressApp);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.port, this.config.bindAddress, () => resolve());
    });
    this.server = server;
    this.listening = true;
    for (const l of await this.matrixLinks()) this.rooms.add(l.rooms[1]!.room);
    await this.emitLinks();
    await this.setBotName();
    this.log.info({ port: this.port, bind: this.config.bindAddress }, 'Matrix appservice listening');
  }

  async stop(): Promise<void> {
    this.listening = false;
    const server = this.server;
    this.server = undefined;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
    await Promise.allSettled([...this.chains.values()]);
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
      if (ghost && (msg.kind === 'join' || msg.kind === 'leave')) {
        if (msg.kind === 'join') await this.ensureGhost(ghost, msg.origin.sender.displayName, room);
        else await this.ghostLeave(ghost, room);
        return [];
      }
      if (ghost) await this.ensureGhost(ghost, msg.origin.sender.displayName, room);
      else await this.ensureBotJoined(room);
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
        ids.push(await this.client.sendEvent(room, 'm.room.message', `${key}.${i}`, content, ghost));
      }
      return ids;
    } catch (e) {
      if (e instanceof DeliveryError) throw e;
      throw toDeliveryError(e, `Matrix delivery to ${room}`);
    }
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
      up = { mxc: await this.client.upload(bytes.data, mime, part.name), mime, size: bytes.data.byteLength };
      if (part.mediaId) this.uploaded.set(part.mediaId, up);
    }
    return imageContent(part, up.mxc, { mime: up.mime, size: up.size });
  }

  private async ensureRegistered(userId: string): Promise<void> {
    if (this.registered.has(userId)) return;
    const localpart = userId.slice(1, userId.indexOf(':'));
    try {
      await this.client.register(localpart);
    } catch (e) {
      if (!(e instanceof MatrixError && e.errcode === 'M_USER_IN_USE')) throw e;
    }
    this.registered.add(userId);
  }

  private async ensureBotJoined(room: string): Promise<void> {
    const k = `${room}\0${this.botUserId}`;
    if (this.memberships.has(k)) return;
    await this.client.join(room);
    this.memberships.add(k);
  }

  /**
   * Registers the ghost, joins it to the room if the homeserver says it is not in it yet, and
   * keeps its per-room name current, comparing against what the store says was set (so a restart
   * calls out only when the name really changed).
   */
  private async ensureGhost(ghost: string, displayName: string, room: string): Promise<void> {
    await this.ensureRegistered(ghost);
    const known = await this.store.getGhost(ghost);
    let globalName = known?.displayName;
    if (globalName === undefined) {
      await this.client.setDisplayName(ghost, displayName);
      await this.store.setGhostProfile(ghost, { displayName });
      globalName = displayName;
    }
    const joinedNow = await this.ensureGhostJoined(ghost, room);
    // A group card belongs to one group: it becomes the ghost's name in this room only. A fresh
    // join shows the global profile name, whatever was set in this room before.
    const shown = joinedNow ? globalName : (known?.roomNames[room] ?? globalName);
    if (shown !== displayName) {
      await this.client.putState(room, 'm.room.member', ghost, { membership: 'join', displayname: displayName }, ghost);
    }
    if (known?.roomNames[room] !== displayName) await this.store.setGhostRoomName(ghost, room, displayName);
  }

  /** Joins the ghost unless it is in the room already (per the member state); true when it joined now. */
  private async ensureGhostJoined(ghost: string, room: string): Promise<boolean> {
    const k = `${room}\0${ghost}`;
    if (this.memberships.has(k)) return false;
    let membership: unknown;
    try {
      membership = (await this.client.getState<{ membership?: string }>(room, 'm.room.member', ghost, ghost)).membership;
    } catch (e) {
      // No member event (never joined), or not allowed to read it (not in the room): join.
      if (!(e instanceof MatrixError && (e.errcode === 'M_NOT_FOUND' || e.errcode === 'M_FORBIDDEN'))) throw e;
    }
    if (membership === 'join') {
      this.memberships.add(k);
      return false;
    }
    try {
      await this.client.join(room, ghost);
    } catch (e) {
      if (!(e instanceof MatrixError && e.errcode === 'M_FORBIDDEN')) throw e;
      await this.ensureBotJoined(room);
      await this.client.invite(room, ghost);
      await this.client.join(room, ghost);
    }
    this.memberships.add(k);
    return true;
  }

  private async ghostLeave(ghost: string, room: string): Promise<void> {
    try {
      await this.client.leave(room, ghost);
    } catch (e) {
      // Not in the room (never spoke, or already gone): nothing to undo.
      if (!(e instanceof MatrixError && (e.errcode === 'M_FORBIDDEN' || e.errcode === 'M_NOT_FOUND'))) throw e;
    }
    this.memberships.delete(`${room}\0${ghost}`);
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
      if (this.isOurs(target) && content.membership !== 'join') this.memberships.delete(`${room}\0${target}`);
      if (target === this.botUserId && content.membership === 'invite') {
        // Anyone on any federated server can create a room and invite the bot: only a bridge admin
        // may bring it into a new room, so a stranger cannot reach a QQ group through one.
        if (!this.isAdmin(sender) && !this.rooms.has(room)) {
          this.log.info({ room, by: sender }, 'declined a Matrix invitation from a user who is not a bridge admin');
          await this.client.leave(room);
          return;
        }
        await this.client.join(room);
        this.memberships.add(`${room}\0${this.botUserId}`);
        this.log.info({ room, by: sender }, 'joined a Matrix room on invitation');
      }
      return;
    }
    if (this.isOurs(sender)) return; // our own echo: never relayed back
    if (ev.type === 'm.room.message') {
      const body = str(content.body) ?? '';
      if (/^!qq(\s|$)/.test(body)) return this.command(room, sender, body.trim());
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
      await this.ctx?.receive(msg);
      return;
    }
    if (ev.type === 'm.room.redaction' && this.config.redactions === 'notice' && this.rooms.has(room)) {
      // QQ cannot delete a message: its readers get a short notice pointing at the original.
      const msg = await this.inbound(room, eventId, sender, ev, 'notice', [{ type: 'text', text: 'deleted a message' }]);
      const target = str(ev.redacts) ?? str(content.redacts);
      if (target) {
        const r = await this.ctx?.sourceIdFor(room, target);
        if (r) msg.replyTo = r;
      }
      await this.ctx?.receive(msg);
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

  // ------------------------------------------------------------------------- plumbing & portals

  private async matrixLinks(): Promise<MappingLink[]> {
    return (await this.store.listLinks()).filter((l) => l.id.startsWith(LINK_PREFIX)).map((l) => l.link as MappingLink);
  }

  private async emitLinks(): Promise<void> {
    if (!this.opts.onLinksChanged) return;
    this.opts.onLinksChanged(await this.matrixLinks());
  }

  private async link(room: string, group: number, by: string): Promise<void> {
    const link: MappingLink = {
      name: `matrix ${room}`,
      rooms: [
        { network: 'qq', room: `group:${group}`, readOnly: false },
        { network: 'matrix', room, readOnly: false },
      ],
      source: `linked in Matrix by ${by}`,
    };
    await this.store.putLink({ id: LINK_PREFIX + room, link, createdBy: by });
    this.rooms.add(room);
    await this.emitLinks();
  }

  private isAdmin(user: string): boolean {
    return this.config.admins.includes(user);
  }

  /** A room moderator (power level 50 or more in that room); their say covers only their own room. */
  private async isModerator(room: string, user: string): Promise<boolean> {
    try {
      const pl = await this.client.getState<{ users?: Record<string, number>; users_default?: number }>(room, 'm.room.power_levels');
      return (pl.users?.[user] ?? pl.users_default ?? 0) >= 50;
    } catch {
      return false;
    }
  }

  private async notice(room: string, text: string): Promise<void> {
    await this.client.sendEvent(room, 'm.room.message', `cmd.${Date.now()}.${Math.random().toString(36).slice(2)}`, { msgtype: 'm.notice', body: text });
  }

  /**
   * `!qq link` belongs to bridge admins alone: a room's power levels say nothing about who may
   * read a QQ group, since anyone can create a room and be its moderator. A moderator may still
   * `!qq unlink` (stop the bridge in their own room, as kicking the bot would) and `!qq list`,
   * and only in a room that is already linked.
   */
  private async command(room: string, sender: string, body: string): Promise<void> {
    const [, verb = '', arg = ''] = body.split(/\s+/);
    const admin = this.isAdmin(sender);
    if (!admin) {
      const allowed = (verb === 'unlink' || verb === 'list') && this.rooms.has(room) && (await this.isModerator(room, sender));
      if (!allowed) {
        await this.notice(room, `${sender}: only bridge admins can link rooms; room moderators may only !qq unlink or !qq list in a linked room`);
        return;
      }
    }
    if (verb === 'link') {
      if (!/^\d{5,12}$/.test(arg)) return this.notice(room, 'usage: !qq link <QQ group number>');
      await this.link(room, Number(arg), sender);
      this.log.info({ room, group: arg, by: sender }, 'Matrix room plumbed to a QQ group');
      return this.notice(room, `linked this room to QQ group ${arg}`);
    }
    if (verb === 'unlink') {
      const removed = await this.store.deleteLink(LINK_PREFIX + room);
      if (removed) {
        this.rooms.delete(room);
        await this.emitLinks();
      }
      return this.notice(room, removed ? 'unlinked this room' : 'this room is not linked by a !qq command');
    }
    if (verb === 'list') {
      const links = await this.matrixLinks();
      const mine = links.filter((l) => l.rooms.some((r) => r.network === 'matrix' && r.room === room));
      const shown = admin ? links : mine;
      const lines = shown.map((l) => `${l.rooms[0]!.room} ↔ ${l.rooms[1]!.room}`);
      return this.notice(room, lines.length ? lines.join('\n') : 'no links');
    }
    return this.notice(room, 'commands: !qq link <group number>, !qq unlink, !qq list');
  }

  /**
   * A client asked for `#qq_<group>:<domain>`: create the portal room and link it. Only when the
   * config turns portals on, for a group it allows (`portalGroups`) that the QQ account is in
   * (known to `groupInfo`); anything else answers 404, so the homeserver tells the client the
   * alias does not exist. The alias query does not say who asked, so the room is invite-only
   * and the bridge admins are invited: they decide who else may read the group.
   */
  private async onAliasQuery(alias: string): Promise<void> {
    const m = this.aliasRe.exec(alias);
    if (!m) throw new AliasNotFound(`${alias} is not a QQ group alias of this bridge`);
    const group = Number(m[1]);
    if (!Number.isSafeInteger(group) || group <= 0) throw new AliasNotFound(`${alias} does not name a QQ group`);
    if (!this.config.portals) throw new AliasNotFound(`portal rooms are off (matrix.portals); ${alias} not created`);
    if (this.config.portalGroups && !this.config.portalGroups.includes(group)) throw new AliasNotFound(`QQ group ${group} is not in matrix.portalGroups; ${alias} not created`);
    if (!this.opts.groupInfo) throw new AliasNotFound(`portal rooms need the QQ group list; ${alias} not created`);
    // A failed lookup (QQ offline) throws through: the client gets an error it may retry, not a 404.
    const info = await this.opts.groupInfo(group);
    if (!info) throw new AliasNotFound(`the QQ account is not in group ${group}`);
    const admins = this.config.admins.filter((a) => a !== this.botUserId);
    const created = await this.client.createRoom({
      room_alias_name: alias.slice(1, alias.indexOf(':')),
      name: info.name ?? `QQ group ${group}`,
      topic: info.topic ?? `Bridged to QQ group ${group} by qqbridge`,
      preset: 'private_chat',
      visibility: 'private',
      initial_state: [{ type: 'm.room.join_rules', state_key: '', content: { join_rule: 'invite' } }],
      invite: admins,
      power_level_content_override: { users: { [this.botUserId]: 100, ...Object.fromEntries(admins.map((a) => [a, 50])) } },
    });
    this.memberships.add(`${created.room_id}\0${this.botUserId}`);
    await this.link(created.room_id, group, `alias query ${alias}`);
    this.log.info({ room: created.room_id, group }, 'created a Matrix portal room');
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
    if (this.ghostRe.test(userId)) await this.ensureRegistered(userId);
  }
}
