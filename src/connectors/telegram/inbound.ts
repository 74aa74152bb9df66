/**
 * A Telegram message → the neutral parts and sender, apart from the connector so that the
 * conversion reads on its own and the connector keeps only transport and hand-over.
 */
import type { Api } from 'grammy';
import type { Message, MessageEntity } from 'grammy/types';
import type { MediaAccess } from '../../core/connector.js';
import type { Part } from '../../core/message.js';
import { scrubSecrets, type Logger } from '../../log.js';
import type { TelegramConfig } from './config.js';
import { entitiesToParts } from './format.js';

const MAX_DOWNLOAD = 20 * 1024 * 1024;

export type StoredFile = { mediaId: string; url?: string };
/** Fetches one Telegram file into the media store; undefined when it cannot (quiet: no log line). */
export type FetchFile = (fileId: string, mime: string, size: number | undefined, quiet?: boolean) => Promise<StoredFile | undefined>;

export function senderOf(m: Message, mode: TelegramConfig['senderName']): { id: string; displayName: string } {
  if (m.sender_chat) return { id: String(m.sender_chat.id), displayName: m.sender_chat.title ?? 'channel' };
  const u = m.from;
  if (!u) return { id: 'unknown', displayName: 'unknown' };
  const name = mode === 'username' && u.username ? u.username : u.first_name;
  return { id: String(u.id), displayName: name || u.username || String(u.id) };
}

function forwardedFrom(m: Message): string | undefined {
  const o = m.forward_origin;
  if (!o) return undefined;
  switch (o.type) {
    case 'user':
      return [o.sender_user.first_name, o.sender_user.last_name].filter(Boolean).join(' ');
    case 'hidden_user':
      return o.sender_user_name;
    case 'chat':
      return o.sender_chat.title ?? 'a chat';
    case 'channel':
      return o.chat.title ?? 'a channel';
    default:
      return 'someone';
  }
}

/** The message's content as parts; empty for service messages (joins, pins, …), which are not bridged. */
export async function messageParts(m: Message, fetchFile: FetchFile): Promise<Part[]> {
  const parts: Part[] = [];
  const fwd = forwardedFrom(m);
  if (fwd) parts.push({ type: 'text', text: `[forwarded from ${fwd}] ` });

  if (m.photo && m.photo.length > 0) {
    const best = m.photo.reduce((a, b) => (b.width * b.height > a.width * a.height ? b : a));
    const stored = await fetchFile(best.file_id, 'image/jpeg', best.file_size);
    parts.push(
      stored
        ? { type: 'image', mediaId: stored.mediaId, ...(stored.url ? { url: stored.url } : {}), mime: 'image/jpeg', width: best.width, height: best.height }
        : { type: 'text', text: '[photo]' },
    );
  }
  if (m.sticker) {
    const s = m.sticker;
    const stored = !s.is_animated && !s.is_video ? await fetchFile(s.file_id, 'image/webp', s.file_size) : undefined;
    if (stored) parts.push({ type: 'image', mediaId: stored.mediaId, ...(stored.url ? { url: stored.url } : {}), mime: 'image/webp', width: s.width, height: s.height, name: 'sticker' });
    else parts.push({ type: 'text', text: s.emoji ?? '[sticker]' });
  }
  const file =
    (m.document && { what: 'file', name: m.document.file_name, f: m.document }) ||
    (m.video && { what: 'video', name: m.video.file_name, f: m.video }) ||
    (m.animation && { what: 'GIF', name: m.animation.file_name, f: m.animation }) ||
    (m.audio && { what: 'audio', name: m.audio.title ?? m.audio.file_name, f: m.audio }) ||
    (m.voice && { what: 'voice message', name: `${m.voice.duration}s`, f: m.voice }) ||
    (m.video_note && { what: 'video message', name: `${m.video_note.duration}s`, f: m.video_note }) ||
    undefined;
  if (file) {
    const marker = `[${file.what}${file.name ? `: ${file.name}` : ''}]`;
    const mime = 'mime_type' in file.f && file.f.mime_type ? file.f.mime_type : undefined;
    // The media store takes only the types it can serve safely; anything else stays a marker.
    const stored = mime ? await fetchFile(file.f.file_id, mime, file.f.file_size, true) : undefined;
    parts.push(stored?.url ? { type: 'link', url: stored.url, text: marker } : { type: 'text', text: marker });
  }
  if (m.location) parts.push({ type: 'text', text: `[location ${m.location.latitude},${m.location.longitude}]` });

  const body = m.text ?? m.caption;
  const entities: MessageEntity[] | undefined = m.text !== undefined ? m.entities : m.caption_entities;
  if (body) {
    if (parts.length > 0 && parts[parts.length - 1]!.type !== 'text') parts.push({ type: 'text', text: ' ' });
    parts.push(...entitiesToParts(body, entities));
  }
  return parts;
}

/** getFile + the file download path → media store. Undefined (and a log line unless quiet) when it cannot. */
export async function downloadFile(
  api: Api,
  config: Pick<TelegramConfig, 'apiRoot' | 'token'>,
  media: MediaAccess,
  log: Logger,
  fileId: string,
  mime: string,
  size: number | undefined,
  quiet = false,
): Promise<StoredFile | undefined> {
  if (size !== undefined && size > MAX_DOWNLOAD) return undefined;
  try {
    const f = await api.getFile(fileId);
    if (!f.file_path) return undefined;
    const res = await fetch(`${config.apiRoot}/file/bot${config.token}/${f.file_path}`);
    if (!res.ok) throw new Error(`file download answered HTTP ${res.status}`);
    const data = new Uint8Array(await res.arrayBuffer());
    return await media.put(data, mime);
  } catch (e) {
    if (!quiet) log.warn({ err: scrubSecrets(e instanceof Error ? e.message : String(e)), mime }, 'could not fetch a Telegram file; sending a marker instead');
    return undefined;
  }
}
