/**
 * QQ kicks the session off (kick_message: the account logged in elsewhere). The bridge stops
 * polling, says so in its log, and does not log in again by itself; what IRC says meanwhile
 * stays queued in the store and reaches the QQ group, once each and in order, after a restart.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { outboxCounts, startHarness, waitUntil, type Harness } from '../e2e/harness.js';
import { capturedLogger, expectExactlyOnce, numbersOf, range, sleep, stream } from './support.js';

let h: Harness;
const logs = capturedLogger('info');
beforeAll(async () => {
  h = await startHarness({ channel: '#qq-kick', log: logs.log });
});
afterAll(async () => {
  await h?.close();
});

const qqConnector = () => h.bridge.connectors.find((c) => c.network === 'qq')!;
const sentNumbers = async () => numbersOf((await h.qq.sent()).filter((s) => s.group).map((s) => s.text), 'kick-i');

it('after a kick, IRC messages stay queued for QQ and arrive once, in order, after a restart', async () => {
  // One login, one report of which mapped groups the account can reach (not one per state change).
  expect(logs.lines().filter((l) => l.msg === 'QQ mappings bound to this session')).toHaveLength(1);
  await h.qq.call('DELETE', '/sent');
  await stream(range(5), 20, (n) => h.human.say(h.channel, `kick-i ${n}`));
  await h.qq.waitForSent(`the first five in QQ\n${logs.text()}`, (s) => numbersOf(s.map((x) => x.text), 'kick-i').includes(5));

  await h.qq.fault({ kick: true });
  await waitUntil('the QQ connector to report the kick', () => (!qqConnector().isConnected() ? true : undefined), 10_000);
  // Reported: an error line saying the session was kicked off and is not logged in again.
  await waitUntil('the kick in the log', () => (logs.lines().some((l) => l.level === 50 && /kicked off/i.test(String(l.msg))) ? true : undefined), 5_000);

  // Polling stopped: the poll counter of every simulator session stays still (a live poller,
  // held 300 ms per poll, would have polled several times).
  const polls = async () => (await h.qq.state()).sessions.reduce((a, s) => a + s.polls, 0);
  const p0 = await polls();
  await sleep(1_500);
  expect(await polls()).toBe(p0);

  // IRC keeps talking; nothing goes to QQ, everything waits in the outbox.
  await stream(range(10, 6), 20, (n) => h.human.say(h.channel, `kick-i ${n}`));
  await waitUntil('ten items queued for QQ', () => (outboxCounts(h.dir, 'qq').pending === 10 ? true : undefined), 10_000);
  await sleep(500);
  expect(await sentNumbers()).toEqual(range(5));
  expect(qqConnector().isConnected()).toBe(false);

  // The operator restarts the bridge: it logs in again and delivers the queue.
  await h.restartBridge();
  await h.qq.waitForSent('the queued messages in QQ', (s) => numbersOf(s.map((x) => x.text), 'kick-i').includes(15), 30_000);
  await sleep(500);
  expectExactlyOnce(await sentNumbers(), range(15), 'IRC -> QQ across a kick and a restart');
  expect(outboxCounts(h.dir, 'qq').pending).toBe(0);
}, 60_000);
