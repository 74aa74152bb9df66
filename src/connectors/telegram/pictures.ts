/**
 * How a picture goes to Telegram, decided before sending from its bytes (Bot API, sendPhoto): a
 * photo is at most 10 MB, its width + height at most 10,000 px and its aspect ratio at most 20,
 * else Telegram answers PHOTO_INVALID_DIMENSIONS or PHOTO_SAVE_FILE_INVALID. Such a picture goes
 * as a document (a file, shown whole, up to 50 MB uploaded by a bot); beyond that, as the media
 * server's link. Pure.
 */
import { imageSize } from '../../media/image-size.js';

export const PHOTO_MAX_BYTES = 10 * 1024 * 1024;
export const UPLOAD_MAX_BYTES = 50 * 1024 * 1024;
export const PHOTO_MAX_SIDES = 10_000;
export const PHOTO_MAX_RATIO = 20;

export type PictureMode = 'photo' | 'document' | 'link';

export function telegramPictureMode(data: Uint8Array): PictureMode {
  if (data.length > UPLOAD_MAX_BYTES) return 'link';
  if (data.length > PHOTO_MAX_BYTES) return 'document';
  const size = imageSize(data);
  if (!size) return 'photo';
  const { width: w, height: h } = size;
  if (w + h > PHOTO_MAX_SIDES || Math.max(w, h) / Math.min(w, h) > PHOTO_MAX_RATIO) return 'document';
  return 'photo';
}
