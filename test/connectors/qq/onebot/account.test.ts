/**
 * The QQ account over OneBot, through real WebSockets to the simulator: NapCat's way of refusing a
 * blocked account (1200 "Timeout: NTEvent … sendMsg" after a delay) and its bot_offline notice.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../support/wait.js';
import { cleanupDirs, IRC_ROOM, startHarness, type Harness } from './harness.js';

const running: Array<Harness & { dir: string }> = [];
afterEach(async () => {
  for (const h of running.splice(0)) {
    await h.stop();
    await h.sim.close();
  }
});
afterAll(() => cleanupDirs());

const PACING = { intervalMs: 50, jitter: 0.3, burst: 3, coalesceAfter: 0, backoffMinMs: 400, backoffMaxMs: 1600 };

async function start(reuse?: { sim: Harness['sim']; dir: string }) {
  const h = await startHarness({ pacing: PACING, ...(reuse ? { reuse } : {}) });
  running.push(h);
  await waitFor(() => h.qq.isConnected(), 'QQ (OneBot) online', 5000);
  return h;
}

const sentTexts = (h: Harness) => h.sim.sends().map((s) => s.segments.map((x) => (x.data as { text?: string }).text ?? '').join(''));

describe('QQ account over OneBot', () => {
  it('NapCat refusing sends: repeated sendMsg timeouts back the account off; few attempts, one episode, all delivered after, in order', async () => {
    const h = await start();
    h.sim.refuse(3_000, 200);
    const windowEnd = Date.now() + 3_000;
    const lines = Array.from({ length: 10 }, (_, i) => `held ${i}`);
    for (const l of lines) await h.irc.inject(IRC_ROOM, { text: l });
    await waitFor(() => h.qq.account.status.state === 'refused', 'the account refused', 10_000);
    await waitFor(() => sentTexts(h).length === lines.length, 'every line delivered', 20_000);
    expect(sentTexts(h)).toEqual(lines.map((l) => `[alice] ${l}`));
    const during = h.sim.sendAttempts().filter((a) => a.at < windowEnd);
    // Three timeouts reveal the refusal; then one probe per step (0.4, 0.8, 1.6 s…), not a retry storm.
    expect(during.length).toBeLessThanOrEqual(3 + 5);
    await waitFor(() => h.accountEvents.length >= 2, 'the recovery');
    expect(h.accountEvents.map((e) => e.type)).toEqual(['episode', 'recovered']);
    expect(h.accountEvents[0]!.notice).toMatch(/^QQ is refusing this account's messages since \d\d:\d\d UTC \(risk control\?\); \d+ messages? waiting; next try/);
    expect(h.failures).toEqual([]);
  }, 40_000);

  it('bot_offline: no sends while offline, one episode, all delivered in order once the account is back', async () => {
    const h = await start();
    h.sim.setAccountOnline(false, '账号在其他设备登录');
    await waitFor(() => h.qq.account.status.state === 'offline', 'the account offline', 5000);
    const before = h.sim.sendAttempts().length;
    const lines = Array.from({ length: 5 }, (_, i) => `offline ${i}`);
    for (const l of lines) await h.irc.inject(IRC_ROOM, { text: l });
    await new Promise((r) => setTimeout(r, 1000));
    expect(h.sim.sendAttempts().length).toBe(before);
    expect(h.accountEvents).toHaveLength(1);
    expect(h.accountEvents[0]!.notice).toContain('QQ account offline: the QQ account went offline: 账号在其他设备登录');
    h.sim.setAccountOnline(true);
    await waitFor(() => sentTexts(h).length === lines.length, 'every line delivered', 10_000);
    expect(sentTexts(h)).toEqual(lines.map((l) => `[alice] ${l}`));
    expect(h.accountEvents.map((e) => e.type)).toEqual(['episode', 'recovered']);
  }, 30_000);

  it('a restart during the back-off loses nothing: held messages are in the outbox, not in memory', async () => {
    const h1 = await start();
    h1.sim.refuse(4_000, 200);
    const windowEnd = Date.now() + 4_000;
    const lines = Array.from({ length: 8 }, (_, i) => `across ${i}`);
    for (const l of lines) await h1.irc.inject(IRC_ROOM, { text: l });
    await waitFor(() => h1.qq.account.status.state === 'refused', 'the account refused', 10_000);
    await h1.stop();
    running.splice(running.indexOf(h1), 1);
    // A new process knows nothing of the refusal: it finds out again (three more timeouts at most).
    const h2 = await start({ sim: h1.sim, dir: h1.dir });
    await waitFor(() => sentTexts(h2).length >= lines.length, 'every line delivered', 20_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(sentTexts(h2)).toEqual(lines.map((l) => `[alice] ${l}`));
    expect(h2.sim.sendAttempts().filter((a) => a.at < windowEnd).length).toBeLessThanOrEqual(2 * 3 + 5);
  }, 40_000);
});
