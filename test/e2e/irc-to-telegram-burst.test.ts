/**
 * IRC → Telegram bursts with limits raised, where the Telegram connector pipelines sendMessage
 * (up to 16 written on one connection before the first answer): a person on the real ngircd says
 * 300 lines at once and the fake Bot API must record each once, in order. Then a 429 in the middle
 * of a burst: the refused line may be overtaken only by what was already on the wire (at most
 * pipeline − 1 = 15 lines), everything else keeps its order, nothing is lost or doubled.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';
import { FakeTelegram } from '../fakes/telegram.js';
import { analyse, expectExactlyOnce, numbersOf, range } from '../faults/support.js';
import { waitFor } from '../support/wait.js';

const TOKEN = '123456:AAburstTOKEN_value-xyz';
const CHAT = -1009876;
const N = 300;
const PIPELINE = 16;

let h: Harness;
let tg: FakeTelegram;
beforeAll(async () => {
  tg = await new FakeTelegram({ token: TOKEN }).start();
  h = await startHarness({
    channel: '#qq-tg-burst',
    extraYaml: {
      top: ['telegram:', `  token: ${JSON.stringify(TOKEN)}`, `  apiRoot: ${JSON.stringify(tg.apiRoot)}`, '  rateLimit: { perSecond: 100000, burst: 100000 }'],
      link: [`    telegram: ${CHAT}`],
    },
  });
  // One line first: a chat is sent to one at a time until a send to it succeeded.
  h.human.say(h.channel, 'warm-up');
  await waitFor(() => tg.sentTo(CHAT).some((m) => (m.text ?? '').includes('warm-up')), 'the warm-up line on Telegram', 15_000);
});
afterAll(async () => {
  await h?.close();
  await tg?.stop();
});

const received = (tag: string) => numbersOf(tg.sentTo(CHAT).map((m) => m.text ?? ''), tag);

it(`a burst of ${N} IRC lines reaches Telegram pipelined, each once, in order`, async () => {
  for (const n of range(N)) h.human.say(h.channel, `tg-burst ${n}`);
  await waitFor(() => received('tg-burst').length >= N, `${N} lines on Telegram`, 30_000);
  await new Promise((r) => setTimeout(r, 300)); // late duplicates
  expectExactlyOnce(received('tg-burst'), range(N), 'IRC -> Telegram burst');
  // The sends did overlap on one connection, never deeper than the pipeline.
  expect(tg.maxPipelined).toBeGreaterThan(1);
  expect(tg.maxPipelined).toBeLessThanOrEqual(PIPELINE);
}, 60_000);

it('a 429 in the middle of a burst: retried after retry_after, overtaken by at most pipeline − 1 lines, the rest in order', async () => {
  const calls = () => tg.calls.filter((c) => c === 'sendMessage').length;
  const before = calls();
  const started = Date.now();
  // The 101st sendMessage of the burst is refused once.
  tg.fail(429, { method: 'sendMessage', count: 1, retryAfter: 1, after: 100 });
  for (const n of range(N)) h.human.say(h.channel, `tg-429 ${n}`);
  await waitFor(() => new Set(received('tg-429')).size >= N, `${N} lines on Telegram after the 429`, 30_000);
  await new Promise((r) => setTimeout(r, 300));
  const seen = received('tg-429');
  const r = analyse(seen, range(N));
  expect(r.missing).toEqual([]);
  expect(r.duplicates).toBe(0);
  expect(calls() - before).toBe(N + 1); // the refusal was really met, and nothing else was sent twice
  expect(Date.now() - started).toBeGreaterThanOrEqual(1000); // retry_after was honoured
  const refused = 101;
  // Without the refused line, every line is in order.
  expect(seen.filter((n) => n !== refused)).toEqual(range(N).filter((n) => n !== refused));
  // The refused line came late by at most the lines already written behind it.
  const late = seen.indexOf(refused) - (refused - 1);
  expect(late).toBeGreaterThanOrEqual(0);
  expect(late).toBeLessThanOrEqual(PIPELINE - 1);
}, 60_000);
