/**
 * BridgeMessage <-> QQ parts and items, for the QQ adapter, whatever the backend. Pure: media is
 * resolved (downloaded or uploaded) by the adapter around these functions.
 */
import { faceIdOf, facePart, textToParts } from './faces.js';
import { plainText, type BridgeMessage, type ImagePart, type LinkPart, type MentionPart, type Part } from '../../core/message.js';
import type { QqForwardedMessage, QqPart } from './backend.js';
import type { OutgoingItem, ParsedContent } from './webqq/content.js';
import { webqqParts } from './webqq/parts.js';

/** Where each media part of a message ended up (the adapter fetched them first); undefined when it could not be fetched. */
export type ResolvedMedia = ImagePart | LinkPart | undefined;

export interface QqPartsContext {
  /** What each `image`/`file` part became, in order. */
  media?: readonly ResolvedMedia[];
  /** The name to show for a mentioned member (card, else nickname), when known. */
  memberName?(qq: number): string | undefined;
}

const FILE_MARKER = { record: '[语音]', video: '[视频]', file: '[文件]' } as const;

/** A forwarded bundle shows at most this many messages, each at most this long. */
const FORWARD_MAX_MESSAGES = 20;
const FORWARD_MAX_CHARS = 300;

/**
 * QQ parts → neutral parts. Pure: media is resolved by the adapter first (a picture that could
 * not be fetched is a text marker, never a lost message); mentions show the member's card.
 */
export function partsFromQqParts(qqParts: readonly QqPart[], ctx: QqPartsContext = {}): Part[] {
  const parts: Part[] = [];
  let media = 0;
  for (const p of qqParts) {
    switch (p.type) {
      case 'text':
        parts.push(p.style ? { type: 'text', text: p.text, style: p.style } : { type: 'text', text: p.text });
        break;
      case 'face':
        parts.push(facePart(p.id));
        break;
      case 'at':
        parts.push({ type: 'mention', userId: String(p.qq), name: ctx.memberName?.(p.qq) ?? p.name ?? String(p.qq) });
        break;
      case 'at-all':
        parts.push({ type: 'text', text: '@全体成员' });
        break;
      case 'image': {
        const got = ctx.media?.[media++];
        parts.push(got ?? { type: 'text', text: '[图片]' });
        break;
      }
      case 'file': {
        const got = ctx.media?.[media++];
        const marker = p.name ? `${FILE_MARKER[p.kind]} ${p.name}` : FILE_MARKER[p.kind];
        parts.push(got && got.type === 'link' ? { ...got, text: marker } : { type: 'text', text: marker });
        break;
      }
      case 'card':
        parts.push(p.url ? { type: 'link', url: p.url, text: p.title } : { type: 'text', text: p.title });
        break;
      case 'forward':
        parts.push({ type: 'text', text: forwardText(p.messages, p.truncated) });
        break;
    }
  }
  return parts;
}

function forwardText(messages: readonly QqForwardedMessage[], truncated = false): string {
  const lines = ['[转发消息]'];
  for (const m of messages.slice(0, FORWARD_MAX_MESSAGES)) {
    let text = plainText(partsFromQqParts(m.parts)).replace(/\s*\n\s*/g, ' ');
    if (text.length > FORWARD_MAX_CHARS) text = `${text.slice(0, FORWARD_MAX_CHARS)}…`;
    lines.push(`> ${m.sender}: ${text}`);
  }
  if (truncated || messages.length > FORWARD_MAX_MESSAGES) lines.push('> …');
  return lines.join('\n');
}

/** WebQQ content → neutral parts (pictures resolved in order, as `partsFromQqParts` takes them). */
export function partsFromQq(parsed: ParsedContent, pictures: readonly (ImagePart | undefined)[] = []): Part[] {
  return partsFromQqParts(webqqParts(parsed), { media: pictures });
}

/** An item still to be turned into a QQ picture (uploaded) or, failing that, a link. */
export interface PendingImage {
  type: 'image';
  part: ImagePart;
}

/** A mention of a member of the target group, sent as a native QQ mention (`at`). */
export interface QqMentionItem {
  type: 'at';
  qq: number;
  name: string;
}

export type QqRenderItem = OutgoingItem | PendingImage | QqMentionItem;

export interface RenderOptions {
  /** The QQ member a mention means in the target room, when the backend can mention natively. */
  member?(mention: MentionPart): number | undefined;
}

/**
 * Neutral message -> QQ items. The bridge speaks in QQ as one account, so everything that is not
 * the bridge's own notice carries its sender: `[nick] text`, or `* nick text` for actions. Faces
 * written as `[微笑]` or as their emoji become real QQ faces.
 */
export function renderForQq(msg: BridgeMessage, opts: RenderOptions = {}): QqRenderItem[] {
  const out: QqRenderItem[] = [];
  const prefix = qqSenderPrefix(msg);
  if (prefix) out.push({ type: 'text', text: prefix });

  const pushText = (text: string) => {
    for (const p of textToParts(text, { emoji: true })) {
      if (p.type === 'emoji') {
        const id = faceIdOf(p);
        if (id !== undefined) out.push({ type: 'face', id });
        else appendText(out, p.text);
      }
      else if (p.type === 'text') appendText(out, p.text);
    }
  };
  for (const part of msg.parts) {
    switch (part.type) {
      case 'text':
        pushText(part.text);
        break;
      case 'emoji': {
        const id = faceIdOf(part);
        if (id !== undefined) out.push({ type: 'face', id });
        else pushText(part.text);
        break;
      }
      case 'mention': {
        const qq = opts.member?.(part);
        if (qq !== undefined) out.push({ type: 'at', qq, name: part.name });
        else appendText(out, `@${part.name}`);
        break;
      }
      case 'link':
        appendText(out, part.text && part.text !== part.url ? `${part.text} (${part.url})` : part.url);
        break;
      case 'image':
        out.push({ type: 'image', part });
        break;
    }
  }
  return out;
}

function appendText(out: QqRenderItem[], text: string): void {
  const last = out[out.length - 1];
  if (last && last.type === 'text') last.text += text;
  else out.push({ type: 'text', text });
}

/**
 * What opens a message on QQ. Only the bridge's own notices (`fromBridge`) go bare: a notice from
 * a person (an IRC NOTICE, a Matrix redaction) is named too, or anyone could post text that passes
 * for the bridge's status. A join or topic change degraded to a notice already opens with the
 * nick (`alice joined`): it gets the action's `* ` instead of the nick twice.
 */
export function qqSenderPrefix(msg: BridgeMessage): string {
  if (msg.fromBridge) return '';
  const nick = oneLine(msg.origin.sender.displayName);
  if (msg.kind === 'action') return `* ${nick} `;
  if (msg.kind !== 'message' && opensWithNick(msg)) return '* ';
  return `[${nick}] `;
}

/** The first part is text starting with the sender's display name. */
export function opensWithNick(msg: BridgeMessage): boolean {
  const first = msg.parts[0];
  const name = msg.origin.sender.displayName;
  return name !== '' && first?.type === 'text' && first.text.startsWith(name);
}

function oneLine(s: string): string {
  return s.replace(/[\r\n\u0000-\u001f]+/g, ' ').trim() || '?';
}

/** Where an upload failed: the picture travels as its media URL (or a plain marker). */
export function imageAsText(part: ImagePart): string {
  return part.url ? `[图片] ${part.url}` : '[图片]';
}
