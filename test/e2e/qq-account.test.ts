/**
 * The QQ account through the real wire (IRC server → bridge → WebQQ simulator): pacing, a
 * risk-control window and a forced logout, with the account's timings shortened in the config.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pacer } from '../../src/connectors/qq/account/scheduler.js';
import type { QqConnector } from '../../src/connectors/qq/connector.js';
import { StatusNotices } from '../../src/ops/notices.js';
import { HUMAN_NICK, startHarness, waitUntil, type Harness } from './harness.js';

const PACING = { intervalMs: 150, jitter: 0.3, burst: 3 };
let h: Harness;
let notices: StatusNotices | undefined;

type Attempt = { account: number; at: number; outcome: 'accepted' | 'refused' | 'fault' };

beforeAll(async () => {
  h = await startHarness({
    channel: '#qq-account',
    extraYaml: { qq: [`  pacing: { intervalMs: ${PACING.intervalMs}, jitter: ${PACING.jitter}, burst: ${PACING.burst}, coalesceAfter: 0, backoffMinMs: 400, backoffMaxMs: 1600 }`] },
    hooks: { onNetworkEvent: (net, e) => { if (e.type === 'account') notices?.accountEvent(net, e.from === undefined ? `episode:${e.state}` : `recovered:${e.from}`, e.notice); } },
  });
  notices = new StatusNotices({ relay: h.bridge.relay, links: () => h.bridge.routes.links(), intervalMs: 600_000, graceMs: 600_000 });
}, 60_000);

afterAll(async () => {
  await notices?.stop();
  await h?.close();
});

const qqConnector = () => h.bridge.connectors.find((c) => c.network === 'qq') as QqConnector;

describe('QQ account', () => {
  it('20 IRC lines in one second reach QQ complete, in order, within the pacing bound', async () => {
    await h.qq.call('DELETE', '/sent');
    const lines = Array.from({ length: 20 }, (_, i) => `paced ${i}`);
    for (const l of lines) {
      h.human.say(h.channel, l);
      await new Promise((r) => setTimeout(r, 50));
    }
    const sent = await h.qq.waitForSent('20 sends', (s) => s.length >= 20, 20_000);
    expect(sent.map((s) => s.text)).toEqual(lines.map((l) => `[${HUMAN_NICK}] ${l}`));
    const at = sent.map((s) => (s as unknown as { at: number }).at);
    // Accepted times carry a little network noise on top of the bridge's start times: 30 ms.
    for (let i = 0; i < at.length; i++) {
      for (let j = i + 1; j < at.length; j++) expect(j - i + 1).toBeLessThanOrEqual(Pacer.maxSendsIn(at[j]! - at[i]! + 30, PACING));
    }
    // On average at least the interval apart after the burst (the mean step is intervalMs).
    expect((at.at(-1)! - at[2]!) / (at.length - 3)).toBeGreaterThan(PACING.intervalMs * 0.7);
    expect(await h.qq.violations()).toEqual([]);
  }, 30_000);

  it('a refusal window: few send attempts, one notice per room, everything after delivered in order', async () => {
    await h.qq.call('DELETE', '/sent');
    const before = (await h.qq.call<Attempt[]>('GET', '/send-attempts')).length;
    await h.qq.call('POST', '/fault', { refuse: { forMs: 4_000 } });
    const windowEnd = Date.now() + 4_000;
    const lines = Array.from({ length: 10 }, (_, i) => `held ${i}`);
    for (const l of lines) h.human.say(h.channel, l);
    await waitUntil('the account to be refused', () => (qqConnector().account.status.state === 'refused' ? true : undefined), 10_000);
    await h.irc.waitForText((t) => t.includes("QQ is refusing this account's messages since"), 10_000).catch((e: Error) => {
      throw new Error(`${e.message}; IRC saw: ${JSON.stringify(h.irc.texts().slice(-5))}; account ${JSON.stringify(qqConnector().account.snapshot())}`);
    });
    // WebQQ answers a blocked send 1202, which the protocol's rule takes as "probably delivered,
    // never resent" (§4.6): the three answers that reveal the refusal are those; every later
    // message is held and probed, and arrives once QQ accepts the account again.
    const sent = await h.qq.waitForSent('the held lines', (s) => s.length >= lines.length - 3, 20_000);
    expect(sent.map((s) => s.text)).toEqual(lines.slice(3).map((l) => `[${HUMAN_NICK}] ${l}`));
    const attempts = (await h.qq.call<Attempt[]>('GET', '/send-attempts')).slice(before);
    const during = attempts.filter((a) => a.at < windowEnd);
    // Without the account: 10 sends plus the outbox's retries. With it: 3 + one probe per step (0.4, 0.8, 1.6, 1.6 s…).
    expect(during.length).toBeLessThanOrEqual(3 + 6);
    expect(during.every((a) => a.outcome === 'refused')).toBe(true);
    await h.irc.waitForText((t) => t.includes("QQ accepts this account's messages again"), 10_000);
    await notices!.settled();
    await new Promise((r) => setTimeout(r, 300));
    const texts = h.irc.texts();
    expect(texts.filter((t) => t.includes('QQ is refusing'))).toHaveLength(1);
    expect(texts.filter((t) => t.includes('QQ accepts this account'))).toHaveLength(1);
    expect(qqConnector().account.status.state).toBe('online');
  }, 40_000);

  it('the account is kicked off: no sends while offline, one notice, all delivered after a restart, in order', async () => {
    await h.qq.call('DELETE', '/sent');
    await h.qq.call('POST', '/fault', { kick: true });
    await waitUntil('the account to be offline', () => (qqConnector().account.status.state === 'offline' ? true : undefined), 10_000);
    await h.irc.waitForText((t) => t.includes('QQ account offline:'), 10_000);
    const before = (await h.qq.call<Attempt[]>('GET', '/send-attempts')).length;
    const lines = Array.from({ length: 5 }, (_, i) => `offline ${i}`);
    for (const l of lines) h.human.say(h.channel, l);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await h.qq.call<Attempt[]>('GET', '/send-attempts')).length).toBe(before);
    expect(h.irc.texts().filter((t) => t.includes('QQ account offline:'))).toHaveLength(1);
    // A WebQQ kick keeps today's rule (no automatic re-login): the operator restarts the bridge.
    await h.restartBridge();
    const sent = await h.qq.waitForSent('the held lines', (s) => s.length >= lines.length, 30_000);
    expect(sent.map((s) => s.text)).toEqual(lines.map((l) => `[${HUMAN_NICK}] ${l}`));
  }, 60_000);
});
