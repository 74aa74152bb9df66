/**
 * The IRC server restarts while QQ keeps talking: the bridge queues, reconnects, rejoins and
 * delivers everything, in order, as the people in the channel see it.
 *
 * The bound: IRC has no acknowledgements, so the bridge counts a line delivered only when the
 * server answers a PING written after it. A server killed after processing a line but before
 * that answer makes the bridge send the line again: at most one repeat per restart, of a line
 * right at the restart point. Never a loss, never a reordering.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHarness, waitUntil, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ gate: true });
});
afterAll(async () => {
  await h?.close();
});

it('every QQ message sent across an IRC server restart arrives, in order, repeating at most one line', async () => {
  const N = 40;
  const before = h.irc;
  let injected = 0;
  const stream = (async () => {
    for (let i = 1; i <= N; i++) {
      await h.qq.say(`restart-seq ${i}`);
      injected = i;
      await new Promise((r) => setTimeout(r, 40));
    }
  })();
  await before.waitForText((t) => t === '[robot] restart-seq 8');
  // The bridge may reach the new server only once the human is back in the channel: IRC has no
  // history, and a line delivered to an empty channel is seen by nobody.
  h.gate!.refuse();
  await h.ircd.restart();
  const mid = injected;
  await h.reconnectHuman();
  h.gate!.open();
  await stream;
  expect(mid).toBeLessThan(N); // the restart really happened mid-stream
  const after = h.irc;
  await after.waitForTexts('the rest of the stream', (t) => t.includes(`[robot] restart-seq ${N}`), 20_000);
  const seen = [...before.texts(), ...after.texts()].filter((t) => t.startsWith('[robot] restart-seq '));
  const expected = Array.from({ length: N }, (_, i) => `[robot] restart-seq ${i + 1}`);
  // Collapse adjacent repeats: what is left must be the stream itself, complete and in order.
  const collapsed = seen.filter((t, i) => t !== seen[i - 1]);
  expect(collapsed).toEqual(expected);
  expect(seen.length - collapsed.length).toBeLessThanOrEqual(1);
}, 40_000);
