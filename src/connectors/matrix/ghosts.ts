/**
 * Ghosts: the Matrix users (`@qq_<number>:<domain>`) that speak for remote people. Registration,
 * room membership (cached per process; the homeserver's member state is asked once per room after
 * a restart), the global profile (nickname, avatar) and the per-room name (a QQ group card).
 */
import type { Sender } from '../../core/message.js';
import type { Logger } from '../../log.js';
import type { GhostStore } from '../../store/store.js';
import { MatrixError, type MatrixClient } from './client.js';
import { fetchAvatar } from './avatar-fetch.js';

export interface GhostsOptions {
  client: MatrixClient;
  store: GhostStore;
  botUserId: string;
  log: () => Logger;
  /** How long an avatar fetched from its source counts as current (default 6 h). */
  avatarRefreshMs?: number;
}

/** Avatars larger than this are not copied (a QQ face is a few KiB). */
const AVATAR_TAG = '#sha256=';

export class Ghosts {
  private readonly registered = new Set<string>();
  /** `room\0user` pairs known to be joined. */
  private readonly memberships = new Set<string>();
  /**
   * Pairs seen leaving in this process: for them the store's record (a per-room name, kept since
   * the ghost joined) does not mean "joined", and the homeserver is asked.
   */
  private readonly distrust = new Set<string>();
  /** Content hash → mxc URL, so the same picture is uploaded once for every ghost using it. */
  private readonly uploadedAvatars = new Map<string, string>();
  /** ghost → the avatar source last fetched and when, so a source is not fetched per message. */
  private readonly avatarChecked = new Map<string, { url: string; at: number }>();

  constructor(private readonly o: GhostsOptions) {}

  /** Records that `user` is in `room` (the bot after an invitation or a room it created). */
  joined(room: string, user: string): void {
    this.memberships.add(`${room}\0${user}`);
  }

  /** `user` left or was removed: the next message joins again (the store's word no longer counts). */
  forgetMembership(room: string, user: string): void {
    this.memberships.delete(`${room}\0${user}`);
    this.distrust.add(`${room}\0${user}`);
  }

  async ensureRegistered(userId: string): Promise<void> {
    if (this.registered.has(userId)) return;
    const localpart = userId.slice(1, userId.indexOf(':'));
    try {
      await this.o.client.register(localpart);
    } catch (e) {
      if (!(e instanceof MatrixError && e.errcode === 'M_USER_IN_USE')) throw e;
    }
    this.registered.add(userId);
  }

  async ensureBotJoined(room: string): Promise<void> {
    const k = `${room}\0${this.o.botUserId}`;
    if (this.memberships.has(k)) return;
    await this.o.client.join(room);
    this.memberships.add(k);
  }

  /**
   * Registers the ghost, joins it to the room if the homeserver says it is not in it yet, and
   * keeps its names current, comparing against what the store says was set (so a restart calls
   * out only when a name really changed). The global profile carries the account's nickname
   * (`sender.nickname`, else "QQ <number>"); the name shown in this group (a group card) is set
   * as the ghost's member name in this room only, so it never leaks into other rooms.
   */
  async ensureGhost(ghost: string, sender: Sender, room: string): Promise<void> {
    await this.ensureRegistered(ghost);
    const known = await this.o.store.getGhost(ghost);
    const globalName = sender.nickname ?? `QQ ${sender.id}`;
    const roomNames = { ...known?.roomNames };
    let profileChanged = false;
    if (known?.displayName !== globalName) {
      await this.o.client.setDisplayName(ghost, globalName);
      await this.o.store.setGhostProfile(ghost, { displayName: globalName });
      profileChanged = true;
    }
    if (sender.avatarUrl && (await this.ensureAvatar(ghost, sender.avatarUrl, known?.avatarUrl))) profileChanged = true;
    if (profileChanged) {
      // The homeserver rewrote the ghost's member event in every room it is in with the global
      // profile (Synapse does, for a name or an avatar), so per-room names must be set again.
      for (const r of Object.keys(roomNames)) {
        roomNames[r] = globalName;
        await this.o.store.setGhostRoomName(ghost, r, globalName);
      }
    }
    // A ghost with a name stored for this room joined it before, in this run or an earlier one:
    // no call to check (a ghost removed meanwhile fails its send, which joins it again).
    const joinedNow = await this.ensureGhostJoined(ghost, room, known?.roomNames[room] !== undefined);
    // A fresh join shows the global profile name, whatever was set in this room before.
    const shown = joinedNow ? globalName : (roomNames[room] ?? globalName);
    const wanted = sender.displayName;
    if (shown !== wanted) {
      await this.o.client.putState(room, 'm.room.member', ghost, { membership: 'join', displayname: wanted }, ghost);
    }
    if (roomNames[room] !== wanted) await this.o.store.setGhostRoomName(ghost, room, wanted);
  }

