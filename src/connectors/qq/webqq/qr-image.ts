/** Reads the URL out of a ptqrshow PNG, so a caller can draw the code again in its own way. */
import { createRequire } from 'node:module';
import type { PNG as PngType } from 'pngjs';
import type { Logger } from '../../../log.js';

type JsQR = (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;

/**
 * pngjs and jsqr are loaded on the first QR code, not with the client: a password login (and
 * every bridge that is already logged in) never needs them, and together they cost ~10 MB of RSS.
 * Both are CommonJS, so a synchronous require keeps this function synchronous.
 */
let libs: { PNG: typeof PngType; decode: JsQR } | undefined;
function load(): NonNullable<typeof libs> {
  if (!libs) {
    const require = createRequire(import.meta.url);
    // jsqr is CommonJS with a `default` export: the module object or the function itself.
    const mod = require('jsqr') as JsQR & { default?: JsQR };
    libs = { PNG: (require('pngjs') as { PNG: typeof PngType }).PNG, decode: typeof mod.default === 'function' ? mod.default : mod };
  }
  return libs;
}

/** The text inside a QR PNG, or undefined when the image cannot be decoded. */
export function decodeQr(png: Buffer, log?: Logger): string | undefined {
  try {
    const { PNG, decode } = load();
    const img = PNG.sync.read(png);
    return decode(new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.length), img.width, img.height)?.data;
  } catch (e) {
    log?.debug({ reason: (e as Error).message }, 'QR image could not be decoded');
    return undefined;
  }
}
