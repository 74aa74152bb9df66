/**
 * The WebQQ server is unreachable for a while (every connection refused, open ones cut) while
 * numbered messages stream both ways. QQ keeps what is said in the group for the session; the
 * bridge keeps what IRC said in its outbox. When the server is back, everything arrives, once
 * each, in order. Bound: exactly once.
 *
 * The outage lasts 30 s, longer than several steps of the bridge's backoffs (poll and outbox both
 * start at 1 s and double), so recovery is tested from deep in the backoff, not from its start.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHarness, waitUntil, type Harness } from '../e2e/harness.js';

import { capturedLogger, expectExactlyOnce, numbersOf, range, sleep, stream } from './support.js';

const DOWN_MS = 30_000;

let h: Harness;
const logs = capturedLogger(process.env.QQBRIDGE_FAULT_LOG ?? 'info');
beforeAll(async () => {
  h = await startHarness({ channel: '#qq-down', log: logs.log });
});
afterAll(async () => {
  await h?.close();
  if (process.env.QQBRIDGE_FAULT_LOG) writeFileSync('/tmp/qqbridge-fault-down.log', logs.text());
});

it(`a ${DOWN_MS / 1000} s WebQQ outage mid-stream: both directions complete, once each, in order, after it`, async () => {
  const N = 30;
  await h.qq.call('DELETE', '/sent');
  let downAt = 0;
  const takeDown = async (n: number) => {
    if (n === 8) {
      await h.qq.call('POST', '/down', { ms: DOWN_MS });
      downAt = Date.now();
    }
  };
  // 30 messages each way, 150 ms apart: the outage starts at #8 and lasts past the end of both streams.
  const fromQq = stream(range(N), 150, (n) => h.qq.say(`down-q ${n}`), takeDown);
  const fromIrc = stream(range(N), 150, (n) => h.human.say(h.channel, `down-i ${n}`));
  await Promise.all([fromQq, fromIrc]);
  expect(Date.now() - downAt).toBeLessThan(DOWN_MS); // both streams ended inside the outage

  // Nothing crosses while it is down.
  const midIrc = numbersOf(h.irc.texts(), 'down-q');
  expect(midIrc.length).toBeLessThan(N);
  await waitUntil('the outage to end', () => (Date.now() - downAt > DOWN_MS ? true : undefined), DOWN_MS + 1_000, 100);

  await h.irc.waitForTexts('every QQ number on IRC', (t) => numbersOf(t, 'down-q').includes(N), 45_000);
  await h.qq.waitForSent('every IRC number in QQ', (s) => numbersOf(s.map((x) => x.text), 'down-i').includes(N), 45_000);
  await sleep(500);
  expectExactlyOnce(numbersOf(h.irc.texts(), 'down-q'), range(N), 'QQ -> IRC across the outage');
  expectExactlyOnce(numbersOf((await h.qq.sent()).filter((s) => s.group).map((s) => s.text), 'down-i'), range(N), 'IRC -> QQ across the outage');
  await waitUntil('QQ online again', () => (h.bridge.connectors.every((c) => c.isConnected()) ? true : undefined), 15_000);
}, 180_000);
