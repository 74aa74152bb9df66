/** WebQQ content → QQ-level parts (pure; shared by the backend and the format tests). */
import type { TextStyle } from '../../../core/message.js';
import type { QqPart } from '../backend.js';
import type { ImageRef } from './image-refs.js';
import type { ParsedContent, QqFont } from './content.js';

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

/**
 * Received content → QQ parts. `refs` are the event's picture refs in content order (`imageRefs`).
 * QQ puts one font on the whole message, so every text run carries the same style. Clients append
 * a trailing space and CRLF line ends; neither means anything to a reader.
 */
export function webqqParts(parsed: ParsedContent, refs: readonly ImageRef[] = []): QqPart[] {
  const style = styleFromFont(parsed.font);
  const parts: QqPart[] = [];
  let pic = 0;
  for (const item of parsed.items) {
    switch (item.type) {
      case 'text': {
        const text = item.text.replace(/\r\n?/g, '\n');
        parts.push(style ? { type: 'text', text, style } : { type: 'text', text });
        break;
      }
      case 'face':
        parts.push({ type: 'face', id: item.id });
        break;
      case 'cface':
      case 'offpic': {
        const ref = refs[pic++];
        parts.push({ type: 'image', ref: ref ? { handle: ref } : {} });
        break;
      }
    }
  }
  if (parsed.pictureStripped && parts.length === 0) parts.push({ type: 'text', text: '[图片]' });
  const last = parts[parts.length - 1];
  if (last && last.type === 'text') {
    last.text = last.text.replace(/[ \t]+$/, '');
    if (last.text === '') parts.pop();
  }
  return parts;
}
