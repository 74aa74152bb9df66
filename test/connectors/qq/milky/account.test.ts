/**
 * The QQ account over Milky, through real HTTP and WebSocket to the simulator: Lagrange.Milky's
 * way of refusing a blocked account (QQ's send result 46 as the retcode), the bot_offline event
 * and -403 answers, and the account coming back (Milky has no event for that: get_login_info
 * succeeds again).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Pacer } from '../../../../src/connectors/qq/account/scheduler.js';
import { waitFor } from '../../../support/wait.js';
import { cleanupDirs, IRC_ROOM, startMilkyHarness, startSim, type MilkyHarness, type MilkySim } from './harness.js';

const running: MilkyHarness[] = [];
const sims: MilkySim[] = [];
afterEach(async () => {
  for (const h of running.splice(0)) await h.stop();
  for (const s of sims.splice(0)) await s.close();
});
afterAll(() => cleanupDirs());

const PACING = { intervalMs: 50, jitter: 0.3, burst: 3, coalesceAfter: 0, backoffMinMs: 400, backoffMaxMs: 1600 };

async function start() {
  const sim = await startSim();
  sims.push(sim);
  const h = await startMilkyHarness({ pacing: PACING, sim });
  running.push(h);
  await waitFor(() => h.qq.isConnected(), 'QQ (Milky) online', 5000);
  return { h, sim };
}

describe('QQ account over Milky', () => {
  it('20 IRC lines in one second reach QQ complete, in order, within the pacing bound (accept times at the simulator)', async () => {
    const pacing = { intervalMs: 150, jitter: 0.3, burst: 3, coalesceAfter: 0 };
    const sim = await startSim();
    sims.push(sim);
    const h = await startMilkyHarness({ pacing, sim });
    running.push(h);
    await waitFor(() => h.qq.isConnected(), 'QQ (Milky) online', 5000);
    const lines = Array.from({ length: 20 }, (_, i) => `paced ${i}`);
    for (const l of lines) {
      await h.irc.inject(IRC_ROOM, { text: l });
      await new Promise((r) => setTimeout(r, 50));
    }
    await waitFor(async () => (await sim.sends()).length >= 20, '20 sends', 20_000);
    const sent = await sim.sends();
    expect(sent.map((s) => s.text)).toEqual(lines.map((l) => `[alice] ${l}`));
    const at = sent.map((s) => s.at);
    // Accept times carry a little HTTP noise on top of the scheduler's start times: 30 ms.
    for (let i = 0; i < at.length; i++) {
      for (let j = i + 1; j < at.length; j++) expect(j - i + 1).toBeLessThanOrEqual(Pacer.maxSendsIn(at[j]! - at[i]! + 30, pacing));
    }
    expect((at.at(-1)! - at[2]!) / (at.length - 3)).toBeGreaterThan(pacing.intervalMs * 0.7);
    expect(await sim.control('/violations')).toEqual([]);
  }, 30_000);

  it('a refusal window (retcode 46): the account backs off, few attempts, one episode and one recovery, all delivered after, in order', async () => {
    const { h: b, sim } = await start();
    await sim.control('/refuse', { forMs: 3000 });
    const windowEnd = Date.now() + 3000;
    const lines = Array.from({ length: 10 }, (_, i) => `held ${i}`);
    for (const l of lines) await b.irc.inject(IRC_ROOM, { text: l });
    await waitFor(() => b.qq.account.status.state === 'refused', 'the account refused', 5000);
    expect(b.accountEvents).toHaveLength(1);
    expect(b.accountEvents[0]!.notice).toMatch(/^QQ is refusing this account's messages since \d\d:\d\d UTC \(risk control\?\); \d+ messages? waiting; next try \d\d:\d\d UTC\.$/);
    await waitFor(async () => (await sim.sentTexts()).length === lines.length, 'every line delivered', 20_000);
    expect(await sim.sentTexts()).toEqual(lines.map((l) => `[alice] ${l}`));
    const attempts = await sim.attempts();
    const during = attempts.filter((a) => a.at < windowEnd);
    // One refused answer starts the episode, then one probe per step (0.4, 0.8, 1.6 s…): no storm.
    expect(during.filter((a) => a.outcome === 'refused').length).toBeGreaterThanOrEqual(1);
    expect(during.length).toBeLessThanOrEqual(1 + 4);
    // Accepted sends keep the pacing bound even while the backlog drains.
    const accepted = attempts.filter((a) => a.outcome === 'accepted').map((a) => a.at);
    const bound = Pacer.maxSendsIn(500, PACING);
    for (const t of accepted) expect(accepted.filter((x) => x >= t && x < t + 500).length).toBeLessThanOrEqual(bound);
    await waitFor(() => b.accountEvents.length >= 2, 'the recovery notice');
    expect(b.accountEvents.map((e) => e.type)).toEqual(['episode', 'recovered']);
    expect(b.accountEvents[1]!.notice).toMatch(/^QQ accepts this account's messages again/);
    expect(b.failures).toEqual([]);
  }, 40_000);

  it('bot_offline: no sends while offline, one episode, all delivered in order once get_login_info answers again', async () => {
    const { h, sim } = await start();
    await sim.control('/offline', { on: true, reason: '账号在其他设备登录' });
    await waitFor(() => h.qq.account.status.state === 'offline', 'the account offline', 5000);
    const before = (await sim.attempts()).length;
    const lines = Array.from({ length: 5 }, (_, i) => `offline ${i}`);
    for (const l of lines) await h.irc.inject(IRC_ROOM, { text: l });
    await new Promise((r) => setTimeout(r, 1000));
    expect((await sim.attempts()).length).toBe(before);
    expect(h.accountEvents).toHaveLength(1);
    expect(h.accountEvents[0]!.notice).toContain('QQ account offline: the QQ account went offline: 账号在其他设备登录');
    // Meanwhile the group talks: once back, those messages are caught up too.
    await sim.control('/inject', { group: 346167134, text: 'said while the bridge account was away' });
    await sim.control('/offline', { on: false });
    await waitFor(async () => (await sim.sentTexts()).length === lines.length, 'every line delivered', 10_000);
    expect(await sim.sentTexts()).toEqual(lines.map((l) => `[alice] ${l}`));
    expect(h.accountEvents.map((e) => e.type)).toEqual(['episode', 'recovered']);
    expect(h.accountEvents[1]!.notice).toMatch(/^QQ account back online/);
    await waitFor(() => h.ircTexts().includes('said while the bridge account was away'), 'the group message relayed');
  }, 30_000);

  it('-403 on a send (no bot_offline seen): the account is offline until the implementation answers again; nothing lost', async () => {
    const { h, sim } = await start();
    // Logged out without the event reaching us (e.g. it was pushed while the stream was down).
    await sim.control('/fail', { endpoint: 'send_group_message', retcode: -403, count: 1 });
    await sim.control('/fail', { endpoint: 'get_login_info', retcode: -403, count: 5 });
    const lines = Array.from({ length: 4 }, (_, i) => `after 403 ${i}`);
    for (const l of lines) await h.irc.inject(IRC_ROOM, { text: l });
    await waitFor(() => h.accountEvents.length >= 1, 'the offline episode', 5000);
    expect(h.accountEvents[0]!.notice).toMatch(/^QQ account offline: /);
    await waitFor(async () => (await sim.sentTexts()).length === lines.length, 'every line delivered', 10_000);
    expect(await sim.sentTexts()).toEqual(lines.map((l) => `[alice] ${l}`));
    // Exactly one send was answered -403; none went out while offline.
    expect((await sim.attempts()).filter((a) => a.outcome !== 'accepted')).toHaveLength(1);
    await waitFor(() => h.accountEvents.length >= 2, 'the recovery');
    expect(h.accountEvents.map((e) => e.type)).toEqual(['episode', 'recovered']);
    expect(h.failures).toEqual([]);
  }, 30_000);
});

