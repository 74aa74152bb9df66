/**
 * BridgeMessage <-> WebQQ content, for the QQ connector. Pure: pictures are resolved (downloaded
 * or uploaded) by the connector around these functions.
 */
import { faceIdOf, facePart, textToParts } from './faces.js';
import type { BridgeMessage, ImagePart, Part, TextStyle } from '../../core/message.js';
import type { OutgoingItem, ParsedContent, QqFont, ReceivedItem } from './webqq/content.js';

/** The QQ client's default look: a style only travels when the sender chose something else. */
const DEFAULT_COLOR = '000000';

export function styleFromFont(font: QqFont | undefined): TextStyle | undefined {
  if (!font) return undefined;
  const style: TextStyle = {};
  if (font.bold) style.bold = true;
  if (font.italic) style.italic = true;
  if (font.underline) style.underline = true;
  if (font.color && font.color !== DEFAULT_COLOR) style.color = font.color;
  return Object.keys(style).length > 0 ? style : undefined;
}

export type PictureItem = Extract<ReceivedItem, { type: 'cface' | 'offpic' }>;

export function pictureItems(parsed: ParsedContent): PictureItem[] {
  return parsed.items.filter((i): i is PictureItem => i.type === 'cface' || i.type === 'offpic');
}

/**
 * Received content -> neutral parts. `pictures` holds, in order, what each picture item became
 * (the connector downloads them first); a picture that could not be fetched is a text marker.
 * QQ puts one font on the whole message, so every text run carries the same style.
 */
export function partsFromQq(parsed: ParsedContent, pictures: readonly (ImagePart | undefined)[] = []): Part[] {
  const style = styleFromFont(parsed.font);
  const parts: Part[] = [];
  let pic = 0;
  for (const item of parsed.items) {
    switch (item.type) {
      case 'text': {
        // Clients append a trailing space and CRLF line ends; neither means anything to a reader.
        const text = item.text.replace(/\r\n?/g, '\n');
        parts.push(style ? { type: 'text', text, style } : { type: 'text', text });
        break;
      }
      case 'face':
        parts.push(facePart(item.id));
        break;
      case 'cface':
      case 'offpic': {
        const image = pictures[pic++];
        parts.push(image ?? { type: 'text', text: '[图片]' });
        break;
      }
    }
  }
  if (parsed.pictureStripped && parts.length === 0) parts.push({ type: 'text', text: '[图片]' });
  trimTrailingSpace(parts);
  return parts;
}

function trimTrailingSpace(parts: Part[]): void {
  const last = parts[parts.length - 1];
  if (last && last.type === 'text') {
    last.text = last.text.replace(/[ \t]+$/, '');
    if (last.text === '') parts.pop();
  }
}

/** An item still to be turned into a QQ picture (uploaded) or, failing that, a link. */
export interface PendingImage {
  type: 'image';
  part: ImagePart;
}

export type QqRenderItem = OutgoingItem | PendingImage;

/**
 * Neutral message -> QQ items. The bridge speaks in QQ as one account, so everything that is not
 * the bridge's own notice carries its sender: `[nick] text`, or `* nick text` for actions. Faces
 * written as `[微笑]` or as their emoji become real QQ faces.
 */
export function renderForQq(msg: BridgeMessage): QqRenderItem[] {
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
      case 'mention':
        appendText(out, `@${part.name}`);
        break;
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
