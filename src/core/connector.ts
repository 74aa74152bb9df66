import type { Logger } from '../log.js';
import type { BridgeMessage, MessageKind } from './message.js';

/** What a network can carry; the relay degrades what a target cannot (see degrade.ts). */
export interface Capabilities {
  /** Styled text (bold/italic/underline/colour) survives. */
  formatting: boolean;
  /** `upload`: pictures are sent as pictures; `link`: only as a URL. */
  images: 'upload' | 'link';
  /** Native replies / quotes. */
  replies: boolean;
  /** Native edits. */
  edits: boolean;
  /**
   * Deletes a message it delivered (redaction, recall, deleteMessage). A target without it shows
   * a `delete` as a short notice (the delete's parts), or nothing when those are empty. Absent:
   * cannot.
   */
  deletes?: boolean;
  /** Message kinds the network shows natively; others become a short notice. */
  kinds: readonly MessageKind[];
  /** Rate limit applied per room by the outbox's token bucket. */
  rateLimit: { perSecond: number; burst: number };
  /**
   * How many sends to one room the outbox may have in flight at once (default 1). A connector
   * that sets more promises that sends take effect in the order they were started, and that a
   * send fails when one started before it did not get out.
   */
  pipeline?: number;
}

/** What the relay hands a connector when it starts. */
export interface ConnectorContext {
  log: Logger;
  /**
   * Hand an inbound message to the relay. Resolves once it is durably queued for every target.
   * While the store is unavailable the relay holds it in memory (bounded) and resolves once it is
   * written; `{ hold: false }` refuses at once instead (InputPausedError), for a source that keeps
   * the message itself until it is taken (an HTTP push answered 503).
   */
  receive(msg: BridgeMessage, opts?: { hold?: boolean }): Promise<void>;
  /**
   * (Optional only so hand-made test contexts need not have them; the relay always provides them.)
   * True while input is paused because the store is unavailable. A source that can leave work
   * with its server (a poll not made, a push answered 503) should, instead of fetching more.
   */
  inputPaused?(): boolean;
  /** Resolves when input is no longer paused (at once when it is not). */
  inputResumed?(): Promise<void>;
  /** Calls `fn(paused)` whenever input pauses or resumes. Returns an unsubscribe function. */
  onInputPaused?(fn: (paused: boolean) => void): () => void;
  media: MediaAccess;
  /** The remote ids this connector created for a bridge message in a room, for replies and edits. */
  remoteIdsFor(sourceId: string, room: string): Promise<string[]>;
  /** The bridge message id behind a remote id this or another network produced, if any. */
  sourceIdFor(room: string, remoteId: string): Promise<string | undefined>;
}

/** The content-addressed media store, as connectors see it. */
export interface MediaAccess {
  /** Stores bytes; returns the content-addressed id and, when a media server is configured, its public URL. */
  put(data: Uint8Array, mime: string): Promise<{ mediaId: string; url?: string }>;
  /** Stores a long text as a paste (for networks that cannot show it whole); returns its id and URL. */
  putText(text: string): Promise<{ mediaId: string; url?: string }>;
  get(mediaId: string): Promise<{ data: Uint8Array; mime: string } | undefined>;
  urlFor(mediaId: string): string | undefined;
}

/** A delivery request: which room, and the remote ids of referenced messages already resolved. */
export interface Delivery {
  room: string;
  message: BridgeMessage;
  /** Remote id (in this room) of the message `message.replyTo` points at, when known. */
  replyToRemoteId?: string;
  /** Remote ids (in this room) of the message `message.editOf` points at, when known. */
  editOfRemoteIds?: string[];
  /**
   * With a `delete`: the remote ids (in this room) of the message deleted, every piece of it. The
   * outbox hands a connector a `delete` only with these; it returns the ids of what it created
   * (a redaction event), or none. A connector that failed part-way may report the ids it did
   * delete in DeliveryError.remoteIds: the retry gets them back as `alreadySent`.
   */
  deleteOfRemoteIds?: string[];
  /**
   * Remote ids an earlier attempt of this delivery already created (a split message that failed
   * part-way, kept by the outbox across restarts): send only what is missing after them, and
   * return the ids of the whole message, these first.
   */
  alreadySent?: string[];
  /**
   * Records, durably, the pieces of a split message sent so far; a connector calls it between
   * pieces, before the next goes out, so a crash between them resends only what is missing.
   */
  piecesSent?(ids: readonly string[]): Promise<void>;
  /**
   * Stable across retries of the same delivery (the outbox is at-least-once): a network with
   * transaction ids (Matrix txnId) can use it to make a retried send a no-op.
   */
  idempotencyKey?: string;
}

/**
 * One network. A new network is one folder under src/connectors with a class implementing this.
 * `send` returns every remote id it created (a split message creates several) and throws a
 * DeliveryError to tell the outbox whether to retry.
 */
export interface Connector {
  readonly network: string;
  readonly capabilities: Capabilities;
  start(ctx: ConnectorContext): Promise<void>;
  stop(): Promise<void>;
  /**
   * Stop taking input from the network (graceful shutdown; the relay calls it before it stops
   * taking input, and may call it more than once). Resolves once what was already fetched has
   * been handed over; the connector stays able to send. For networks that take a message as
   * delivered once fetched or answered (QQ's long poll, Telegram's getUpdates offset and webhook
   * answer): a message fetched after the relay stops taking input would be lost. A network that
   * can be asked to resend (Telegram: a webhook answered 503) should be asked to.
   */
  stopInput?(): Promise<void>;
  send(delivery: Delivery): Promise<string[]>;
  /** Optional: joins several consecutive queued deliveries of one room into one send (see Joiner). */
  join?: Joiner;
  /** True while the connector can deliver; the outbox waits (and queues) while it is false. */
  isConnected(): boolean;
  /**
   * Optional: calls `fn` whenever isConnected() changes, so operations (metrics, status notices)
   * hear of it at once instead of at their next poll. Returns an unsubscribe function. A connector
   * without it is only polled.
   */
  onStateChange?(fn: (connected: boolean) => void): () => void;
}

/**
 * Several consecutive queued deliveries of one room sent as one message: a network whose account
 * is rate-limited joins a backlog to spend fewer sends. The outbox offers the head delivery and
 * those queued behind it, in order; `plan` answers how many of them, from the head, go together
 * (1: the head alone). The outbox records that choice durably before calling `send`, so a retry
 * or a restart after a crash sends exactly the same deliveries together, no more and no fewer;
 * once `send` resolves, each of them is marked delivered with the remote ids it returned.
 * `send` throws as Connector.send does and its error counts for the head; `alreadySent` of the
 * head delivery applies to the joined message. When a joined send is rejected, the outbox sends
 * them one by one instead, so only a bad one is dropped.
 */
export interface Joiner {
  /** Optional: resolves when a send to `room` could start now, so the plan sees the backlog as it is then. */
  ready?(room: string): Promise<void>;
  plan(deliveries: readonly Delivery[]): Promise<number>;
  send(deliveries: readonly Delivery[]): Promise<string[]>;
}
