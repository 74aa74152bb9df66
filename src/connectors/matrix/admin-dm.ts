/**
 * Alerts for the bridge admins (`matrix.admins`) as direct messages: one DM room per admin, made
 * once and reused (its id is kept in the store, so a restart does not open another), one notice
 * per alert. An admin who left the room gets a new one: a notice in a room nobody reads is none.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../log.js';
import type { KvStore } from '../../store/store.js';
import { MatrixError, type MatrixClient } from './client.js';

export interface AdminDmOptions {
  client: MatrixClient;
  store: Pick<KvStore, 'kvGet' | 'kvSet'>;
  botUserId: string;
  admins: readonly string[];
  log: () => Logger;
}

const key = (admin: string) => `matrix.adminDm:${admin}`;

export class AdminDirectMessages {
  constructor(private readonly o: AdminDmOptions) {}

  /** Sends `text` to every admin; one admin's failure does not keep it from the others. */
  async send(text: string): Promise<void> {
    for (const admin of this.o.admins) {
      if (admin === this.o.botUserId) continue;
      try {
        await this.sendTo(admin, text);
      } catch (e) {
        this.o.log().warn({ admin, err: (e as Error).message }, 'could not send the alert to a Matrix admin');
      }
    }
  }

  private async sendTo(admin: string, text: string): Promise<void> {
    const known = await this.o.store.kvGet(key(admin));
    const room = known && (await this.stillThere(known, admin)) ? known : await this.open(admin);
    await this.o.client.sendEvent(room, 'm.room.message', randomUUID(), { msgtype: 'm.notice', body: text });
  }

  /** The admin is joined or still invited; an error other than "not in room" counts as there. */
  private async stillThere(room: string, admin: string): Promise<boolean> {
    try {
      const m = await this.o.client.getState<{ membership?: string }>(room, 'm.room.member', admin);
      return m.membership === 'join' || m.membership === 'invite';
    } catch (e) {
      if (e instanceof MatrixError && (e.status === 403 || e.status === 404)) return false;
      throw e;
    }
  }

  private async open(admin: string): Promise<string> {
    const { room_id } = await this.o.client.createRoom({
      is_direct: true,
      preset: 'trusted_private_chat',
      invite: [admin],
      name: 'qqbridge alerts',
      topic: 'Alerts from the bridge: its QQ account refused or offline, the reason and what to do.',
    });
    await this.o.store.kvSet(key(admin), room_id);
    this.o.log().info({ admin, room: room_id }, 'opened a direct room for the bridge alerts');
    return room_id;
  }
}
