/**
 * The bridge-level service of the Matrix side: links made in Matrix (`!qq` commands, plumbed
 * rooms), portal rooms created on an alias query, and the bridge-info state (MSC2346) in each
 * bridged room. Kept apart from the transport and message flow, as matrix-appservice-irc's
 * AdminRoomHandler and mautrix's bridgev2/commands are.
 */
import type { Logger } from '../../log.js';
import type { MappingLink } from '../../mappings/config.js';
import type { GhostStore, KvStore, LinkStore } from '../../store/store.js';
import { AliasNotFound } from './appservice.js';
import { MatrixError, type MatrixClient } from './client.js';
import type { MatrixConfig } from './config.js';
import type { Ghosts } from './ghosts.js';
import { fetchAvatar } from './avatar-fetch.js';

export interface MatrixLinksOptions {
  config: MatrixConfig;
  client: MatrixClient;
  store: LinkStore & GhostStore & KvStore;
  ghosts: Ghosts;
  botUserId: string;
  /** The connector's set of bridged Matrix rooms, kept current here as links change. */
  rooms: Set<string>;
  log: () => Logger;
  onLinksChanged?: (links: MappingLink[]) => void;
  groupInfo?: (groupNumber: number) => Promise<GroupInfo | undefined>;
  mappedRoom?: (groupNumber: number) => string | undefined;
  groupOf?: (room: string) => number | undefined;
}

/** What the QQ side tells about a group: its name, its memo (the portal's topic), its avatar. */
export interface GroupInfo {
  name?: string;
  topic?: string;
  /** Where the group's picture can be fetched (a public QQ avatar URL, or the media store's copy). */
  avatarUrl?: string;
}

const LINK_PREFIX = 'matrix:';
/** Avatars larger than this are not copied (a QQ group picture is a few KiB). */
/**
 * Our key in a portal's `m.room.avatar` content: the SHA-256 of the picture it shows, so a
 * re-check compares content and uploads or writes only when the group's picture changed.
 * Clients ignore keys they do not know.
 */
