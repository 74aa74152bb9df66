/**
 * What a QQ backend (WebQQ, OneBot, Milky, …) gives the QQ adapter (`connector.ts`). A backend
 * speaks one protocol and reports what its implementation said, in QQ terms: rooms by group
 * number, people by QQ number, messages as QQ-level parts. It knows nothing of the bridge's
 * message model, the store, the media store or the terminal; the adapter above it turns these
 * events into bridge messages, decides what a failure means for the account, and is the one
 * place every send goes through (so pacing and risk control can live there).
 */
import type { Logger } from '../../log.js';
import type { TextStyle } from '../../core/message.js';

// Room strings have one owner (rooms.ts); backends see the same QqRoom.
import { parseQqRoom, qqRoomId, type QqRoom } from './rooms.js';
export { parseQqRoom, qqRoomId as qqRoomKey, type QqRoom };

// ---- state -------------------------------------------------------------------------------

/**
 * - `connecting`: first connection or login in progress.
 * - `online`: events flow and sends are accepted.
 * - `relinking`: the session is being replaced or the transport reconnected; sends are held.
 * - `offline`: not connected (stopped, gave up, or the QQ account itself is logged out).
 * - `auth-failed`: the implementation refused our credentials (token); retried slowly.
 * - `kicked`: the account was forced offline by another login; no automatic re-login.
 */
export type QqBackendState = 'connecting' | 'online' | 'relinking' | 'offline' | 'auth-failed' | 'kicked';

export const QQ_BACKEND_STATES: readonly QqBackendState[] = ['connecting', 'online', 'relinking', 'offline', 'auth-failed', 'kicked'];

export interface QqStateChange {
  state: QqBackendState;
  /** Why, in words for the operator (a kick reason, "token refused", "socket silent for 60 s"). */
  reason?: string;
}

// ---- contacts ----------------------------------------------------------------------------

export interface QqGroup {
  /** The group number; a WebQQ group whose number could not be resolved yet has none. */
  number?: number;
  name: string;
  /** The group's memo (announcement), where the backend reads one (WebQQ). */
  memo?: string;
  /** The backend's id for the group in this session (WebQQ's gid; the number elsewhere). */
  sessionId: string;
  memberCount?: number;
}

export interface QqDiscussion {
  name: string;
  sessionId: string;
}

export type QqRole = 'owner' | 'admin' | 'member';

export interface QqMember {
  qq: number;
  nickname: string;
  /** The group card (群名片), when the member set one. */
  card?: string;
  role?: QqRole;
}

// ---- inbound -----------------------------------------------------------------------------

/** Where a media item can be fetched from: the backend's own reference, opaque to the adapter. */
export interface QqMediaRef {
  /** A plain URL the item can be downloaded from, when the protocol gives one. */
  url?: string;
  /** Whatever else the backend needs to fetch it (WebQQ's image ref, a OneBot file id). */
  handle?: unknown;
}

/** A message's content, in QQ terms. */
export type QqPart =
  | { type: 'text'; text: string; style?: TextStyle }
  /** A QQ system face by its id (the shared face table). */
  | { type: 'face'; id: number }
  /** A mention; `name` is what the implementation showed, when it showed anything. */
  | { type: 'at'; qq: number; name?: string }
  | { type: 'at-all' }
  /** A picture (or a sticker, shown as a picture). */
  | { type: 'image'; ref: QqMediaRef; name?: string; mime?: string; size?: number; sticker?: boolean }
  /** Voice, video or a file: bridged as a link on the media server. */
  | { type: 'file'; kind: 'record' | 'video' | 'file'; ref: QqMediaRef; name?: string; size?: number }
  /** A rich card (json/xml app message): its title and link. */
  | { type: 'card'; title: string; url?: string }
  /** A forwarded bundle, already expanded (bounded) by the backend. */
  | { type: 'forward'; messages: QqForwardedMessage[]; truncated?: boolean };

export interface QqForwardedMessage {
  sender: string;
  parts: QqPart[];
}

export interface QqSender {
  /** The sender's QQ number; unknown (WebQQ without a resolvable number) when undefined. */
  qq?: number;
  /** A stable id to use when the number is unknown (WebQQ's per-session uin). */
  fallbackId?: string;
  nickname?: string;
  card?: string;
  role?: QqRole;
  /**
   * The sender's picture when only this session can fetch it (WebQQ's face URLs need its cookies):
   * the adapter copies it into the media store once per QQ number.
   */
  avatar?: () => Promise<{ data: Buffer; mime: string }>;
}

export type QqInboundEvent =
  | {
      type: 'message';
      room: QqRoom;
      /** Identifies the message for dedupe and the message map (unique within the room). */
      nativeId: string;
      sender: QqSender;
      parts: QqPart[];
      /** The native id of the message this one replies to, as the message map knows it. */
      replyTo?: string;
      /** Milliseconds since the epoch. */
      time: number;
    }
  | {
      type: 'member';
      change: 'join' | 'leave';
      room: QqRoom;
      nativeId: string;
      member: { qq?: number; name?: string };
      time: number;
    }
  | {
      type: 'recall';
      room: QqRoom;
      /** Native id of the message that was recalled. */
      nativeId: string;
      operator?: number;
      time: number;
    };

// ---- outbound ----------------------------------------------------------------------------

