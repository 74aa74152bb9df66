/**
 * The Telegram Bot API answers a storm of 429 (Too Many Requests, retry_after) and then 5xx while
 * QQ messages stream to a linked Telegram chat: delivery slows down but every message arrives,
 * once, in order. Bound: exactly once — a refused sendMessage (429/5xx) posted nothing.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHarness, telegramYaml, type Harness } from '../e2e/harness.js';
import { FakeTelegram } from '../fakes/telegram.js';
import { expectExactlyOnce, numbersOf, range, sleep, stream } from './support.js';

const TOKEN = '123456:AAfaultTOKEN_value-xyz';
const CHAT = -1001234;

let h: Harness;
let tg: FakeTelegram;
beforeAll(async () => {
  tg = await new FakeTelegram({ token: TOKEN }).start();
  h = await startHarness({
    channel: '#qq-tg',
    extraYaml: telegramYaml(tg.apiRoot, TOKEN, CHAT),
  });
});
afterAll(async () => {
  await h?.close();
  await tg?.stop();
});

const received = () => numbersOf(tg.sentTo(CHAT).map((m) => m.text ?? ''), 'tg-q');

it('QQ -> Telegram through a 429 storm and 5xx: every message once, in order', async () => {
  const N = 30;
  const sendCalls = () => tg.calls.filter((c) => c === 'sendMessage').length;
  const callsBefore = sendCalls();
  await stream(range(N), 40, (n) => h.qq.say(`tg-q ${n}`), (n) => {
    if (n === 5) tg.fail(429, { method: 'sendMessage', count: 5, retryAfter: 1 });
    if (n === 18) tg.fail(500, { method: 'sendMessage', count: 1 });
    if (n === 19) tg.fail(502, { method: 'sendMessage', count: 1, description: 'Bad Gateway' });
  });
  const deadline = Date.now() + 40_000;
  while (!received().includes(N) && Date.now() < deadline) await sleep(50);
  await sleep(500);
  expectExactlyOnce(received(), range(N), 'QQ -> Telegram');
  // The faults were really met: 5 refusals of 429 and 2 of 5xx on top of one call per message.
  expect(sendCalls() - callsBefore).toBeGreaterThanOrEqual(N + 7);
  // The same messages reached IRC, undisturbed.
  expectExactlyOnce(numbersOf(h.irc.texts(), 'tg-q'), range(N), 'QQ -> IRC alongside');
}, 60_000);
