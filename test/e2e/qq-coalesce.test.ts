/**
 * Joining a backlog with WebQQ (IRC server → bridge → WebQQ simulator): a joined message stays
 * within one WebQQ piece (WebQQ splits at ~720 encoded bytes, so the join stops at 600 UTF-8
 * bytes), every line arrives once, in order, in fewer sends, the account paced.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Pacer } from '../../src/connectors/qq/account/scheduler.js';
import { HUMAN_NICK, startHarness, type Harness } from './harness.js';

const PACING = { intervalMs: 300, jitter: 0.3, burst: 3 };
let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    channel: '#qq-join',
    extraYaml: { qq: [`  pacing: { intervalMs: ${PACING.intervalMs}, jitter: ${PACING.jitter}, burst: ${PACING.burst}, coalesceAfter: 3 }`] },
  });
}, 60_000);
afterAll(async () => {
  await h?.close();
});

it('20 IRC lines (Chinese, so bytes count) reach QQ once each, in order, in fewer sends of at most 600 bytes, paced', async () => {
  await h.qq.call('DELETE', '/sent');
  const lines = Array.from({ length: 20 }, (_, i) => `第${i}行：大家好，这是一条用来测试合并的消息`);
  for (const l of lines) {
    h.human.say(h.channel, l);
    await new Promise((r) => setTimeout(r, 50));
  }
  const want = lines.map((l) => `[${HUMAN_NICK}] ${l}`);
  const sent = await h.qq.waitForSent('all 20 lines', (s) => s.flatMap((x) => x.text.split('\n')).length >= 20, 30_000);
  expect(sent.flatMap((x) => x.text.split('\n'))).toEqual(want);
  expect(sent.length).toBeLessThan(20);
  expect(sent.some((x) => x.text.split('\n').length > 1)).toBe(true);
  for (const x of sent) expect(Buffer.byteLength(x.text)).toBeLessThanOrEqual(600);
  const at = sent.map((s) => (s as unknown as { at: number }).at);
  for (let i = 0; i < at.length; i++) {
    for (let j = i + 1; j < at.length; j++) expect(j - i + 1).toBeLessThanOrEqual(Pacer.maxSendsIn(at[j]! - at[i]! + 30, PACING));
  }
  expect(await h.qq.violations()).toEqual([]);
}, 60_000);
