/**
 * The captcha image: the code drawn in a 5×7 bitmap font, scaled up, with light noise, encoded
 * as a JPEG like captcha.qq.com's (130×53). Letters that look alike (I, O, Q) are left out.
 */
import { randomInt } from 'node:crypto';
import jpeg from 'jpeg-js';

/** 5×7 glyphs, one string of 0/1 per row. */
export const FONT: Record<string, string[]> = {
  A: ['01110', '10001', '10001', '11111', '10001', '10001', '10001'],
  B: ['11110', '10001', '10001', '11110', '10001', '10001', '11110'],
  C: ['01110', '10001', '10000', '10000', '10000', '10001', '01110'],
  D: ['11110', '10001', '10001', '10001', '10001', '10001', '11110'],
  E: ['11111', '10000', '10000', '11110', '10000', '10000', '11111'],
  F: ['11111', '10000', '10000', '11110', '10000', '10000', '10000'],
  G: ['01110', '10001', '10000', '10111', '10001', '10001', '01111'],
  H: ['10001', '10001', '10001', '11111', '10001', '10001', '10001'],
  J: ['00111', '00010', '00010', '00010', '00010', '10010', '01100'],
  K: ['10001', '10010', '10100', '11000', '10100', '10010', '10001'],
  L: ['10000', '10000', '10000', '10000', '10000', '10000', '11111'],
  M: ['10001', '11011', '10101', '10101', '10001', '10001', '10001'],
  N: ['10001', '10001', '11001', '10101', '10011', '10001', '10001'],
  P: ['11110', '10001', '10001', '11110', '10000', '10000', '10000'],
  R: ['11110', '10001', '10001', '11110', '10100', '10010', '10001'],
  S: ['01111', '10000', '10000', '01110', '00001', '00001', '11110'],
  T: ['11111', '00100', '00100', '00100', '00100', '00100', '00100'],
  U: ['10001', '10001', '10001', '10001', '10001', '10001', '01110'],
  V: ['10001', '10001', '10001', '10001', '10001', '01010', '00100'],
  W: ['10001', '10001', '10001', '10101', '10101', '10101', '01010'],
  X: ['10001', '10001', '01010', '00100', '01010', '10001', '10001'],
  Y: ['10001', '10001', '01010', '00100', '00100', '00100', '00100'],
  Z: ['11111', '00001', '00010', '00100', '01000', '10000', '11111'],
};
const LETTERS = Object.keys(FONT).join('');

export const CAPTCHA_WIDTH = 130;
export const CAPTCHA_HEIGHT = 53;
/** Layout shared with readers of the image: glyph cell size and where glyph i starts. */
export const CAPTCHA_SCALE = 5;
export const CAPTCHA_TOP = 9;
export const captchaLeft = (i: number): number => 8 + i * 30;

export function newCaptchaCode(): string {
  let s = '';
  for (let i = 0; i < 4; i++) s += LETTERS[randomInt(LETTERS.length)];
  return s;
}

export function renderCaptcha(code: string): Buffer {
  const w = CAPTCHA_WIDTH;
  const h = CAPTCHA_HEIGHT;
  const data = Buffer.alloc(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    // pale background with speckles, like the real image's noise but never dark enough to read as ink
    const v = 235 + randomInt(20);
    data[i * 4] = v;
    data[i * 4 + 1] = v - randomInt(10);
    data[i * 4 + 2] = v;
    data[i * 4 + 3] = 255;
  }
  [...code].forEach((ch, i) => {
    const glyph = FONT[ch];
    if (!glyph) throw new Error(`captcha: no glyph for ${ch}`);
    glyph.forEach((row, y) =>
      [...row].forEach((bit, x) => {
        if (bit !== '1') return;
        for (let dy = 0; dy < CAPTCHA_SCALE; dy++)
          for (let dx = 0; dx < CAPTCHA_SCALE; dx++) {
            const px = captchaLeft(i) + x * CAPTCHA_SCALE + dx;
            const py = CAPTCHA_TOP + y * CAPTCHA_SCALE + dy;
            const o = (py * w + px) * 4;
            data[o] = 20;
            data[o + 1] = 40;
            data[o + 2] = 120;
          }
      }),
    );
  });
  return jpeg.encode({ data, width: w, height: h }, 85).data;
}
