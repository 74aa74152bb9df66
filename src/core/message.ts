/**
 * The network-neutral message model. Every connector turns its native events into a
 * BridgeMessage and renders a BridgeMessage back into its native format; the relay in between
 * knows no network.
 */

/** Where a message lives: a network name ("qq", "irc", "matrix", "telegram") and that network's room id. */
export interface RoomRef {
  network: string;
  /** The connector's own room id: `group:346167134` / `discussion:good day` on QQ, `#chan` on IRC, `!id:hs` on Matrix, the chat id on Telegram. */
  room: string;
}

export interface Sender {
  /** Stable id on the origin network (QQ number, IRC nick, Matrix user id, Telegram user id). */
  id: string;
  /** The name to show in this room (on QQ, the group card when the member set one). */
  displayName: string;
  /** The account's own name, the same in every room (QQ nickname), when it differs from a per-room name or is known. */
  nickname?: string;
  /**
   * The origin connector says this sender is a person of its network whom other networks may
   * show as a puppet/ghost of their own (a stable numeric account, not a bot or a nick).
   */
  puppet?: boolean;
  /** A picture of the sender that other networks can fetch (a ghost's avatar), when the origin has one. */
  avatarUrl?: string;
}

/**
 * `delete`: the message `deleteOf` names was deleted (recalled, redacted) at the origin; its parts
 * are what a target that cannot delete shows instead (empty: such a target shows nothing).
 */
export type MessageKind = 'message' | 'action' | 'notice' | 'join' | 'leave' | 'rename' | 'topic' | 'delete';

export interface TextStyle {
  bold?: boolean;
  italic?: boolean;
  underline?: boolean;
  /** `rrggbb`, lower-case hex, no `#`. */
  color?: string;
}

export interface TextPart {
  type: 'text';
  text: string;
  style?: TextStyle;
}

/**
 * A network's own emoji or sticker-like symbol (a QQ system face): other networks show `text`
 * (the closest emoji, or `[name]`); `native` lets the network it came from send it back as itself.
 */
export interface EmojiPart {
  type: 'emoji';
  /** How a network without this symbol shows it: an emoji, or its name in brackets. */
  text: string;
  name?: string;
  native?: { network: string; id: string };
}

/**
 * A picture. Bytes never travel inside a message: the receiving connector puts them in the media
 * store and the part carries the content-addressed `mediaId` (and the public `url` where a media
 * server is configured); `url` alone is a remote picture nobody fetched yet.
 */
export interface ImagePart {
  type: 'image';
  mediaId?: string;
  url?: string;
  mime?: string;
  name?: string;
  size?: number;
  width?: number;
  height?: number;
}

export interface MentionPart {
  type: 'mention';
  /** The mentioned user's id on the origin network, when known. */
  userId?: string;
  name: string;
}

export interface LinkPart {
  type: 'link';
  url: string;
  text?: string;
}

export type Part = TextPart | EmojiPart | ImagePart | MentionPart | LinkPart;

export interface BridgeMessage {
  /** Globally unique id of this message at its origin: `<network>:<room>:<native id>`. */
  id: string;
  origin: RoomRef & { sender: Sender };
  kind: MessageKind;
  parts: Part[];
  /** The bridge id (`BridgeMessage.id`) of the message this one answers. */
  replyTo?: string;
  /** The bridge id of the message this one corrects. */
  editOf?: string;
  /** With kind `delete`: the bridge id of the message deleted (found through the message map, like `replyTo`). */
  deleteOf?: string;
  /** Milliseconds since the epoch, as the origin network reported it. */
  time: number;
  /**
   * Set by a connector when the sender is the bridge itself (its own bot or puppet/ghost
   * account): the relay drops such a message so the bridge never relays its own output back.
   */
  fromBridge?: boolean;
}

export function sourceId(network: string, room: string, nativeId: string | number): string {
  return `${network}:${room}:${nativeId}`;
}

/** Plain text of a message, emoji parts as their text, images as their URL: for logs, quotes and fallbacks. */
export function plainText(parts: readonly Part[]): string {
  return parts
    .map((p) => {
      switch (p.type) {
        case 'text':
          return p.text;
        case 'emoji':
          return p.text;
        case 'image':
          return p.url ?? '[image]';
        case 'mention':
          return `@${p.name}`;
        case 'link':
          return p.text && p.text !== p.url ? `${p.text} (${p.url})` : p.url;
      }
    })
    .join('');
}
