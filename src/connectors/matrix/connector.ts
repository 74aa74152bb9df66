/**
 * The Matrix connector: an application service. The homeserver pushes transactions to us
 * (matrix-appservice-bridge's AppService checks the hs_token and drops a replayed last txnId;
 * we also drop event ids already seen), and we talk back through the client-server API with
 * the as_token, as the bot or as a ghost per QQ member (`@qq_<QQ number>:<domain>`).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppService } from 'matrix-appservice-bridge';
import type { Capabilities, Connector, ConnectorContext, Delivery } from '../../core/connector.js';
import { DeliveryError } from '../../core/errors.js';
import { sourceId, type BridgeMessage, type ImagePart, type Part } from '../../core/message.js';
import type { Logger } from '../../log.js';
import { silentLogger } from '../../log.js';
import type { MappingLink } from '../../mappings/config.js';
import type { Store } from '../../store/store.js';
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
  /** Name and topic of a QQ group for its portal room. */
  groupInfo?: (groupNumber: number) => Promise<{ name?: string; topic?: string } | undefined>;
}

type Event = Record<string, unknown> & { type?: string; room_id?: string; sender?: string; event_id?: string; content?: Record<string, unknown>; state_key?: string; origin_server_ts?: number };

const LINK_PREFIX = 'matrix:';
const SEEN_MAX = 5000;
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
  /** Per-room chain so inbound events keep their order through async work. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly registered = new Set<string>();
  /** `room\0user` pairs known to be joined. */
  private readonly memberships = new Set<string>();
  private readonly names = new Map<string, string>();
  /** mediaId → mxc, so a retried delivery does not upload again. */
  private readonly uploaded = new Map<string, string>();

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

  bridgedRooms(): string[] {
    return [...this.rooms];
  }

  isConnected(): boolean {
    return this.listening;
  }

  async start(ctx: ConnectorContext): Promise<void> {
    this.ctx = ctx;
    this.log = ctx.log.child({ net: 'matrix' });
    const as = new AppService({ homeserverToken: this.registration.hs_token });
    as.on('event', (ev: Record<string, unknown>) => this.onEvent(ev as Event));
    as.on('http-log', (line: string) => this.log.trace({ line }, 'appservice http'));
    as.onAliasQuery = ((alias: string) => this.onAliasQuery(alias)) as AppService['onAliasQuery'];
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
    const ghost = msg.origin.network === 'qq' && /^\d+$/.test(msg.origin.sender.id) ? this.ghostId(msg.origin.sender.id) : undefined;
    try {
      if (ghost && (msg.kind === 'join' || msg.kind === 'leave')) {
        if (msg.kind === 'join') await this.ensureGhost(ghost, msg.origin.sender.displayName, room);
        else await this.ghostLeave(ghost, room);
        return [];
      }
      if (ghost) await this.ensureGhost(ghost, msg.origin.sender.displayName, room);
      else await this.ensureBotJoined(room);
      const segments = renderSegments(msg.parts, msg.kind, {
        pillFor: (p) => (p.userId?.startsWith('@') ? p.userId : p.userId && /^\d+$/.test(p.userId) && msg.origin.network === 'qq' ? this.ghostId(p.userId) : undefined),
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

  private async imageEvent(part: ImagePart): Promise<MatrixContent> {
    let bytes: { data: Uint8Array; mime: string } | undefined;
    let mxc = part.mediaId ? this.uploaded.get(part.mediaId) : undefined;
    if (!mxc) {
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
      mxc = await this.client.upload(bytes.data, bytes.mime, part.name);
      if (part.mediaId) this.uploaded.set(part.mediaId, mxc);
    }
    const mime = bytes?.mime ?? part.mime ?? 'image/png';
    const size = bytes?.data.byteLength ?? part.size ?? 0;
    return imageContent(part, mxc, { mime, size });
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

  /** Registers the ghost, keeps its name current (calling out only when it changed), joins it to the room. */
  private async ensureGhost(ghost: string, displayName: string, room: string): Promise<void> {
    await this.ensureRegistered(ghost);
    const known = await this.store.getGhost(ghost);
    if (known?.displayName === undefined) {
      await this.client.setDisplayName(ghost, displayName);
      await this.store.setGhostProfile(ghost, { displayName });
    }
    const k = `${room}\0${ghost}`;
    if (!this.memberships.has(k)) {
      try {
        await this.client.join(room, ghost);
      } catch (e) {
        if (!(e instanceof MatrixError && e.errcode === 'M_FORBIDDEN')) throw e;
        await this.ensureBotJoined(room);
        await this.client.invite(room, ghost);
        await this.client.join(room, ghost);
      }
      this.memberships.add(k);
    }
    // A group card belongs to one group: it becomes the ghost's name in this room only.
    const shown = known?.roomNames[room] ?? known?.displayName ?? displayName;
    if (shown !== displayName) {
      await this.client.putState(room, 'm.room.member', ghost, { membership: 'join', displayname: displayName }, ghost);
    }
    if (known?.roomNames[room] !== displayName) await this.store.setGhostRoomName(ghost, room, displayName);
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

  private onEvent(ev: Event): void {
    const room = str(ev.room_id);
    const id = str(ev.event_id);
    if (!room || !id) return;
    if (this.seen.has(id)) return;
    this.seen.add(id);
    if (this.seen.size > SEEN_MAX) this.seen.delete(this.seen.values().next().value!);
    const prev = this.chains.get(room) ?? Promise.resolve();
    const next = prev
      .then(() => this.handle(ev, room, id))
      .catch((e: unknown) => this.log.error({ err: (e as Error)?.message, room, event: id }, 'failed to handle a Matrix event'));
    this.chains.set(room, next);
    void next.then(() => {
      if (this.chains.get(room) === next) this.chains.delete(room);
    });
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
      if (target === this.botUserId && content.membership === 'invite') {
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
        const m = parseMxc(parsed.file.mxc);
        if (m) {
          const base = this.config.homeserverUrl.replace(/\/+$/, '');
          parts.push({ type: 'link', url: `${base}/_matrix/media/v3/download/${m.server}/${m.mediaId}/${encodeURIComponent(parsed.file.name)}`, text: parsed.file.name });
        }
      }
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
      qq: { kind: 'group', number: group },
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

  private async mayPlumb(room: string, user: string): Promise<boolean> {
    if (this.config.admins.includes(user)) return true;
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

  private async command(room: string, sender: string, body: string): Promise<void> {
    const [, verb = '', arg = ''] = body.split(/\s+/);
    if (!(await this.mayPlumb(room, sender))) {
      await this.notice(room, `${sender}: only bridge admins and room moderators (power level 50) can use !qq commands`);
      return;
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
      const shown = this.config.admins.includes(sender) ? links : mine;
      const lines = shown.map((l) => `${l.rooms[0]!.room} ↔ ${l.rooms[1]!.room}`);
      return this.notice(room, lines.length ? lines.join('\n') : 'no links');
    }
    return this.notice(room, 'commands: !qq link <group number>, !qq unlink, !qq list');
  }

  /** A client asked for `#qq_<group>:<domain>`: create the portal room and link it. */
  private async onAliasQuery(alias: string): Promise<void> {
    const m = this.aliasRe.exec(alias);
    if (!m) return;
    const group = Number(m[1]);
    const info = (await this.opts.groupInfo?.(group).catch(() => undefined)) ?? {};
    const created = await this.client.createRoom({
      room_alias_name: alias.slice(1, alias.indexOf(':')),
      name: info.name ?? `QQ group ${group}`,
      topic: info.topic ?? `Bridged to QQ group ${group} by qqbridge`,
      preset: 'public_chat',
      visibility: 'private',
      power_level_content_override: { users: { [this.botUserId]: 100 } },
    });
    this.memberships.add(`${created.room_id}\0${this.botUserId}`);
    await this.link(created.room_id, group, `alias query ${alias}`);
    this.log.info({ room: created.room_id, group }, 'created a Matrix portal room');
  }

  private async onUserQuery(userId: string): Promise<void> {
    if (this.ghostRe.test(userId)) await this.ensureRegistered(userId);
  }
}
