/**
 * Pictures Telegram would refuse as photos (Bot API sendPhoto: ≤ 10 MB, width + height ≤ 10000,
 * ratio ≤ 20) go as documents; over the 50 MB upload limit, as the media server's link. Through a
 * Relay and the fake Bot API, which refuses such photos the way Telegram does.
 */
import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { telegramPictureMode } from '../../../src/connectors/telegram/pictures.js';
import { waitFor } from '../../support/wait.js';
import { CHAT, QQ, TOKEN, useTelegramBridge } from './harness.js';

const setup = useTelegramBridge('qqbridge-tg-pic-');


/** A real PNG of these dimensions (the fake reads its header like Telegram would). */
const png = (width: number, height: number) => new Uint8Array(PNG.sync.write(new PNG({ width, height })));
/** A small PNG whose header claims these dimensions (all a sender or Telegram reads before deciding). */
const pngHeader = (width: number, height: number) => {
  const b = Buffer.from(PNG.sync.write(new PNG({ width: 2, height: 2 })));
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  return new Uint8Array(b);
};

describe('telegramPictureMode', () => {
  it('photo within the limits; document past the ratio, the side sum or 10 MB; link past 50 MB', () => {
    expect(telegramPictureMode(png(800, 600))).toBe('photo');
    expect(telegramPictureMode(png(2000, 100))).toBe('photo'); // ratio exactly 20
    expect(telegramPictureMode(png(2100, 100))).toBe('document');
    expect(telegramPictureMode(png(100, 2100))).toBe('document');
    expect(telegramPictureMode(pngHeader(5001, 5000))).toBe('document');
    expect(telegramPictureMode(pngHeader(5000, 5000))).toBe('photo');
    const big = new Uint8Array(10 * 1024 * 1024 + 1);
    big.set(png(10, 10));
    expect(telegramPictureMode(big)).toBe('document');
    expect(telegramPictureMode(new Uint8Array(50 * 1024 * 1024 + 1))).toBe('link');
    expect(telegramPictureMode(new Uint8Array([1, 2, 3]))).toBe('photo'); // unknown format: Telegram decides
  });
});

describe('pictures toward Telegram', () => {
  it('a long banner (ratio > 20) and a huge picture (sides > 10000) go as documents with their bytes and caption; a normal one as a photo', async () => {
    const { fake, qq, media, failures } = await setup();
    const normal = png(640, 480);
    const banner = png(4200, 150);
    const huge = pngHeader(6000, 4500);
    for (const [name, bytes] of [['normal', normal], ['banner', banner], ['huge', huge]] as const) {
      const { mediaId } = await media.put(bytes, 'image/png');
      await qq.inject(QQ.room, { sender: { id: '1', displayName: 'ann' }, parts: [{ type: 'image', mediaId, name: `${name}.png` }] });
    }
    await waitFor(() => fake.sentTo(CHAT).length === 3, 'three pictures', 15_000);
    const [a, b, c] = fake.sentTo(CHAT);
    expect(a).toMatchObject({ method: 'sendPhoto', caption: '<b>ann</b>' });
    expect(b).toMatchObject({ method: 'sendDocument', caption: '<b>ann</b>' });
    expect(Buffer.from(b!.document!)).toEqual(Buffer.from(banner));
    expect(c).toMatchObject({ method: 'sendDocument' });
    expect(Buffer.from(c!.document!)).toEqual(Buffer.from(huge));
    // Nothing was refused on the way: no PHOTO_INVALID_DIMENSIONS, no dropped message.
    expect(fake.calls.filter((m) => m === 'sendPhoto')).toHaveLength(1);
    expect(failures).toEqual([]);
  }, 30_000);

  it('the fake refuses such a photo as Telegram does (what the bridge avoids)', async () => {
    const { fake } = await setup();
    const form = new FormData();
    form.set('chat_id', String(CHAT));
    form.set('photo', new Blob([png(4200, 150)]), 'banner.png');
    const res = await fetch(`${fake.apiRoot}/bot${TOKEN}/sendPhoto`, { method: 'POST', body: form });
    expect(await res.json()).toEqual({ ok: false, error_code: 400, description: 'Bad Request: PHOTO_INVALID_DIMENSIONS' });
  });
});
