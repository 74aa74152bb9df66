/**
 * QQ's poll answers storms of "session lost" retcodes (103, 108, 121, several in a row) while
 * numbered messages flow both ways: each one arrives once, in order. Bound: exactly once — the
 * poll queue stays on the server across a relink, and sends are retried from the durable outbox.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HUMAN_NICK, startHarness, waitUntil, type Harness } from '../e2e/harness.js';
import { expectExactlyOnce, numbersOf, range, stream } from './support.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ channel: '#qq-storm' });
});
afterAll(async () => {
  await h?.close();
});

it('numbered messages both ways across 103/108/121 storms arrive once each, in order', async () => {
  const N = 40;
  const storms: Record<number, number[]> = { 6: [103, 103, 108], 18: [121, 121, 103, 108], 30: [108, 121] };
  const relinksBefore = (await h.qq.state()).sessions.reduce((a, s) => a + s.relinks + s.logins, 0);
  await h.qq.call('DELETE', '/sent');
  const fromQq = stream(range(N), 30, (n) => h.qq.say(`storm-q ${n}`), async (n) => {
    for (const retcode of storms[n] ?? []) await h.qq.fault({ poll: { retcode } });
  });
  const fromIrc = stream(range(N), 30, (n) => h.human.say(h.channel, `storm-i ${n}`));
  await Promise.all([fromQq, fromIrc]);

  const onIrc = await h.irc.waitForTexts('every QQ number on IRC', (t) => numbersOf(t, 'storm-q').includes(N), 30_000);
  const inQq = await h.qq.waitForSent('every IRC number in QQ', (s) => numbersOf(s.map((x) => x.text), 'storm-i').includes(N), 30_000);
  // A little longer: a late duplicate would show up now.
  await new Promise((r) => setTimeout(r, 500));
  expectExactlyOnce(numbersOf(h.irc.texts(), 'storm-q'), range(N), 'QQ -> IRC');
  expectExactlyOnce(numbersOf((await h.qq.sent()).filter((s) => s.group).map((s) => s.text), 'storm-i'), range(N), 'IRC -> QQ');
  expect(onIrc.length).toBeGreaterThanOrEqual(N);
  expect(inQq.every((s) => s.text.startsWith(`[${HUMAN_NICK}] `))).toBe(true);
  // The storms really made the client relink (or log in again), more than once.
  const relinksAfter = (await h.qq.state()).sessions.reduce((a, s) => a + s.relinks + s.logins, 0);
  expect(relinksAfter - relinksBefore).toBeGreaterThanOrEqual(3);
}, 60_000);

it('the bridge is back online after the storm', async () => {
  await waitUntil('QQ online', () => (h.bridge.connectors.every((c) => c.isConnected()) ? true : undefined), 15_000);
});
