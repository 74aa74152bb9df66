/**
 * Poll retcode 116 hands the client a new ptwebqq (the server rotates it) while IRC messages are
 * being sent into QQ: the client must take the new value (the simulator refuses polls carrying
 * the old one) and every message must arrive once, in order. Bound: exactly once.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHarness, waitUntil, type Harness } from '../e2e/harness.js';
import { expectExactlyOnce, numbersOf, range, sleep, stream } from './support.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ channel: '#qq-116' });
});
afterAll(async () => {
  await h?.close();
});

it('IRC -> QQ messages sent while ptwebqq rotates (116, three times) arrive once each, in order', async () => {
  const N = 40;
  const rotations: Record<number, string> = { 5: 'a'.repeat(64), 15: 'b'.repeat(64), 25: 'c'.repeat(64) };
  const polls = async () => (await h.qq.state()).sessions.reduce((a, s) => a + s.polls, 0);
  await h.qq.call('DELETE', '/sent');
  await h.qq.call('DELETE', '/violations');
  const logins = async () => (await h.qq.state()).sessions.reduce((a, s) => a + s.logins + s.relinks, 0);
  const loginsBefore = await logins();
  await stream(range(N), 30, (n) => h.human.say(h.channel, `rot-i ${n}`), async (n) => {
    const p = rotations[n];
    if (p) await h.qq.fault({ poll: { retcode: 116, p } });
  });
  await h.qq.waitForSent('every number in QQ', (s) => numbersOf(s.map((x) => x.text), 'rot-i').includes(N), 30_000);
  // The client polls on with the last rotated value (a poll with an older one would be refused
  // and recorded as a violation).
  const p0 = await polls();
  await waitUntil('polls after the last rotation', async () => ((await polls()) > p0 + 1 ? true : undefined), 5_000);
  const state = await h.qq.state();
  expect(state.sessions.some((s) => s.ptwebqq === rotations[25] && s.online)).toBe(true);
  await sleep(300);
  expectExactlyOnce(numbersOf((await h.qq.sent()).filter((s) => s.group).map((s) => s.text), 'rot-i'), range(N), 'IRC -> QQ across 116 rotations');
  // A send already on the wire when the server rotates carries the old cookie: the server
  // refuses it (recorded as a violation) and the outbox sends it again. That race cannot be
  // avoided by the client; the bound is one stale send per rotation, and never a stale poll.
  const violations = await h.qq.violations();
  expect(violations.filter((v) => !(v.rule === 'cookie:ptwebqq' && v.path.includes('/send_')))).toEqual([]);
  expect(violations.length).toBeLessThanOrEqual(Object.keys(rotations).length);
  // 116 is not a session loss: no relink or login was needed.
  expect(await logins()).toBe(loginsBefore);
}, 60_000);
