/**
 * A fresh start replays none of a group's old history, yet what the group says while the bridge
 * is still reading its contacts and history (the event stream already open) is relayed, once, in
 * order: such messages are in history and in the live stream both.
 */
import { afterAll, afterEach, expect, it } from 'vitest';
import { waitFor } from '../../../support/wait.js';
import { ALICE, cleanupDirs, GROUP, startMilkyHarness, startSim, type MilkyHarness, type MilkySim } from './harness.js';

const running: MilkyHarness[] = [];
const sims: MilkySim[] = [];
afterEach(async () => {
  for (const h of running.splice(0)) await h.stop();
  for (const s of sims.splice(0)) await s.close();
});
afterAll(() => cleanupDirs());

it('messages said during the first sync are relayed once, in order; older history is not replayed', async () => {
  const sim = await startSim();
  sims.push(sim);
  await sim.control('/inject', { group: GROUP, from: ALICE, text: 'old', count: 3 });
  // The start-up's member list read answers slowly, so the stream is open well before history is read.
  await sim.control('/slow', { endpoint: 'get_group_member_list', ms: 600, count: 5 });
  const started = startMilkyHarness({ sim });
  await waitFor(async () => (await sim.control('/streams')).websocket > 0, 'the event stream open', 5000);
  await sim.control('/inject', { group: GROUP, from: ALICE, text: 'during sync', count: 3 });
  const h = await started;
  running.push(h);
  await waitFor(() => h.ircTexts().length >= 3, 'the messages said during the sync', 10_000);
  await sim.control('/inject', { group: GROUP, from: ALICE, text: 'after' });
  await waitFor(() => h.ircTexts().includes('after'), 'the next message');
  await new Promise((r) => setTimeout(r, 300));
  expect(h.ircTexts()).toEqual(['during sync 1', 'during sync 2', 'during sync 3', 'after']);
}, 20_000);
