/**
 * Faults between the bridge and a OneBot implementation, with numbered messages streaming both
 * ways over real WebSockets to the OneBot simulator: the implementation restarting mid-stream, the
 * socket dropping while a send waits for its answer, answers slower than the action timeout,
 * malformed frames between real ones, and a refusal window. Bounds (README, docs/qq-onebot.md):
 * QQ → network exactly once, in order (history catch-up + dedupe); network → QQ at least once, in
 * order, at most one duplicate per send whose answer was lost.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { cleanupDirs, GROUP, IRC_ROOM, MEMBERS, startHarness, type Harness } from '../connectors/qq/onebot/harness.js';
import { waitFor } from '../support/wait.js';
import { expectAtLeastOnce, expectExactlyOnce, numbersOf, range, sleep, stream } from './support.js';

const running: Array<Harness & { dir: string }> = [];
afterEach(async () => {
  for (const h of running.splice(0)) {
    await h.stop();
    await h.sim.close();
  }
});
afterAll(() => cleanupDirs());

const PACING = { intervalMs: 20, jitter: 0.3, burst: 3, coalesceAfter: 0, backoffMinMs: 300, backoffMaxMs: 1200 };

async function start(tuning: Record<string, unknown> = {}) {
  const h = await startHarness({ pacing: PACING, tuning });
  running.push(h);
  await waitFor(() => h.qq.isConnected(), 'QQ (OneBot) online', 5000);
  return h;
}

const qqTexts = (h: Harness) => h.sim.sends().map((s) => s.segments.map((x) => (x.data as { text?: string }).text ?? '').join(''));
const fromQq = (h: Harness, tag: string) => (n: number) => void h.sim.inject(GROUP, MEMBERS.huxi, [{ type: 'text', data: { text: `${tag} ${n}` } }]);
const fromIrc = (h: Harness, tag: string) => (n: number) => h.irc.inject(IRC_ROOM, { text: `${tag} ${n}` });

describe('OneBot faults', () => {
  it('the implementation restarts mid-stream: QQ → IRC exactly once in order (catch-up), IRC → QQ at least once in order (≤ 1 duplicate)', async () => {
    const h = await start();
    const url = (h.sim as unknown as { lastUrl: string }).lastUrl;
    const port = Number(new URL(url).port);
    const N = 20;
    const restart = async (n: number) => {
      if (n !== 7) return;
      await h.sim.close();
      // QQ keeps talking while the implementation is down; it reads that from QQ's history later.
      setTimeout(() => void h.sim.listen(port), 800);
    };
    await Promise.all([stream(range(N), 60, fromQq(h, 'rq'), restart), stream(range(N), 60, fromIrc(h, 'ri'))]);
    await waitFor(() => numbersOf(h.ircTexts(), 'rq').includes(N), 'every QQ number on IRC', 15_000);
    await waitFor(() => numbersOf(qqTexts(h), 'ri').includes(N), 'every IRC number in QQ', 15_000);
    await sleep(300);
    expectExactlyOnce(numbersOf(h.ircTexts(), 'rq'), range(N), 'QQ -> IRC across a restart');
    expectAtLeastOnce(numbersOf(qqTexts(h), 'ri'), range(N), 1, 'IRC -> QQ across a restart');
    expect(h.failures).toEqual([]);
  }, 40_000);

  it('the socket drops while a send waits for its answer: the send is retried, at most one duplicate for that drop, nothing lost', async () => {
    const h = await start();
    const N = 10;
    await stream(range(3), 0, fromIrc(h, 'ds'));
    await waitFor(() => numbersOf(qqTexts(h), 'ds').length === 3, 'the first three in QQ', 5000);
    h.sim.slowSends(1500, 1);
    await fromIrc(h, 'ds')(4);
    // Send 4 is in the group already; its answer has not come: cut the socket now, mid-send.
    await waitFor(() => numbersOf(qqTexts(h), 'ds').includes(4), 'send 4 delivered, unanswered', 5000);
    h.sim.drop();
    await stream(range(N - 4, 5), 0, fromIrc(h, 'ds'));
    await waitFor(() => numbersOf(qqTexts(h), 'ds').includes(N), 'every number in QQ', 15_000);
    await sleep(300);
    const r = expectAtLeastOnce(numbersOf(qqTexts(h), 'ds'), range(N), 1, 'IRC -> QQ with a drop during a send');
    expect(r.duplicates, 'the send whose answer was lost went again').toBe(1);
    expect(h.failures).toEqual([]);
  }, 30_000);

  it('answers slower than the action timeout: each timed-out send may repeat once, nothing lost, order kept', async () => {
    const h = await start({ actionTimeoutMs: 400 });
    const N = 8;
    h.sim.slowSends(700, 2);
    await stream(range(N), 0, fromIrc(h, 'to'));
    await waitFor(() => numbersOf(qqTexts(h), 'to').includes(N), 'every number in QQ', 15_000);
    await sleep(1000); // late answers of the slow sends land after their timeouts; nothing may change
    const r = expectAtLeastOnce(numbersOf(qqTexts(h), 'to'), range(N), 2, 'IRC -> QQ with two timed-out sends');
    // The timeouts happened (a slow send is delivered, so its retry shows as a repeat).
    expect(r.duplicates).toBeGreaterThanOrEqual(1);
    expect(h.failures).toEqual([]);
  }, 30_000);

  it('malformed frames between real events: each one logged, every message after it relayed once, in order', async () => {
    const h = await start();
    const N = 12;
    const garbage = ['{"post_type":', 'not json at all', JSON.stringify({ post_type: 'message', message_type: 'group', group_id: 'x', message: 5 }), JSON.stringify([1, 2, 3]), Buffer.from([0xff, 0x00, 0x13])];
    await stream(range(N), 20, fromQq(h, 'mf'), (n) => {
      const g = garbage[n % garbage.length]!;
      if (n % 2 === 0) h.sim.injectRaw(g);
    });
    await waitFor(() => numbersOf(h.ircTexts(), 'mf').includes(N), 'every QQ number on IRC', 10_000);
    await sleep(200);
    expectExactlyOnce(numbersOf(h.ircTexts(), 'mf'), range(N), 'QQ -> IRC between malformed frames');
    const said = h.log.lines().filter((l) => Number(l.level) >= 40 && /OneBot/.test(String(l.msg)));
    expect(said.length, 'one clear line per malformed frame').toBe(N / 2);
    expect(h.qq.isConnected()).toBe(true);
  }, 20_000);

  it('a refusal window mid-stream: QQ → IRC unaffected; IRC → QQ waits, then arrives complete, in order, with few attempts', async () => {
    const h = await start();
    const N = 12;
    let windowEnd = 0;
    const refuse = (n: number) => {
      if (n === 4) {
        h.sim.refuse(2500, 100);
        windowEnd = Date.now() + 2500;
      }
    };
    await Promise.all([stream(range(N), 50, fromIrc(h, 'rw'), refuse), stream(range(N), 50, fromQq(h, 'rwq'))]);
    await waitFor(() => numbersOf(h.ircTexts(), 'rwq').includes(N), 'every QQ number on IRC', 10_000);
    expectExactlyOnce(numbersOf(h.ircTexts(), 'rwq'), range(N), 'QQ -> IRC during a refusal');
    await waitFor(() => numbersOf(qqTexts(h), 'rw').includes(N), 'every IRC number in QQ', 20_000);
    await sleep(300);
    // A refused send is not delivered (NapCat's blocked send): exactly once, in order.
    expectExactlyOnce(numbersOf(qqTexts(h), 'rw'), range(N), 'IRC -> QQ across a refusal window');
    const during = h.sim.sendAttempts().filter((a) => a.outcome === 'refused' && a.at < windowEnd);
    expect(during.length).toBeLessThanOrEqual(3 + 4);
  }, 40_000);
});
