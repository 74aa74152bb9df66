/**
 * Pictures QQ refuses for their dimensions (NapNeko/NapCatQQ#1443) are scaled down before sending;
 * those that cannot be scaled here go as their media link. The pure part, then over the real
 * WebSocket to the OneBot simulator: the picture the QQ group receives is within the bound.
 */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { downscale, fitForQq, QQ_MAX_SIDE } from '../../../src/connectors/qq/pictures.js';
import { imageSize } from '../../../src/media/image-size.js';
import { waitFor } from '../../support/wait.js';
import { cleanupDirs, IRC_ROOM, startHarness, type Harness } from './onebot/harness.js';

/** A PNG: red with one white column every 100 px (area averaging keeps them visible, greyed). */
function png(width: number, height: number): Buffer {
  const p = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const white = x % 100 === 0;
      p.data[i] = 255;
      p.data[i + 1] = white ? 255 : 0;
      p.data[i + 2] = white ? 255 : 0;
      p.data[i + 3] = 255;
    }
  }
  return PNG.sync.write(p);
}

const jpg = (width: number, height: number) => Buffer.from(jpeg.encode({ data: Buffer.alloc(width * height * 4, 200), width, height }, 80).data);

describe('fitForQq', () => {
  it('leaves a picture within the bound (and unknown bytes) as they are', () => {
    expect(fitForQq(png(800, 600))).toEqual({ kind: 'as-is' });
    expect(fitForQq(Buffer.from('not a picture'))).toEqual({ kind: 'as-is' });
  });

  it('scales a long PNG down to the bound, keeping its aspect ratio and its colours', () => {
    const r = fitForQq(png(6000, 300));
    expect(r).toMatchObject({ kind: 'scaled', mime: 'image/png', width: QQ_MAX_SIDE, height: 205, from: { width: 6000, height: 300 } });
    if (r.kind !== 'scaled') throw new Error('not scaled');
    expect(imageSize(r.data)).toEqual({ format: 'png', width: QQ_MAX_SIDE, height: 205 });
    const out = PNG.sync.read(r.data);
    // Mostly red; the white columns survive as lighter pixels.
    expect([out.data[4 * 10], out.data[4 * 10 + 1]]).toEqual([255, 0]);
    const greens = Array.from({ length: QQ_MAX_SIDE }, (_, x) => out.data[x * 4 + 1]!);
    expect(greens.filter((g) => g > 0).length).toBeGreaterThanOrEqual(55);
  });

  it('scales a tall JPEG down to the bound', () => {
    const r = fitForQq(jpg(120, 5000), 1000);
    expect(r).toMatchObject({ kind: 'scaled', mime: 'image/jpeg', width: 24, height: 1000 });
    if (r.kind === 'scaled') expect(imageSize(r.data)).toEqual({ format: 'jpeg', width: 24, height: 1000 });
  });

  it('a GIF, or a picture too large to decode here, is "too large": the caller sends the link', () => {
    const gif = Buffer.alloc(13);
    gif.write('GIF89a', 0, 'latin1');
    gif.writeUInt16LE(9000, 6);
    gif.writeUInt16LE(200, 8);
    expect(fitForQq(gif)).toEqual({ kind: 'too-large', width: 9000, height: 200 });
    const claimed = png(2, 2);
    claimed.writeUInt32BE(43220, 16);
    claimed.writeUInt32BE(3068, 20);
    expect(fitForQq(claimed)).toEqual({ kind: 'too-large', width: 43220, height: 3068 });
  });

  it('downscale averages each box', () => {
    const src = new Uint8Array([0, 0, 0, 255, 100, 100, 100, 255, 200, 200, 200, 255, 50, 50, 50, 255]);
    const dst = new Uint8Array(8);
    downscale(src, 4, 1, dst, 2, 1);
    expect([...dst]).toEqual([50, 50, 50, 255, 125, 125, 125, 255]);
  });
});

const running: Harness[] = [];
afterEach(async () => {
  for (const h of running.splice(0)) {
    await h.stop();
    await h.sim.close();
  }
});
afterAll(() => cleanupDirs());

describe('pictures toward QQ over OneBot', () => {
  it('a 6000 px wide picture reaches the group scaled to the bound; one too large to scale arrives as its link', async () => {
    const h = await startHarness({ pacing: { intervalMs: 10, jitter: 0, burst: 5, coalesceAfter: 0 } });
    running.push(h);
    await waitFor(() => h.qq.isConnected(), 'QQ (OneBot) online', 5000);
    const wide = await h.media.put(png(6000, 300), 'image/png');
    await h.irc.inject(IRC_ROOM, { parts: [{ type: 'text', text: 'panorama: ' }, { type: 'image', mediaId: wide.mediaId, mime: 'image/png' }] });
    const claimed = png(2, 2);
    claimed.writeUInt32BE(43220, 16);
    claimed.writeUInt32BE(3068, 20);
    const huge = await h.media.put(claimed, 'image/png');
    await h.irc.inject(IRC_ROOM, { parts: [{ type: 'text', text: 'huge: ' }, { type: 'image', mediaId: huge.mediaId, mime: 'image/png' }] });
    await waitFor(() => h.sim.sends().length === 2, 'both messages in the group', 15_000);
    const [first, second] = h.sim.sends();
    const img = first!.segments.find((s) => s.type === 'image');
    const file = String((img!.data as { file: string }).file);
    expect(file.startsWith('base64://')).toBe(true);
    expect(imageSize(Buffer.from(file.slice('base64://'.length), 'base64'))).toEqual({ format: 'png', width: QQ_MAX_SIDE, height: 205 });
    expect(second!.segments.some((s) => s.type === 'image')).toBe(false);
    const text = second!.segments.map((s) => (s.data as { text?: string }).text ?? '').join('');
    expect(text).toBe(`[alice] huge: [图片] ${huge.url}`);
    expect(h.failures).toEqual([]);
    expect(h.sim.violations()).toEqual([]);
  }, 40_000);
});
