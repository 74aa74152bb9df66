/**
 * Pictures QQ would refuse for their dimensions are scaled down before sending. QQ fails a very
 * large picture as "rich media transfer failed" (a 43220 × 3068 PNG: NapNeko/NapCatQQ#1443; its
 * own client sends such a picture as a file instead), a bad request that drops the message. The
 * bound is chosen with margin: the longest side at most 4096 px.
 *
 * PNG and JPEG are decoded and re-encoded with the pure-JS pngjs and jpeg-js (already
 * dependencies), area-averaged so thin lines survive. They hold the whole bitmap in memory
 * (4 bytes a pixel) and decode on the event loop, so a picture over MAX_DECODE_PIXELS, or another format (GIF, WebP), is not
 * scaled: the caller sends its media link instead. (libvips through `sharp` would scale any of
 * them in a bounded amount of memory.)
 */
import { createRequire } from 'node:module';
import type JpegJs from 'jpeg-js';
import type PngJs from 'pngjs';
import { imageSize } from '../../media/image-size.js';

// Loaded on the first picture that needs scaling, not at start-up: pngjs brings zlib and streams
// with it (~0.3 MB of idle RSS, measured, for a bridge that may never scale a picture).
const require = createRequire(import.meta.url);
let codecs: { jpeg: typeof JpegJs; PNG: typeof PngJs.PNG } | undefined;
function loadCodecs(): NonNullable<typeof codecs> {
  codecs ??= { jpeg: require('jpeg-js') as typeof JpegJs, PNG: (require('pngjs') as typeof PngJs).PNG };
  return codecs;
}

export const QQ_MAX_SIDE = 4096;
/**
 * 16 MP: the most the bridge decodes to scale one picture. Measured: an 8000 × 3000 PNG (24 MP)
 * took +307 MB RSS at peak and 5.8 s of the event loop on the test machine; pure JS is no tool
 * for more.
 */
export const MAX_DECODE_PIXELS = 16_000_000;

export type FitResult =
  | { kind: 'as-is' }
  | { kind: 'scaled'; data: Buffer; mime: string; width: number; height: number; from: { width: number; height: number } }
  /** Too large for QQ and not scalable here: send the link. */
  | { kind: 'too-large'; width: number; height: number };

export function fitForQq(data: Uint8Array, maxSide = QQ_MAX_SIDE): FitResult {
  const size = imageSize(data);
  if (!size || Math.max(size.width, size.height) <= maxSide) return { kind: 'as-is' };
  const { width, height } = size;
  if (width * height > MAX_DECODE_PIXELS || (size.format !== 'png' && size.format !== 'jpeg')) return { kind: 'too-large', width, height };
  const scale = maxSide / Math.max(width, height);
  const tw = Math.max(1, Math.round(width * scale));
  const th = Math.max(1, Math.round(height * scale));
  try {
    const { jpeg, PNG } = loadCodecs();
    if (size.format === 'png') {
      const src = PNG.sync.read(Buffer.from(data));
      const out = new PNG({ width: tw, height: th });
      downscale(src.data, width, height, out.data, tw, th);
      return { kind: 'scaled', data: PNG.sync.write(out), mime: 'image/png', width: tw, height: th, from: { width, height } };
    }
    const src = jpeg.decode(data, { useTArray: true, maxResolutionInMP: MAX_DECODE_PIXELS / 1e6, maxMemoryUsageInMB: 512 });
    const outData = Buffer.alloc(tw * th * 4);
    downscale(src.data, src.width, src.height, outData, tw, th);
    return { kind: 'scaled', data: Buffer.from(jpeg.encode({ data: outData, width: tw, height: th }, 85).data), mime: 'image/jpeg', width: tw, height: th, from: { width, height } };
  } catch {
    // A header that promised more than the file holds: not scalable, but still worth a link.
    return { kind: 'too-large', width, height };
  }
}

/** Area average of RGBA pixels: each target pixel is the mean of the source box it covers. */
export function downscale(src: Uint8Array, sw: number, sh: number, dst: Uint8Array, tw: number, th: number): void {
  for (let ty = 0; ty < th; ty++) {
    const y0 = Math.floor((ty * sh) / th);
    const y1 = Math.max(y0 + 1, Math.floor(((ty + 1) * sh) / th));
    for (let tx = 0; tx < tw; tx++) {
      const x0 = Math.floor((tx * sw) / tw);
      const x1 = Math.max(x0 + 1, Math.floor(((tx + 1) * sw) / tw));
      let r = 0, g = 0, b = 0, a = 0;
      for (let y = y0; y < y1; y++) {
        let i = (y * sw + x0) * 4;
        for (let x = x0; x < x1; x++, i += 4) {
          r += src[i]!;
          g += src[i + 1]!;
          b += src[i + 2]!;
          a += src[i + 3]!;
        }
      }
      const n = (y1 - y0) * (x1 - x0);
      const o = (ty * tw + tx) * 4;
      dst[o] = Math.round(r / n);
      dst[o + 1] = Math.round(g / n);
      dst[o + 2] = Math.round(b / n);
      dst[o + 3] = Math.round(a / n);
    }
  }
}
