/**
 * Faults between the bridge and a Milky implementation, numbered messages streaming both ways over
 * real HTTP and WebSocket/SSE to the Milky simulator: the implementation restarting mid-stream
 * (port closed, every connection cut, QQ's history kept), the connection cut while a send waits
 * for its answer, answers slower than the call timeout, malformed frames between real events, and
 * a refusal window. Bounds (docs/qq-milky.md): QQ → network exactly once, in order (paged history
 * catch-up + dedupe); network → QQ at least once, in order, at most one duplicate per call whose
 * answer was lost.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ALICE, cleanupDirs, GROUP, IRC_ROOM, startMilkyHarness, type MilkyHarness } from '../connectors/qq/milky/harness.js';
import { waitFor } from '../support/wait.js';
import { expectAtLeastOnce, expectExactlyOnce, numbersOf, range, sleep, stream } from './support.js';

const running: MilkyHarness[] = [];
afterEach(async () => {
  for (const h of running.splice(0)) await h.stop();
});
afterAll(() => cleanupDirs());

const PACING = { intervalMs: 20, jitter: 0.3, burst: 3, coalesceAfter: 0, backoffMinMs: 300, backoffMaxMs: 1200 };

async function start(o: { events?: 'websocket' | 'sse'; tuning?: Record<string, unknown> } = {}) {
  const h = await startMilkyHarness({ pacing: PACING, events: o.events ?? 'websocket', tuning: o.tuning ?? {} });
  running.push(h);
  await waitFor(() => h.qq.isConnected(), 'QQ (Milky) online', 5000);
  return h;
}

const fromQq = (h: MilkyHarness, tag: string) => async (n: number) => void (await h.sim.control('/inject', { group: GROUP, from: ALICE, text: `${tag} ${n}` }));
const fromIrc = (h: MilkyHarness, tag: string) => (n: number) => h.irc.inject(IRC_ROOM, { text: `${tag} ${n}` });

describe.each(['websocket', 'sse'] as const)('Milky faults (%s)', (events) => {
  it('the implementation restarts mid-stream: QQ → IRC exactly once in order (paged catch-up), IRC → QQ at least once in order (≤ 1 duplicate)', async () => {
    const h = await start({ events });
    const N = 20;
    const restart = async (n: number) => {
      if (n === 7) await h.sim.control('/restart', { downMs: 800 });
    };
    await Promise.all([stream(range(N), 60, fromQq(h, 'rq'), restart), stream(range(N), 60, fromIrc(h, 'ri'))]);
    await waitFor(() => numbersOf(h.ircTexts(), 'rq').includes(N), 'every QQ number on IRC', 15_000);
    await waitFor(async () => numbersOf(await h.sim.sentTexts(), 'ri').includes(N), 'every IRC number in QQ', 15_000);
    await sleep(300);
    expectExactlyOnce(numbersOf(h.ircTexts(), 'rq'), range(N), 'QQ -> IRC across a restart');
    expectAtLeastOnce(numbersOf(await h.sim.sentTexts(), 'ri'), range(N), 1, 'IRC -> QQ across a restart');
    expect(h.conditions.some((c) => c === 'stream:reconnecting')).toBe(true);
    expect(h.failures).toEqual([]);
  }, 40_000);
});

describe('Milky faults', () => {
  it('the connection is cut while a send waits for its answer (restart): at most one duplicate for that call, nothing lost, order kept', async () => {
    const h = await start();
    const N = 10;
    await stream(range(3), 0, fromIrc(h, 'ds'));
    await waitFor(async () => numbersOf(await h.sim.sentTexts(), 'ds').length === 3, 'the first three in QQ', 5000);
    await h.sim.control('/slow', { ms: 1500, count: 1 });
    await fromIrc(h, 'ds')(4);
    // Send 4 is in the group already and unanswered: the implementation restarts now.
    await waitFor(async () => numbersOf(await h.sim.sentTexts(), 'ds').includes(4), 'send 4 delivered, unanswered', 5000);
    await h.sim.control('/restart', { downMs: 300 });
    await stream(range(N - 4, 5), 0, fromIrc(h, 'ds'));
    await waitFor(async () => numbersOf(await h.sim.sentTexts(), 'ds').includes(N), 'every number in QQ', 15_000);
    await sleep(300);
    const r = expectAtLeastOnce(numbersOf(await h.sim.sentTexts(), 'ds'), range(N), 1, 'IRC -> QQ with a call cut mid-send');
    // The lost answer made the outbox send 4 again: the duplicate the bound allows, and only it.
    expect(r.duplicates).toBe(1);
    expect(h.failures).toEqual([]);
  }, 30_000);

  it('answers slower than the call timeout: each timed-out send may repeat once, nothing lost, order kept', async () => {
    const h = await start({ tuning: { timeoutMs: 400 } });
    const N = 8;
    await h.sim.control('/slow', { ms: 700, count: 2 });
    await stream(range(N), 0, fromIrc(h, 'to'));
    await waitFor(async () => numbersOf(await h.sim.sentTexts(), 'to').includes(N), 'every number in QQ', 15_000);
    await sleep(1000); // the late answers land after their timeouts; nothing may change
    const r = expectAtLeastOnce(numbersOf(await h.sim.sentTexts(), 'to'), range(N), 2, 'IRC -> QQ with two timed-out sends');
    expect(r.duplicates).toBeGreaterThanOrEqual(1);
    expect(h.failures).toEqual([]);
  }, 30_000);

  it('malformed frames between real events: one clear line each, every message after them relayed once, in order', async () => {
    const h = await start();
    const N = 12;
    const garbage = [
      '{"event_type":',
      'not json at all',
      JSON.stringify({ time: 1, self_id: 1, event_type: 'message_receive', data: { message_scene: 'group', peer_id: 'x', segments: 5 } }),
      JSON.stringify({ time: 1, self_id: 1, event_type: 'no_such_event', data: {} }),
      JSON.stringify([1, 2, 3]),
      'null',
    ];
    await stream(range(N), 20, fromQq(h, 'mf'), async (n) => {
      if (n % 2 === 0) await h.sim.control('/raw', { frame: garbage[(n / 2 - 1) % garbage.length] });
    });
    await waitFor(() => numbersOf(h.ircTexts(), 'mf').includes(N), 'every QQ number on IRC', 10_000);
    await sleep(200);
    expectExactlyOnce(numbersOf(h.ircTexts(), 'mf'), range(N), 'QQ -> IRC between malformed frames');
    const said = h.log.lines().filter((l) => Number(l.level) >= 40 && /Milky/.test(String(l.msg)));
    expect(said.length, 'one clear line per malformed frame').toBe(N / 2);
    expect(h.qq.isConnected()).toBe(true);
  }, 20_000);

  it('a refusal window mid-stream: QQ → IRC unaffected; IRC → QQ waits, then arrives complete, in order, with few attempts', async () => {
    const h = await start();
    const N = 12;
    let windowEnd = 0;
    const refuse = async (n: number) => {
      if (n === 4) {
        await h.sim.control('/refuse', { forMs: 2500 });
        windowEnd = Date.now() + 2500;
      }
    };
    await Promise.all([stream(range(N), 50, fromIrc(h, 'rw'), refuse), stream(range(N), 50, fromQq(h, 'rwq'))]);
    await waitFor(() => numbersOf(h.ircTexts(), 'rwq').includes(N), 'every QQ number on IRC', 10_000);
    expectExactlyOnce(numbersOf(h.ircTexts(), 'rwq'), range(N), 'QQ -> IRC during a refusal');
    await waitFor(async () => numbersOf(await h.sim.sentTexts(), 'rw').includes(N), 'every IRC number in QQ', 20_000);
    await sleep(300);
    // A refused send is not delivered: exactly once, in order.
    expectExactlyOnce(numbersOf(await h.sim.sentTexts(), 'rw'), range(N), 'IRC -> QQ across a refusal window');
    const refused = (await h.sim.attempts()).filter((a) => a.outcome === 'refused' && a.at < windowEnd);
    // One refusal starts the episode; then one probe per step (0.3, 0.6, 1.2 s).
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeLessThanOrEqual(1 + 4);
    expect(h.accountEvents.map((e) => e.type)).toEqual(['episode', 'recovered']);
  }, 40_000);
});
