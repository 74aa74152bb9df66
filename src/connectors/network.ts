/**
 * What a network is to the rest of the bridge: one definition per folder under src/connectors,
 * listed once in registry.ts. Config, mappings, the bridge, operations and the CLI loop over the
 * definitions and never name a network. A definition is cheap to import (a zod schema, a room
 * codec, a few strings); the connector and its libraries load only when `load()` is called, so a
 * network that is not configured costs no memory.
 */
import type { z } from 'zod';
import type { Connector } from '../core/connector.js';
import type { RoomRef } from '../core/message.js';
import type { DeliveryFailure } from '../core/outbox.js';
import type { Logger } from '../log.js';
import type { MappingLink } from '../mappings/config.js';
// The one interactive login today is WebQQ's; the prompt's shape is a plain interface.
import type { LoginPrompt } from './qq/webqq/login-prompt.js';

/** One room of a link as written under a network's key in `mappings:`, with where it was written. */
export interface SideRoom {
  /** The canonical room id (the codec's `canonical` of what was written). */
  room: string;
  /** The room as the config spells it, for error messages (`#Chan` when `room` is `#chan`). */
  written?: string;
  readOnly?: boolean | undefined;
  /** Path inside the link, for error positions (`['irc', 1]`). */
  at: (string | number)[];
}

/**
 * The only place a network's room strings are understood: parsed, validated, compared, shown.
 * Connectors emit canonical room ids, so everywhere else a room compares by plain equality.
 */
export interface RoomCodec {
  /** The schema of this network's key in a mapping; its output lists the rooms it names. */
  side: z.ZodType<SideRoom[]>;
  /** Why `room` is not a valid room id of this network, or undefined when it is. */
  validate(room: string): string | undefined;
  /** The one spelling of a room id (IRC folds ASCII case; most networks keep it). */
  canonical(room: string): string;
  /** A room as a person reads it in logs and notices ("QQ group 346167134", "#chan"). */
  display(room: string): string;
}

/** What a network tells about one of its rooms when another asks (a Matrix portal of a QQ group). */
export interface RoomInfo {
  name: string;
  /** A description (a QQ group's memo), where the network has one. */
  topic?: string;
  /** Where the room's picture can be fetched over HTTP, where the network has one. */
  avatarUrl?: string;
}

/** Something a connector tells operations: metrics, /health and status notices read these. */
export type NetworkEvent =
  /** The connection's own state, in the network's words (`online`, `kicked`, `offline`…). */
  | { type: 'state'; state: string; detail?: string }
  /** A condition worth counting (`retcode:103`, `relogin`, `reconnect`, `rate_limited`). */
  | { type: 'condition'; what: string }
  /**
   * The account behind the connection entered an episode (`refused` by the network's risk
   * control, `offline`) or left one (`state: 'online'`, `from` the episode): said once each.
   * `notice` is the line for the bridged rooms; `alert` (episodes) the admins' message, posted in
   * `alertRoom` when the network's config names one.
   */
  | { type: 'account'; state: string; from?: string; notice: string; alert?: string; alertRoom?: RoomRef };

/** What the bridge hands a network's factory besides its config section. */
export interface NetworkDeps {
  log: Logger;
  /** The rooms of this network the current links name (joined at start). */
  rooms(): string[];
  /** The current links (config and runtime). */
  links(): readonly MappingLink[];
  /** A store the connector may keep its own state in (ghosts, runtime links). */
  store: import('../store/store.js').Store;
  /** Puts a long text on the media server and returns its URL (empty when there is none). */
  paste(text: string): Promise<string>;
  /** Runtime links this network made (Matrix plumbing, portals) changed. */
  onLinksChanged(links: MappingLink[]): void;
  /** Asks the network that owns a room for its name, topic and picture (a portal follows its QQ group's). */
  roomInfo(network: string, room: string): Promise<RoomInfo | undefined>;
  /** Tell operations about the connection (metrics, health, notices). */
  emit(event: NetworkEvent): void;
  /** The rooms the current links join to a room (of any network). */
  linkedRooms(room: RoomRef): RoomRef[];
  /** Who answers a login that needs a person (captchas, QR codes), when one is at hand. */
  loginPrompt?: LoginPrompt;
}

/** A started network as the bridge keeps it: the relay's connector plus optional extras. */
export interface NetworkInstance {
  connector: Connector;
  /** Joins rooms a reload added (the links changed). */
  linksChanged?(): void;
  /** Name, topic and picture of a room of this network, for another network that asks (portals). */
  roomInfo?(room: string): Promise<RoomInfo | undefined>;
  /** The relay gave up on a message; a network may tell its author (each decides by the source id). */
  deliveryFailed?(f: DeliveryFailure): void | Promise<void>;
  /** An alert for the bridge's admins (an account episode's reason and what to do), where this network reaches them directly. */
  alertAdmins?(text: string): Promise<void>;
}

export interface NetworkDefinition<Id extends string = string, Section extends z.ZodType = z.ZodType> {
  readonly id: Id;
  /** How people write the network's name. */
  readonly displayName: string;
  /** The config section's schema, at the key `id`. */
  readonly configSchema: Section;
  /** A bridge without this section cannot start (QQ). */
  readonly required?: boolean;
  /** Every link needs a room on this network (QQ: the bridge relays QQ groups). */
  readonly anchor?: boolean;
  readonly rooms: RoomCodec;
  /** Status notices are never posted here (QQ: an account that posts bot notices risks its standing). */
  readonly quietNotices?: boolean;
  /**
   * Raw failure texts this network's connector produces, mapped to the short safe label a public
   * room may be shown (first match wins). The raw text stays in the logs.
   */
  readonly failureReasons?: ReadonlyArray<readonly [RegExp, string]>;
  /**
   * Problems with files the raw section names (read only by `check-config` and at start), as
   * paths inside the section with a message each.
   */
  checkFiles?(section: unknown): Array<{ path: (string | number)[]; message: string }>;
  /** Loads the connector (and its libraries) and builds it from the validated section. */
  load(): Promise<(config: z.output<Section>, deps: NetworkDeps) => NetworkInstance>;
}
