/**
 * The MIME types the bridge stores and serves, and the one extension each is stored under. The
 * extension is the only place a file's type is recorded, so it must map back to exactly one
 * Content-Type. SVG is left out on purpose: served inline it can run script.
 */
const MIME_TO_EXT: ReadonlyMap<string, string> = new Map([
  ['image/png', 'png'],
  ['image/jpeg', 'jpg'],
  ['image/gif', 'gif'],
  ['image/webp', 'webp'],
  ['image/bmp', 'bmp'],
  ['image/x-icon', 'ico'],
  ['image/avif', 'avif'],
  ['text/plain', 'txt'],
  ['audio/ogg', 'ogg'],
  ['audio/mpeg', 'mp3'],
  ['audio/amr', 'amr'],
  ['video/mp4', 'mp4'],
]);

/** Aliases some networks send for the same types. */
const ALIASES: ReadonlyMap<string, string> = new Map([
  ['image/jpg', 'image/jpeg'],
  ['image/pjpeg', 'image/jpeg'],
  ['image/x-png', 'image/png'],
  ['image/x-ms-bmp', 'image/bmp'],
  ['image/vnd.microsoft.icon', 'image/x-icon'],
]);

const EXT_TO_MIME: ReadonlyMap<string, string> = new Map([...MIME_TO_EXT].map(([m, e]) => [e, m]));

/** `image/JPEG; foo=bar` → `image/jpeg`, with aliases resolved. */
export function normalizeMime(mime: string): string {
  const base = (mime.split(';')[0] ?? '').trim().toLowerCase();
  return ALIASES.get(base) ?? base;
}

/** The extension for an allowed MIME type, or undefined when the type is not allowed. */
export function extensionFor(mime: string): string | undefined {
  return MIME_TO_EXT.get(normalizeMime(mime));
}

/** The MIME type a stored extension stands for. */
export function mimeForExtension(ext: string): string | undefined {
  return EXT_TO_MIME.get(ext);
}

/** The Content-Type header to serve an extension with: text always carries its charset. */
export function contentTypeFor(ext: string): string | undefined {
  const mime = mimeForExtension(ext);
  return mime === 'text/plain' ? 'text/plain; charset=utf-8' : mime;
}

export const ALLOWED_MIME_TYPES: readonly string[] = [...MIME_TO_EXT.keys()];

/** A media id is `<sha256 hex>.<ext>`, nothing more: the only names that ever reach the file system. */
const MEDIA_ID = /^([0-9a-f]{64})\.([a-z0-9]{1,5})$/;

export function parseMediaId(id: string): { hash: string; ext: string; mime: string } | undefined {
  const m = MEDIA_ID.exec(id);
  if (!m) return undefined;
  const mime = mimeForExtension(m[2]!);
  return mime ? { hash: m[1]!, ext: m[2]!, mime } : undefined;
}
