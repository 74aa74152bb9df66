/**
 * Status notices in the bridged rooms, so an outage or a lost message is never silent: "QQ
 * connection lost" / "restored" when a network goes away and comes back, and a notice naming the
 * reason when a message could not be delivered. Each notice goes through the relay's outbox to the
 * other rooms of the affected links (never to the network that has the problem, never to quiet
 * networks such as QQ), comes from the bridge itself so it is never relayed on, and is rate
 * limited per kind and room.
 */
import { randomUUID } from 'node:crypto';
import type { Connector } from '../core/connector.js';
import type { BridgeMessage, RoomRef } from '../core/message.js';
import type { DeliveryFailure } from '../core/outbox.js';
import { displayNetwork, networks } from '../connectors/registry.js';
import { roomKey } from '../core/routes.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { safeFailureReason } from './failure-reason.js';
// Not from metrics.ts: that would load prom-client with metrics off.
import { BRIDGE_NETWORK } from './bridge-network.js';

export interface NoticeRelay {
  notify(msg: BridgeMessage, rooms: readonly RoomRef[]): Promise<number>;
  registered(): Connector[];
}

export interface StatusNoticesOptions {
  relay: NoticeRelay;
  /** The current links (config and runtime), each a set of rooms relayed together. */
  links(): ReadonlyArray<{ rooms: readonly RoomRef[] }>;
  /** At most one notice per kind per room in this window (ms). */
  intervalMs: number;
  /** A network must stay down this long before "connection lost" is posted (ms). */
  graceMs: number;
  /** Networks that never receive notices. Default: those whose definition says so (QQ). */
  quietNetworks?: readonly string[];
  /** How often connectivity is looked at (ms). Default 1000. */
  pollMs?: number;
  log?: Logger;
  now?: () => number;
}

export { displayNetwork };

interface Watch {
  connected: boolean;
  everConnected: boolean;
  downSince: number | undefined;
  announcedLost: boolean;
}