/** What the adapter asks a backend to send: user text only ever in `text` items. */
export type QqOutItem =
  | { type: 'text'; text: string }
  | { type: 'face'; id: number }
  /** Picture bytes; with `fallbackText`, a picture the backend cannot send travels as that text. */
  | { type: 'image'; data: Buffer; mime: string; name?: string; fallbackText?: string }
  /** A mention of a group member; a backend without mentions writes `@name`. */
  | { type: 'at'; qq: number; name: string }
  /** Reply to this native message id; a backend without replies ignores it. */
  | { type: 'reply'; id: string };

export interface QqSendOptions {
  /**
   * Remote ids an earlier attempt of this same message got out (from its QqSendError.sentIds):
   * the backend splits the same way and sends only the pieces after them.
   */
  alreadySent?: readonly string[];
  /** Told, durably, the remote ids sent so far between the pieces of a split message. */
  onPiece?: (sentIds: readonly string[]) => Promise<void>;
}

/**
 * Why a send failed, as far as the backend can tell from its implementation's answer; the
 * adapter decides what it means for the account (see `failures.ts`).
 * - `bad-request`: the implementation refused this message itself (malformed, too long);
 * - `not-in-room`: the account is not in that group / discussion;
 * - `offline`: the QQ account is logged out or kicked;
 * - `refused`: risk control, muted, rate limited;
 * - `transient`: timeouts, dropped connections, server errors.
 */
export type QqFailure = 'bad-request' | 'not-in-room' | 'offline' | 'refused' | 'transient';

export class QqSendError extends Error {
  readonly failure: QqFailure;
  /** Remote ids of the pieces that went out before the failure. */
  readonly sentIds: readonly string[];
  /** What the implementation answered, for logs and the classification table. */
  readonly code: string | number | undefined;

  constructor(failure: QqFailure, message: string, opts: { sentIds?: readonly string[]; code?: string | number; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'QqSendError';
    this.failure = failure;
    this.sentIds = opts.sentIds ?? [];
    this.code = opts.code;
  }
}

// ---- the backend -------------------------------------------------------------------------

/** What the adapter gives a backend when it starts. */
export interface QqBackendContext {
  log: Logger;
  /** Hands an inbound event over; resolves once it is durably accepted (then the backend may forget it). */
  onEvent(e: QqInboundEvent): Promise<void>;
  onState(change: QqStateChange): void;
  /** For metrics: protocol conditions worth counting (`retcode:<n>`, `timeout`, `reconnect`, …). */
  onCondition?(what: string): void;
  /**
   * Catch-up after a reconnect: the native id of the newest message the bridge relayed from this
   * room, so a backend that can read history asks for what came after it.
   */
  lastRelayed?(room: QqRoom): Promise<string | undefined>;
  /**
   * True when the bridge already knows this message (relayed it from QQ, or sent it there): after
   * a restart, where a backend's catch-up may start.
   */
  wasRelayed?(room: QqRoom, nativeId: string): Promise<boolean>;
  /** The rooms the bridge links (member lists are loaded for these, catch-up runs for these). */
  mappedRooms?(): QqRoom[];
}

/** What a backend can do beyond sending text; the adapter derives the connector's capabilities. */
export interface QqBackendFeatures {
  replies: boolean;
  mentions: boolean;
  recall: boolean;
  discussions: boolean;
  /**
   * The longest text a joined backlog message may have (qq.pacing.coalesceAfter), so it goes as
   * one QQ message; default 4500 UTF-16 units (QQ NT's limit is about 5000 characters).
   */
  joinLimit?: { length: number; unit: 'utf16' | 'utf8' };
  /** One-to-one chats (the `private` room): received, and answered to the QQ number a send names. */
  privateChats?: boolean;
}

export interface QqBackend {
  /** The protocol name, as in `qq.protocol`. */
  readonly protocol: string;
  readonly features: QqBackendFeatures;
  /** Connects (or logs in) and resolves once online, or throws when it cannot start at all. */
  start(ctx: QqBackendContext): Promise<void>;
  stop(): Promise<void>;
  /** Stops taking events (graceful shutdown); events already handed over complete; sends keep working. */
  stopInput(): Promise<void>;
  state(): QqBackendState;
  /** The logged-in account, once known. */
  self(): { qq: number; nickname?: string } | undefined;
  groups(): QqGroup[];
  /**
   * One group with what loads late (WebQQ reads a group's memo with its member list, after login):
   * loaded now when it has not been. Backends whose `groups()` is complete need not have it.
   */
  groupDetails?(group: number): Promise<QqGroup | undefined>;
  discussions(): QqDiscussion[];
  /** The members of a group as last read, or undefined when not loaded. */
  members(group: number): QqMember[] | undefined;
  /** Re-reads groups (and members of the groups the adapter cares about). */
  refreshContacts(): Promise<void>;
  /** Sends one message (the backend splits long text); resolves to every remote id it created, in order. */
  send(room: QqRoom, items: QqOutItem[], opts?: QqSendOptions): Promise<string[]>;
  /**
   * Recalls a message (features.recall): the account's own, or a member's where it is an admin.
   * Throws a QqSendError: `bad-request` when QQ refused this recall (final), else retryable.
   */
  recall?(room: QqRoom, nativeId: string): Promise<void>;
  /** Downloads a media item an inbound event referred to. */
  fetchMedia?(ref: QqMediaRef): Promise<{ data: Buffer; mime: string; name?: string }>;
  /** A public URL of a member's avatar, for ghosts. */
  avatarUrl?(qq: number): string | undefined;
  /** A public URL of a group's picture, for portal rooms. */
  groupAvatarUrl?(group: number): string | undefined;
  /** A group's picture, where it can be fetched only inside the session (WebQQ). */
  groupAvatar?(group: number): Promise<{ data: Buffer; mime: string }>;
}
