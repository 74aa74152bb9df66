/** Reads the URL out of a ptqrshow PNG, so a caller can draw the code again in its own way. */
import { PNG } from 'pngjs';
import jsQRModule from 'jsqr';
import type { Logger } from '../../../log.js';

type JsQR = (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;

/** The text inside a QR PNG, or undefined when the image cannot be decoded. */
export function decodeQr(png: Buffer, log?: Logger): string | undefined {
  try {
    const img = PNG.sync.read(png);
    // jsqr is CommonJS with a `default` export: the ESM default import is the function itself
    // under Node and the module object under some bundlers.
    const mod = jsQRModule as unknown as JsQR & { default?: JsQR };
    const decode = typeof mod.default === 'function' ? mod.default : mod;
    return decode(new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.length), img.width, img.height)?.data;
  } catch (e) {
    log?.debug({ reason: (e as Error).message }, 'QR image could not be decoded');
    return undefined;
  }
}
