/**
 * A Milky event stream that stays open but goes silent (SSE has no pings; a webhook has no
 * connection at all): the API still answers, so the periodic get_login_info cannot notice. The
 * backend compares history with what the stream delivered, reconnects, and catches up — nothing
 * lost, nothing twice, in order.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../../src/demo/ngircd.js';
import { waitFor } from '../../../support/wait.js';
import { ALICE, cleanupDirs, GROUP, IRC_ROOM, startMilkyHarness, type MilkyHarness } from './harness.js';

const running: MilkyHarness[] = [];
afterEach(async () => {
  for (const h of running.splice(0)) await h.stop();
});
afterAll(() => cleanupDirs());

const STALL_CHECK_MS = 200;

describe.each(['sse', 'webhook'] as const)('Milky %s stall detection', (events) => {
  it('a silent stream is noticed from history, replaced, and what it swallowed is caught up once, in order', async () => {
    const webhookPort = events === 'webhook' ? await freePort() : 0;
    const h = await startMilkyHarness({ events, webhookPort, tuning: { stallCheckMs: STALL_CHECK_MS } });
    running.push(h);
    if (events === 'webhook') await h.sim.control('/webhooks', { urls: [`http://127.0.0.1:${webhookPort}/milky/event`] });
    await waitFor(() => h.qq.isConnected(), 'QQ (Milky) online', 5000);
    await h.sim.control('/inject', { group: GROUP, from: ALICE, text: 'before' });
    await waitFor(() => h.ircTexts().length === 1, 'the first message');

    await h.sim.control('/stall', { on: true });
    // The bridge's own sends land in history too; they alone never look like a stall.
    for (const t of ['own 1', 'own 2']) await h.irc.inject(IRC_ROOM, { text: t });
    await waitFor(async () => (await h.sim.sentTexts()).length === 2, 'the bridge sent two lines');
    await new Promise((r) => setTimeout(r, STALL_CHECK_MS * 5));
    expect(h.conditions).not.toContain('stream:stalled');

    await h.sim.control('/inject', { group: GROUP, from: ALICE, text: 'swallowed', count: 5 });
    // Two checks apart, plus the reconnect and the catch-up.
    await waitFor(() => h.ircTexts().length === 6, 'the swallowed messages caught up', 5000);
    expect(h.conditions).toContain('stream:stalled');
    expect(h.log.lines().some((l) => /open but silent/.test(String(l.msg)))).toBe(true);

    await h.sim.control('/stall', { on: false });
    await h.sim.control('/inject', { group: GROUP, from: ALICE, text: 'after' });
    await waitFor(() => h.ircTexts().length === 7, 'the live message after');
    await new Promise((r) => setTimeout(r, STALL_CHECK_MS * 3));
    expect(h.ircTexts()).toEqual(['before', ...[1, 2, 3, 4, 5].map((i) => `swallowed ${i}`), 'after']);
  }, 20_000);
});

describe('Milky stall detection, quiet groups', () => {
  it('sse: a quiet group is not a stall — no reconnects while nothing happens', async () => {
    const h = await startMilkyHarness({ events: 'sse', tuning: { stallCheckMs: STALL_CHECK_MS } });
    running.push(h);
    await waitFor(() => h.qq.isConnected(), 'QQ (Milky) online', 5000);
    await new Promise((r) => setTimeout(r, STALL_CHECK_MS * 6));
    expect(h.conditions.filter((c) => c === 'stream:stalled' || c === 'stream:reconnecting')).toEqual([]);
    const streams = await h.sim.control('/streams');
    expect(streams.sse).toBe(1);
  }, 10_000);
});
