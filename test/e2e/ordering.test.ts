/**
 * Nothing lost, nothing doubled, nothing reordered: numbered streams in each direction, and the
 * bridge's own posts never coming back as new messages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HUMAN_NICK, startHarness, waitUntil, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('ordering and loss', () => {
  it('30 numbered QQ messages arrive on IRC complete and in order', async () => {
    for (const i of range(30)) await h.qq.say(`qq-seq ${i}`);
    const texts = await h.irc.waitForTexts('30 numbered lines', (t) => t.filter((x) => x.includes('qq-seq')).length >= 30, 15_000);
    expect(texts.filter((x) => x.includes('qq-seq'))).toEqual(range(30).map((i) => `[robot] qq-seq ${i}`));
  });

  it('30 numbered IRC messages arrive in QQ complete and in order', async () => {
    await h.qq.call('DELETE', '/sent');
    for (const i of range(30)) h.human.say(h.channel, `irc-seq ${i}`);
    const sent = await h.qq.waitForSent('30 sends', (s) => s.length >= 30, 15_000);
    expect(sent.map((s) => s.text)).toEqual(range(30).map((i) => `[${HUMAN_NICK}] irc-seq ${i}`));
    expect(await h.qq.violations()).toEqual([]);
  });
});

describe('loop prevention', () => {
  it('what the bridge posts in QQ, echoed back by QQ, is not relayed to IRC again', async () => {
    await h.qq.call('POST', '/self-echo', { on: true });
    try {
      await h.qq.call('DELETE', '/sent');
      h.human.say(h.channel, 'echo probe');
      await h.qq.waitForSent('the probe in QQ', (s) => s.some((x) => x.text === `[${HUMAN_NICK}] echo probe`));
      // A QQ message after the echo: once it is on IRC, the echo (polled before it) had its chance.
      await h.qq.say('after the echo');
      await h.irc.waitForText((t) => t === '[robot] after the echo');
      expect(h.irc.texts().filter((t) => t.includes('echo probe'))).toEqual([]);
      expect((await h.qq.sent()).filter((s) => s.text.includes('echo probe'))).toHaveLength(1);
    } finally {
      await h.qq.call('POST', '/self-echo', { on: false });
    }
  });

  it('what the bridge posts on IRC is not relayed back to QQ', async () => {
    await h.qq.call('DELETE', '/sent');
    await h.qq.say('only once please');
    await h.irc.waitForText((t) => t === '[robot] only once please');
    // An IRC line after it: once that reached QQ, the bridge's own line would have too.
    h.human.say(h.channel, 'marker');
    await h.qq.waitForSent('the marker', (s) => s.some((x) => x.text.endsWith('marker')));
    expect((await h.qq.sent()).map((s) => s.text)).toEqual([`[${HUMAN_NICK}] marker`]);
  });
});
