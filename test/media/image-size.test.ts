import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { imageSize } from '../../src/media/image-size.js';

const png = (width: number, height: number) => PNG.sync.write(Object.assign(new PNG({ width, height }), {}));
const jpg = (width: number, height: number) => Buffer.from(jpeg.encode({ data: Buffer.alloc(width * height * 4, 128), width, height }, 80).data);

/** A GIF89a header and logical screen descriptor (what a real file starts with). */
const gif = (width: number, height: number) => {
  const b = Buffer.alloc(13);
  b.write('GIF89a', 0, 'latin1');
  b.writeUInt16LE(width, 6);
  b.writeUInt16LE(height, 8);
  return b;
};

const riff = (chunk: string, body: Buffer) => {
  const head = Buffer.alloc(20);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(12 + body.length, 4);
  head.write('WEBP', 8, 'latin1');
  head.write(chunk, 12, 'latin1');
  head.writeUInt32LE(body.length, 16);
  return Buffer.concat([head, body]);
};
// Lossy: frame tag, start code, 14-bit sizes (scale bits set, which must be masked off).
const vp8 = (w: number, h: number) => {
  const b = Buffer.alloc(10);
  b.set([0x9d, 0x01, 0x2a], 3);
  b.writeUInt16LE(w | 0x4000, 6);
  b.writeUInt16LE(h | 0x8000, 8);
  return riff('VP8 ', b);
};
const vp8l = (w: number, h: number) => {
  const b = Buffer.alloc(10);
  b[0] = 0x2f;
  b.writeUInt32LE(((w - 1) & 0x3fff) | (((h - 1) & 0x3fff) << 14), 1);
  return riff('VP8L', b);
};
const vp8x = (w: number, h: number) => {
  const b = Buffer.alloc(10);
  b.writeUIntLE(w - 1, 4, 3);
  b.writeUIntLE(h - 1, 7, 3);
  return riff('VP8X', b);
};

describe('imageSize', () => {
  it('reads PNG and JPEG dimensions from real encoded files', () => {
    expect(imageSize(png(37, 5))).toEqual({ format: 'png', width: 37, height: 5 });
    expect(imageSize(jpg(64, 24))).toEqual({ format: 'jpeg', width: 64, height: 24 });
  });

  it('reads a long PNG header without the pixels (a 30000 × 500 banner)', () => {
    const b = png(3, 2);
    b.writeUInt32BE(30000, 16);
    b.writeUInt32BE(500, 20);
    expect(imageSize(b.subarray(0, 33))).toEqual({ format: 'png', width: 30000, height: 500 });
  });

  it('reads GIF and the three WebP kinds', () => {
    expect(imageSize(gif(400, 300))).toEqual({ format: 'gif', width: 400, height: 300 });
    expect(imageSize(vp8(1024, 768))).toEqual({ format: 'webp', width: 1024, height: 768 });
    expect(imageSize(vp8l(16383, 2))).toEqual({ format: 'webp', width: 16383, height: 2 });
    expect(imageSize(vp8x(20000, 900))).toEqual({ format: 'webp', width: 20000, height: 900 });
  });

  it('is undefined for other bytes, cut-short headers and zero sizes', () => {
    expect(imageSize(Buffer.from('not a picture at all'))).toBeUndefined();
    expect(imageSize(png(4, 4).subarray(0, 20))).toBeUndefined();
    expect(imageSize(jpg(8, 8).subarray(0, 30))).toBeUndefined();
    expect(imageSize(gif(0, 10))).toBeUndefined();
    expect(imageSize(new Uint8Array())).toBeUndefined();
  });
});
