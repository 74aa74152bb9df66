/**
 * A QQ send that fails part-way is retried by the outbox without losing or repeating anything:
 * a send answered with HTTP 502 (nothing delivered) goes out again, once; a long message split
 * into three pieces whose second piece fails arrives as exactly three pieces, in order.
 * The long messages come from Telegram (an IRC line is too short to need three QQ pieces).
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { startHarness, telegramYaml, type Harness } from './harness.js';
import { FakeTelegram } from '../fakes/telegram.js';

const TOKEN = '123456:AAretryTOKEN_value-xyz';
const CHAT = -1004321;
const ALICE = { id: 4242, first_name: 'Alice' };

let h: Harness;
let tg: FakeTelegram;
beforeAll(async () => {
  tg = await new FakeTelegram({ token: TOKEN }).start();
  h = await startHarness({
    channel: '#qq-retry',
    extraYaml: telegramYaml(tg.apiRoot, TOKEN, CHAT),
  });
});
afterAll(async () => {
  await h?.close();
  await tg?.stop();
});
beforeEach(async () => {
  await h.qq.call('DELETE', '/sent');
});

it('a QQ send answered with HTTP 502 is sent again and arrives once', async () => {
  await h.qq.fault({ send: { http: 502 } });
  tg.message(CHAT, ALICE, { text: 'through the gateway error' });
  const sent = await h.qq.waitForSent('the message in QQ', (s) => s.some((x) => x.text.includes('through the gateway error')), 15_000);
  await new Promise((r) => setTimeout(r, 1500));
  const all = (await h.qq.sent()).filter((s) => s.text.includes('through the gateway error'));
  expect(all).toHaveLength(1);
  expect(sent.length).toBeGreaterThanOrEqual(1);
  expect(await h.qq.violations()).toEqual([]);
}, 30_000);

it('a 3-piece QQ message whose 2nd piece fails once arrives as exactly 3 pieces, in order', async () => {
  const body = Array.from({ length: 220 }, (_, i) => `长${String(i).padStart(3, '0')}`).join(' '); // ~1500 bytes
  const text = `piece-test ${body} end-of-long`;
  await h.qq.fault({ send: { http: 502, after: 1 } });
  tg.message(CHAT, ALICE, { text });
  const sent = await h.qq.waitForSent('the last piece in QQ', (s) => s.some((x) => x.text.includes('end-of-long')), 15_000);
  await new Promise((r) => setTimeout(r, 1500));
  const all = (await h.qq.sent()).filter((s) => s.group !== undefined);
  expect(all).toHaveLength(3);
  expect(all.map((s) => s.msg_id)).toEqual([...all.map((s) => s.msg_id)].sort((a, b) => a - b));
  const joined = all.map((s) => s.text).join('');
  expect(joined).toContain(text);
  expect(joined.indexOf('piece-test')).toBe(joined.lastIndexOf('piece-test'));
  expect(sent.length).toBeGreaterThanOrEqual(3);
  expect(await h.qq.violations()).toEqual([]);
}, 30_000);