const AVATAR_HASH_KEY = 'net.qqbridge.avatar_sha256';
/** The bot's room account data: what the bridge already said in a room. */
const ROOM_NOTES = 'net.qqbridge.room_notes';
const NO_POWER_TOLD = 'bridge_info_no_power_told';
/** How a portal's link names its origin (`link.source`), telling portals from plumbed rooms. */
const PORTAL_SOURCE = 'linked in Matrix by alias query';
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export class MatrixLinks {
  private readonly aliasRe: RegExp;
  /** Rooms already told that the bot may not write the bridge info, so it is said once. */
  private readonly toldNoPower = new Set<string>();
  /** Content hash → mxc URL of group pictures uploaded by this process (one upload per picture). */
  private readonly uploadedAvatars = new Map<string, string>();
  /** Work started by an alias query that need not hold up its answer (the new portal's avatar). */
  private readonly work = new Set<Promise<void>>();
  private readonly avatarChecks = new Map<string, Promise<void>>();

  constructor(private readonly o: MatrixLinksOptions) {
    this.aliasRe = new RegExp(`^#${esc(o.config.userPrefix)}(\\d+):${esc(o.config.domain)}$`);
  }

  async matrixLinks(): Promise<MappingLink[]> {
    return (await this.o.store.listLinks()).filter((l) => l.id.startsWith(LINK_PREFIX)).map((l) => l.link as MappingLink);
  }

  async emitLinks(): Promise<void> {
    if (!this.o.onLinksChanged) return;
    this.o.onLinksChanged(await this.matrixLinks());
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
    await this.o.store.putLink({ id: LINK_PREFIX + room, link, createdBy: by });
    this.o.rooms.add(room);
    await this.emitLinks();
  }

  /**
   * Writes the bridge-info state (MSC2346: `m.bridge` and the older `uk.half-shot.bridge` that
   * clients still read) into every bridged room whose QQ group is known. Runs in the background
   * at start; each room is read first, so a restart writes nothing that is already there.
   */
  async bridgeInfoForRoom(room: string): Promise<void> {
    const group = await this.groupOfRoom(room);
    if (group !== undefined) await this.bridgeInfo(room, group);
  }

  private async groupOfRoom(room: string): Promise<number | undefined> {
    const link = (await this.matrixLinks()).find((l) => l.rooms.some((r) => r.network === 'matrix' && r.room === room));
    const group = link && groupOfLink(link);
    return group ?? this.o.groupOf?.(room);
  }

  async bridgeInfoForAll(extra: Iterable<string>): Promise<void> {
    const groups = new Map<string, number>();
    for (const l of await this.matrixLinks()) {
      const room = l.rooms.find((r) => r.network === 'matrix')?.room;
      const group = groupOfLink(l);
      if (room && group !== undefined) groups.set(room, group);
    }
    for (const room of extra) {
      const g = this.o.groupOf?.(room);
      if (g !== undefined && !groups.has(room)) groups.set(room, g);
    }
    for (const [room, group] of groups) await this.bridgeInfo(room, group);
    await this.syncPortals();
  }

  /**
   * Brings every portal room up to date with its QQ group (name, topic, avatar). Run at start and
   * then periodically by the connector: QQ tells the bridge of no rename or new picture.
   */
  async syncPortals(): Promise<void> {
    for (const l of await this.matrixLinks()) {
      const room = l.rooms.find((r) => r.network === 'matrix')?.room;
      const group = groupOfLink(l);
      if (room && group !== undefined && l.source?.startsWith(PORTAL_SOURCE)) await this.syncPortal(room, group);
    }
  }

  /**
   * A portal room belongs to the bridge: its name, topic and avatar follow the QQ group's
   * (written only when they differ, so a re-check posts nothing to the timeline). Plumbed rooms
   * keep what their owners gave them.
   */
  private async syncPortal(room: string, group: number): Promise<void> {
    const info = await this.o.groupInfo?.(group).catch(() => undefined);
    if (!info) return;
    const wanted: [string, string, string | undefined][] = [
      ['m.room.name', 'name', info.name],
      ['m.room.topic', 'topic', info.topic],
    ];
    for (const [type, key, value] of wanted) {
      if (value === undefined) continue;
      try {
        const current = await this.o.client.getState(room, type).catch(() => ({}) as Record<string, unknown>);
        if (current[key] !== value) await this.o.client.putState(room, type, '', { [key]: value });
      } catch (e) {
        this.o.log().warn({ room, type, err: (e as Error).message }, 'could not bring a portal room up to date with its QQ group');
      }
    }
    if (info.avatarUrl) await this.syncAvatar(room, info.avatarUrl);
  }

  /**
   * The portal's avatar is the group's picture: fetched, compared by content hash, uploaded once.
   * One check per room at a time (a new portal's first check and the periodic one may meet), so
   * the picture is never written twice.
   */
  private syncAvatar(room: string, source: string): Promise<void> {
    const next = (this.avatarChecks.get(room) ?? Promise.resolve()).then(() => this.checkAvatar(room, source));
    this.avatarChecks.set(room, next);
    void next.finally(() => {
      if (this.avatarChecks.get(room) === next) this.avatarChecks.delete(room);
    });
    return next;
  }

  private async checkAvatar(room: string, source: string): Promise<void> {
    try {
      const { data, mime, hash } = await fetchAvatar(source);
      const current = await this.o.client.getState(room, 'm.room.avatar').catch(() => ({}) as Record<string, unknown>);
      if (current[AVATAR_HASH_KEY] === hash) return;
      let mxc = this.uploadedAvatars.get(hash);
      if (!mxc) {
        mxc = await this.o.client.upload(data, mime, 'group-avatar');
        this.uploadedAvatars.set(hash, mxc);
      }
      await this.o.client.putState(room, 'm.room.avatar', '', { url: mxc, info: { mimetype: mime, size: data.byteLength }, [AVATAR_HASH_KEY]: hash });
    } catch (e) {
      this.o.log().warn({ room, err: (e as Error).message }, 'could not set a portal room\'s avatar from its QQ group; will try again at the next check');
    }
  }

  /** The bridge-info content for a room bridged to QQ group `group`. */
  bridgeInfoContent(group: number, name?: string): { stateKey: string; content: Record<string, unknown> } {
    return {
      stateKey: `qqbridge://qq/group/${group}`,
      content: {
        bridgebot: this.o.botUserId,
        protocol: { id: 'qq', displayname: 'QQ' },
        network: { id: 'group', displayname: 'QQ groups' },
        channel: { id: String(group), displayname: name ?? `QQ group ${group}` },
      },
    };
  }

  private async bridgeInfo(room: string, group: number): Promise<void> {
    // Not in the room yet (a configured room before its invitation): done when the bot joins.
    const me = await this.o.client.getState<{ membership?: string }>(room, 'm.room.member', this.o.botUserId).catch(() => undefined);
    if (me?.membership !== 'join') return;
    const info = await this.o.groupInfo?.(group).catch(() => undefined);
    const { stateKey, content } = this.bridgeInfoContent(group, info?.name);
    try {
      for (const type of ['m.bridge', 'uk.half-shot.bridge']) {
        let current: Record<string, unknown> | undefined;
        try {
          current = await this.o.client.getState(room, type, stateKey);
        } catch (e) {
          // Not in the room yet (a configured room before its invitation): done when the bot joins.
          if (e instanceof MatrixError && e.errcode === 'M_FORBIDDEN') return;
          if (!(e instanceof MatrixError && e.errcode === 'M_NOT_FOUND')) throw e;
        }
        if (current && JSON.stringify(current) === JSON.stringify(content)) continue;
        await this.o.client.putState(room, type, stateKey, content);
      }
    } catch (e) {
      if (!(e instanceof MatrixError && e.errcode === 'M_FORBIDDEN')) {
        this.o.log().warn({ room, err: (e as Error).message }, 'could not write the bridge info (m.bridge) of a room');
        return;
      }
      if (this.toldNoPower.has(room)) return;
      this.toldNoPower.add(room);
      // Said once ever, not once per start: the bot's room account data (kept by the homeserver)
      // remembers that the room was told.
      const told = await this.o.client.getRoomAccountData<Record<string, unknown>>(this.o.botUserId, room, ROOM_NOTES).catch(() => ({}) as Record<string, unknown>);
      if (told[NO_POWER_TOLD] === true) return;
      this.o.log().info({ room }, 'no power to write the bridge info (m.bridge) of a room; said so in the room');
      await this.notice(room, 'The bridge cannot show itself in this room\'s settings (m.bridge state): its power level is too low. Messages are bridged all the same.').catch(() => undefined);
      await this.o.client.putRoomAccountData(this.o.botUserId, room, ROOM_NOTES, { ...told, [NO_POWER_TOLD]: true }).catch((err: unknown) => this.o.log().debug({ room, err: (err as Error).message }, 'could not note that a room was told about the bridge info'));
    }
  }

  /** The Matrix room already bridged to a QQ group, by the config or by an earlier link. */
  private async mappedRoom(group: number): Promise<string | undefined> {
    const configured = this.o.mappedRoom?.(group);
    if (configured) return configured;
    const link = (await this.matrixLinks()).find((l) => l.rooms.some((r) => r.network === 'qq' && r.room === `group:${group}`));
    return link?.rooms.find((r) => r.network === 'matrix')?.room;
  }

  isAdmin(user: string): boolean {
    return this.o.config.admins.includes(user);
  }

  /** A room moderator (power level 50 or more in that room); their say covers only their own room. */
  private async isModerator(room: string, user: string): Promise<boolean> {
    try {
      const pl = await this.o.client.getState<{ users?: Record<string, number>; users_default?: number }>(room, 'm.room.power_levels');
      return (pl.users?.[user] ?? pl.users_default ?? 0) >= 50;
    } catch {
      return false;
    }
  }

  private async notice(room: string, text: string): Promise<void> {
    await this.o.client.sendEvent(room, 'm.room.message', `cmd.${Date.now()}.${Math.random().toString(36).slice(2)}`, { msgtype: 'm.notice', body: text });
  }

  /**
   * `!qq link` belongs to bridge admins alone: a room's power levels say nothing about who may
   * read a QQ group, since anyone can create a room and be its moderator. A moderator may still
   * `!qq unlink` (stop the bridge in their own room, as kicking the bot would) and `!qq list`,
   * and only in a room that is already linked.
   */
  async command(room: string, sender: string, body: string): Promise<void> {
    const [, verb = '', arg = ''] = body.split(/\s+/);
    const admin = this.isAdmin(sender);
    if (!admin) {
      const allowed = (verb === 'unlink' || verb === 'list') && this.o.rooms.has(room) && (await this.isModerator(room, sender));
      if (!allowed) {
        await this.notice(room, `${sender}: only bridge admins can link rooms; room moderators may only !qq unlink or !qq list in a linked room`);
        return;
      }
    }
    if (verb === 'link') {
      if (!/^\d{5,12}$/.test(arg)) return this.notice(room, 'usage: !qq link <QQ group number>');
      await this.link(room, Number(arg), sender);
      this.o.log().info({ room, group: arg, by: sender }, 'Matrix room plumbed to a QQ group');
      await this.notice(room, `linked this room to QQ group ${arg}`);
      return this.bridgeInfo(room, Number(arg));
    }
    if (verb === 'unlink') {
      const removed = await this.o.store.deleteLink(LINK_PREFIX + room);
      if (removed) {
        this.o.rooms.delete(room);
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
  async onAliasQuery(alias: string): Promise<void> {
    const m = this.aliasRe.exec(alias);
    if (!m) throw new AliasNotFound(`${alias} is not a QQ group alias of this bridge`);
    const group = Number(m[1]);
    if (!Number.isSafeInteger(group) || group <= 0) throw new AliasNotFound(`${alias} does not name a QQ group`);
    if (!this.o.config.portals) throw new AliasNotFound(`portal rooms are off (matrix.portals); ${alias} not created`);
    if (this.o.config.portalGroups && !this.o.config.portalGroups.includes(group)) throw new AliasNotFound(`QQ group ${group} is not in matrix.portalGroups; ${alias} not created`);
    if (!this.o.groupInfo) throw new AliasNotFound(`portal rooms need the QQ group list; ${alias} not created`);
    // A failed lookup (QQ offline) throws through: the client gets an error it may retry, not a 404.
    const info = await this.o.groupInfo(group);
    if (!info) throw new AliasNotFound(`the QQ account is not in group ${group}`);
    const existing = await this.mappedRoom(group);
    if (existing) {
      // The group already has a room: the alias names that room, never a second one that the
      // bridge would then relay to as well.
      await this.o.client.request('PUT', `/_matrix/client/v3/directory/room/${encodeURIComponent(alias)}`, { body: { room_id: existing } });
      this.o.log().info({ room: existing, group, alias }, 'pointed a portal alias at the room already bridged to its group');
      return;
    }
    const admins = this.o.config.admins.filter((a) => a !== this.o.botUserId);
    const bridge = this.bridgeInfoContent(group, info.name);
    const created = await this.o.client.createRoom({
      room_alias_name: alias.slice(1, alias.indexOf(':')),
      name: info.name ?? `QQ group ${group}`,
      topic: info.topic ?? `Bridged to QQ group ${group} by qqbridge`,
      preset: 'private_chat',
      visibility: 'private',
      initial_state: [
        { type: 'm.room.join_rules', state_key: '', content: { join_rule: 'invite' } },
        ...['m.bridge', 'uk.half-shot.bridge'].map((type) => ({ type, state_key: bridge.stateKey, content: bridge.content })),
      ],
      invite: admins,
      // Admins run the room (promote, moderate) as its owners would: power 100, like the bot.
      power_level_content_override: { users: { [this.o.botUserId]: 100, ...Object.fromEntries(admins.map((a) => [a, 100])) } },
    });
    this.o.ghosts.joined(created.room_id, this.o.botUserId);
    await this.link(created.room_id, group, `alias query ${alias}`);
    this.o.log().info({ room: created.room_id, group }, 'created a Matrix portal room');
    if (info.avatarUrl) {
      // The picture is fetched from QQ's side, which may be slow: the alias answer does not wait.
      const w = this.syncAvatar(created.room_id, info.avatarUrl).finally(() => this.work.delete(w));
      this.work.add(w);
    }
  }

  /** Resolves once work started in the background (a new portal's avatar) is done. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.work]);
  }
}

/** The QQ group a Matrix-made link bridges (its `group:<n>` room). */
function groupOfLink(l: MappingLink): number | undefined {
  const m = /^group:(\d+)$/.exec(l.rooms.find((r) => r.network === 'qq')?.room ?? '');
  return m ? Number(m[1]) : undefined;
}
