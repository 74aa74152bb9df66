/**
 * The IRC server goes away for several seconds (killed, then started again; the bridge cannot
 * reach it meanwhile) while both directions stream. QQ -> IRC: what QQ says during the outage
 * waits in the outbox and arrives after the bridge has rejoined. IRC -> QQ: what the bridge
 * received before the server died still reaches QQ during the outage, and talk resumes after.
 * Bound: IRC -> QQ exactly once, in order; QQ -> IRC in order, nothing lost, at most one repeat
 * (the line unconfirmed when the connection was cut; see below). (IRC itself has no
 * acknowledgement: a line still inside the dying server never reached the bridge; the test
 * only kills the server once the bridge has taken the human's lines.)
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { outboxCounts, startHarness, waitForBotInChannel, waitUntil, type Harness } from '../e2e/harness.js';
import { expectAtLeastOnce, expectExactlyOnce, numbersOf, range, sleep, stream } from './support.js';

const OUTAGE_MS = 6_000;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ gate: true, channel: '#qq-ircdown' });
});
afterAll(async () => {
  await h?.close();
});

it(`a ${OUTAGE_MS / 1000} s IRC outage with both directions streaming: everything arrives once, in order`, async () => {
  const N = 40;
  await h.qq.call('DELETE', '/sent');
  const before = h.irc;
  const taken = () => {
    const c = outboxCounts(h.dir, 'qq');
    return c.pending + c.delivered;
  };
  const takenAtStart = taken();

  // QQ streams all along: 40 messages, 200 ms apart (8 s), across the whole outage.
  let injected = 0;
  const fromQq = stream(range(N), 200, async (n) => {
    await h.qq.say(`ircdown-q ${n}`);
    injected = n;
  });

  // IRC: 15 lines, then the server dies as soon as the bridge has taken them.
  await stream(range(15), 10, (n) => h.human.say(h.channel, `ircdown-i ${n}`));
  await waitUntil('the bridge to take the 15 IRC lines', () => (taken() - takenAtStart >= 15 ? true : undefined), 5_000, 10);
  h.gate!.shut();
  const killedAt = Date.now();
  const injectedAtKill = injected;
  await h.ircd.restart();
  // Lines taken before the kill keep flowing into QQ during the outage.
  await h.qq.waitForSent('the 15 IRC lines in QQ during the outage', (s) => numbersOf(s.map((x) => x.text), 'ircdown-i').includes(15), 5_000);
  expect(Date.now() - killedAt).toBeLessThan(OUTAGE_MS);
  await sleep(Math.max(0, OUTAGE_MS - (Date.now() - killedAt)));

  // Back: the human first (IRC has no history), then the bridge may reconnect.
  await h.reconnectHuman();
  h.gate!.open();
  await waitForBotInChannel(h.human, h.channel, 15_000);
  await stream(range(15, 16), 10, (n) => h.human.say(h.channel, `ircdown-i ${n}`));
  await fromQq;
  expect(injectedAtKill).toBeLessThan(N / 2); // the kill really came mid-stream

  const after = h.irc;
  await after.waitForTexts('every QQ number on IRC', (t) => numbersOf(t, 'ircdown-q').includes(N), 20_000);
  await h.qq.waitForSent('every IRC number in QQ', (s) => numbersOf(s.map((x) => x.text), 'ircdown-i').includes(30), 10_000);
  await sleep(500);
  // IRC has no acknowledgement: the bridge counts a line delivered when the server answers a PING
  // written after it. A line the server relayed just before the cut, whose PONG never came back,
  // is sent again after the reconnect. The outbox sends one message at a time per channel, so a
  // cut repeats at most one message: the one just before the gap.
  expectAtLeastOnce(numbersOf([...before.texts(), ...after.texts()], 'ircdown-q'), range(N), 1, 'QQ -> IRC across the outage');
  expectExactlyOnce(numbersOf((await h.qq.sent()).filter((s) => s.group).map((s) => s.text), 'ircdown-i'), range(30), 'IRC -> QQ across the outage');
}, 60_000);
