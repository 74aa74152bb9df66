/** A picture to show as a Matrix avatar, fetched once and checked: bounded size, with its hash (to skip re-uploads). */
import crypto from 'node:crypto';

const MAX_AVATAR_BYTES = 2 * 1024 * 1024;

export interface FetchedAvatar {
  data: Uint8Array;
  mime: string;
  /** SHA-256 of the bytes, hex: the same picture is never uploaded twice. */
  hash: string;
}

export async function fetchAvatar(source: string): Promise<FetchedAvatar> {
  const res = await fetch(source, { signal: AbortSignal.timeout(15_000) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const data = new Uint8Array(await res.arrayBuffer());
  if (data.byteLength === 0 || data.byteLength > MAX_AVATAR_BYTES) throw new Error(`${data.byteLength} bytes`);
  return { data, mime: res.headers.get('content-type') ?? 'image/jpeg', hash: crypto.createHash('sha256').update(data).digest('hex') };
}
