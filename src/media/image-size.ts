/**
 * A picture's format and dimensions from its first bytes (PNG, JPEG, GIF, WebP), without decoding
 * it: what a network refuses (too large, too long and thin) is decided before a byte is sent.
 * Pure; undefined when the bytes are not one of these formats or are cut short.
 */

export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'webp';

export interface ImageSize {
  format: ImageFormat;
  width: number;
  height: number;
}

export function imageSize(b: Uint8Array): ImageSize | undefined {
  if (b.length < 10) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  // PNG: signature, then the IHDR chunk (width, height: big-endian u32).
  if (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 && b.length >= 24) {
    if (ascii(b, 12, 4) !== 'IHDR') return undefined;
    return sized('png', dv.getUint32(16), dv.getUint32(20));
  }
  // GIF87a / GIF89a: logical screen width, height (little-endian u16).
  if (ascii(b, 0, 3) === 'GIF') return sized('gif', dv.getUint16(6, true), dv.getUint16(8, true));
  if (b[0] === 0xff && b[1] === 0xd8) return jpegSize(b, dv);
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP' && b.length >= 30) return webpSize(b, dv);
  return undefined;
}

function ascii(b: Uint8Array, at: number, n: number): string {
  return at + n <= b.length ? String.fromCharCode(...b.subarray(at, at + n)) : '';
}

function sized(format: ImageFormat, width: number, height: number): ImageSize | undefined {
  return width > 0 && height > 0 ? { format, width, height } : undefined;
}

/** Walks the JPEG markers to the first frame header (SOF0–SOF15 but DHT, JPG and DAC). */
function jpegSize(b: Uint8Array, dv: DataView): ImageSize | undefined {
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1]!;
    // Fill bytes, and markers without a length (TEM, RSTn).
    if (marker === 0xff) {
      i++;
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return undefined; // end of image / scan before a frame
    const len = dv.getUint16(i + 2);
    if (len < 2) return undefined;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (i + 9 > b.length) return undefined;
      return sized('jpeg', dv.getUint16(i + 7), dv.getUint16(i + 5));
    }
    i += 2 + len;
  }
  return undefined;
}

/** Lossy (VP8), lossless (VP8L) and extended (VP8X) WebP. */
function webpSize(b: Uint8Array, dv: DataView): ImageSize | undefined {
  const chunk = ascii(b, 12, 4);
  if (chunk === 'VP8 ') {
    // Frame tag (3 bytes), start code 9d 01 2a, then 14-bit width and height.
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) return undefined;
    return sized('webp', dv.getUint16(26, true) & 0x3fff, dv.getUint16(28, true) & 0x3fff);
  }
  if (chunk === 'VP8L') {
    if (b[20] !== 0x2f) return undefined;
    const bits = dv.getUint32(21, true);
    return sized('webp', (bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
  }
  if (chunk === 'VP8X') {
    const u24 = (at: number) => b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16);
    return sized('webp', u24(24) + 1, u24(27) + 1);
  }
  return undefined;
}