export class StatusNotices {
  private readonly sentAt = new Map<string, number>();
  private readonly watches = new Map<string, Watch>();
  private timer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly quiet: Set<string>;
  private pending: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: StatusNoticesOptions) {
    this.log = o.log ?? silentLogger;
    this.now = o.now ?? Date.now;
    this.quiet = new Set(o.quietNetworks ?? networks().filter((d) => d.quietNotices).map((d) => d.id));
  }

  start(): void {
    this.check();
    this.timer = setInterval(() => this.check(), this.o.pollMs ?? 1000);
    this.timer.unref();
  }

  /** Stops watching; resolves once notices already decided on are queued. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.pending;
  }

  /** Resolves once every notice decided on so far has been handed to the relay's outbox. */
  async settled(): Promise<void> {
    await this.pending;
  }

  /** Looks at every connector's connectivity now (also called on state-change events). */
  check(): void {
    const now = this.now();
    for (const c of this.o.relay.registered()) {
      const up = c.isConnected();
      let w = this.watches.get(c.network);
      if (!w) {
        w = { connected: up, everConnected: up, downSince: up ? undefined : now, announcedLost: false };
        this.watches.set(c.network, w);
      }
      w.connected = up;
      if (up) {
        w.everConnected = true;
        w.downSince = undefined;
        if (w.announcedLost) {
          w.announcedLost = false;
          this.post(`restored:${c.network}`, this.roomsAffectedBy(c.network), `${displayNetwork(c.network)} connection restored`);
        }
        continue;
      }
      // Down since start-up is a login problem the logs and /health report; a notice is for an outage.
      if (!w.everConnected) continue;
      w.downSince ??= now;
      if (!w.announcedLost && now - w.downSince >= this.o.graceMs) {
        w.announcedLost = true;
        this.post(`lost:${c.network}`, this.roomsAffectedBy(c.network), `${displayNetwork(c.network)} connection lost, messages are queued`);
      }
    }
  }

  /**
   * The QQ account's episode started or ended (refused / offline / recovered): one notice in each
   * room bridged with QQ, never one per message; `text` says since when, what waits, the next try.
   * `kind` (`episode:refused`, `recovered:offline`, …) is rate limited per room like every notice.
   */
  accountEvent(network: string, kind: string, text: string): void {
    this.post(`${network}-account:${kind}`, this.roomsAffectedBy(network), text);
  }

  /** The operators' alert room (e.g. `qq.alert`): the account's episode, its reason and what to do. */
  alert(room: RoomRef, kind: string, text: string): void {
    this.post(`alert:${kind}`, [room], text);
  }

  /** The relay's onFailure: a message was rejected for good, or a target paused. */
  onFailure(f: DeliveryFailure): void {
    // A notice that cannot be delivered must not cause more notices.
    if (f.sourceId.startsWith(`${BRIDGE_NETWORK}:`)) return;
    const rooms = this.linkRoomsOf(f.target).filter((r) => roomKey(r) !== roomKey(f.target));
    const where = `${displayNetwork(f.target.network)} ${f.target.room}`;
    // Never the raw error text: it can quote a request (a URL with a token). The logs have it, scrubbed.
    const why = safeFailureReason(f);
    const text =
      f.kind === 'rejected'
        ? `A message could not be delivered to ${where}: ${why}`
        : `Delivery to ${where} is paused (messages are kept): ${why}`;
    this.post(f.kind === 'rejected' ? 'failed' : 'paused', rooms, text);
  }

  /** Non-quiet rooms of every link that has a room on `network`, except those on `network` itself. */
  private roomsAffectedBy(network: string): RoomRef[] {
    const out = new Map<string, RoomRef>();
    for (const link of this.o.links()) {
      if (!link.rooms.some((r) => r.network === network)) continue;
      for (const r of link.rooms) if (r.network !== network && !this.quiet.has(r.network)) out.set(roomKey(r), { network: r.network, room: r.room });
    }
    return [...out.values()];
  }

  private linkRoomsOf(target: RoomRef): RoomRef[] {
    const out = new Map<string, RoomRef>();
    for (const link of this.o.links()) {
      if (!link.rooms.some((r) => roomKey(r) === roomKey(target))) continue;
      for (const r of link.rooms) if (!this.quiet.has(r.network)) out.set(roomKey(r), { network: r.network, room: r.room });
    }
    return [...out.values()];
  }

  /** Every room of every link (the store concerns them all). */
  private allRooms(): RoomRef[] {
    const out = new Map<string, RoomRef>();
    for (const link of this.o.links()) for (const r of link.rooms) if (!this.quiet.has(r.network)) out.set(roomKey(r), { network: r.network, room: r.room });
    return [...out.values()];
  }

  /** The store became unavailable (input paused, messages held) or available again. */
  storeChanged(s: { state: 'available' | 'unavailable'; held: number; peakHeld?: number }): void {
    if (s.state === 'unavailable') {
      // The store is often found gone by a delivery's bookkeeping, before any message is held:
      // "0 messages are held" would read as "nothing is kept" while everything said from now on is.
      const held = s.held === 0 ? 'messages are held' : `${s.held} message${s.held === 1 ? ' is' : 's are'} held`;
      this.post('store-down', this.allRooms(), `the bridge's database is unavailable; ${held} and will be relayed when it is back`);
    } else {
      // `held` is ~0 by now (the first good write took them); the outage's peak is what goes out.
      const n = s.peakHeld ?? 0;
      const what = n === 0 ? 'held messages are' : `${n} held message${n === 1 ? ' is' : 's are'}`;
      this.post('store-restored', this.allRooms(), `the bridge's database is available again; ${what} being relayed`);
    }
  }

  /** Held messages were dropped because the hold buffer was full: never silent. */
  heldDropped(count: number, rooms: readonly RoomRef[]): void {
    const targets = rooms.filter((r) => !this.quiet.has(r.network));
    this.post('store-dropped', targets.length > 0 ? targets : this.allRooms(), `${count} message${count === 1 ? ' was' : 's were'} lost: the bridge's database is unavailable and its hold buffer is full`);
  }

  private post(kind: string, rooms: RoomRef[], text: string): void {
    const now = this.now();
    const due = rooms.filter((r) => {
      const k = `${kind}\u0000${roomKey(r)}`;
      const last = this.sentAt.get(k);
      if (last !== undefined && now - last < this.o.intervalMs) return false;
      this.sentAt.set(k, now);
      return true;
    });
    if (due.length === 0) return;
    const msg: BridgeMessage = {
      id: `${BRIDGE_NETWORK}:status:${randomUUID()}`,
      origin: { network: BRIDGE_NETWORK, room: 'status', sender: { id: 'qqbridge', displayName: 'qqbridge' } },
      kind: 'notice',
      parts: [{ type: 'text', text }],
      time: now,
      fromBridge: true,
    };
    this.log.info({ kind, rooms: due.length, text }, 'posting a status notice');
    this.pending = this.pending.then(() =>
      this.o.relay.notify(msg, due).catch((e: unknown) => this.log.warn({ err: (e as Error).message, kind }, 'could not queue a status notice')),
    );
  }
}
