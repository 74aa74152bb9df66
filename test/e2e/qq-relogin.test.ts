/**
 * QQ forces the bridge to log in again (poll retcodes 100 and 121) while IRC messages are being
 * relayed into QQ: the simulator's send log must show every message once, in order, and the
 * simulator must have seen no protocol violation.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HUMAN_NICK, startHarness, waitUntil, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

it('IRC messages sent across two forced QQ relogins arrive once each, in order', async () => {
  const N = 40;
  // A full login makes a new simulator session (new ptwebqq); a relink counts on the same one.
  const session = async () => JSON.stringify((await h.qq.state()).sessions.map((s) => [s.ptwebqq, s.clientid, s.logins, s.relinks]));
  const start = await session();
  await h.qq.call('DELETE', '/sent');
  const stream = (async () => {
    for (let i = 1; i <= N; i++) {
      h.human.say(h.channel, `relogin-seq ${i}`);
      await new Promise((r) => setTimeout(r, 40));
    }
  })();
  await h.qq.waitForSent('the first messages', (s) => s.length >= 5);
  await h.qq.fault({ poll: { retcode: 100 } });
  await waitUntil('a relogin after retcode 100', async () => ((await session()) !== start ? true : undefined), 15_000);
  const afterFirst = await session();
  await h.qq.fault({ poll: { retcode: 121 } });
  await waitUntil('a relink after retcode 121', async () => ((await session()) !== afterFirst ? true : undefined), 15_000);
  await stream;
  const sent = await h.qq.waitForSent(`${N} sends`, (s) => s.some((x) => x.text.endsWith(`relogin-seq ${N}`)), 20_000);
  expect(sent.map((s) => s.text)).toEqual(Array.from({ length: N }, (_, i) => `[${HUMAN_NICK}] relogin-seq ${i + 1}`));
  // No send went out with a half-replaced session (cookies, clientid or gid of the other login).
  expect(await h.qq.violations()).toEqual([]);
}, 40_000);