  /** Joins the ghost unless it is in the room already (per the member state); true when it joined now. */
  private async ensureGhostJoined(ghost: string, room: string, storedAsJoined: boolean): Promise<boolean> {
    const k = `${room}\0${ghost}`;
    if (this.memberships.has(k)) return false;
    if (storedAsJoined && !this.distrust.has(k)) {
      this.memberships.add(k);
      return false;
    }
    let membership: unknown;
    try {
      membership = (await this.o.client.getState<{ membership?: string }>(room, 'm.room.member', ghost, ghost)).membership;
    } catch (e) {
      // No member event (never joined), or not allowed to read it (not in the room): join.
      if (!(e instanceof MatrixError && (e.errcode === 'M_NOT_FOUND' || e.errcode === 'M_FORBIDDEN'))) throw e;
    }
    if (membership === 'join') {
      this.memberships.add(k);
      return false;
    }
    try {
      await this.o.client.join(room, ghost);
    } catch (e) {
      if (!(e instanceof MatrixError && e.errcode === 'M_FORBIDDEN')) throw e;
      await this.ensureBotJoined(room);
      await this.o.client.invite(room, ghost);
      await this.o.client.join(room, ghost);
    }
    this.memberships.add(k);
    return true;
  }

  async leave(ghost: string, room: string): Promise<void> {
    try {
      await this.o.client.leave(room, ghost);
    } catch (e) {
      // Not in the room (never spoke, or already gone): nothing to undo.
      if (!(e instanceof MatrixError && (e.errcode === 'M_FORBIDDEN' || e.errcode === 'M_NOT_FOUND'))) throw e;
    }
    this.forgetMembership(room, ghost);
  }

  /**
   * Sets the ghost's avatar from `source` (the QQ avatar): fetched at most once per refresh
   * period, uploaded only when its content is new (by SHA-256, shared by every ghost), and set
   * only when it differs from what the store says is set. The stored value is the mxc URL with
   * the content hash as a fragment. A failure is logged and never holds up the message.
   */
  private async ensureAvatar(ghost: string, source: string, stored: string | undefined): Promise<boolean> {
    const checked = this.avatarChecked.get(ghost);
    if (checked && checked.url === source && Date.now() - checked.at < (this.o.avatarRefreshMs ?? 6 * 3600_000)) return false;
    try {
      const { data, mime, hash } = await fetchAvatar(source);
      this.avatarChecked.set(ghost, { url: source, at: Date.now() });
      if (stored?.endsWith(AVATAR_TAG + hash)) {
        this.uploadedAvatars.set(hash, stored.slice(0, -(AVATAR_TAG.length + hash.length)));
        return false;
      }
      let mxc = this.uploadedAvatars.get(hash);
      if (!mxc) {
        mxc = await this.o.client.upload(data, mime, 'avatar');
        this.uploadedAvatars.set(hash, mxc);
      }
      await this.o.client.setAvatarUrl(ghost, mxc);
      await this.o.store.setGhostProfile(ghost, { avatarUrl: mxc + AVATAR_TAG + hash });
      return true;
    } catch (e) {
      this.o.log().warn({ ghost, err: (e as Error).message }, 'could not set a ghost\'s avatar; will try again later');
      return false;
    }
  }
}
