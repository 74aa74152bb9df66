/**
 * The bridge process is SIGKILLed twice while QQ messages are flowing to IRC, and started again
 * on the same state each time; QQ keeps talking while it is dead.
 *
 * Bound (at least once): nothing is lost and first occurrences are in order; a message may repeat
 * at most once per kill — the one the dead process had written to IRC but not yet recorded as
 * delivered (IRC confirms nothing but a PING answer). The test kills only once the process has
 * taken (durably queued) the last message QQ handed it: WebQQ has no acknowledgement, so a poll
 * answer read but not yet stored when the process dies is lost with it (see the report).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index.js';
import { freePort, startNgircd, TestIrcClient, type Ngircd } from '../support/ngircd.js';
import { BridgeProcess, ChannelView, HUMAN_NICK, outboxCounts, SimControl, tempDir, waitForBotInChannel, waitUntil, writeConfigFile } from '../e2e/harness.js';
import { expectAtLeastOnce, numbersOf, range, sleep, stream } from './support.js';

const CHANNEL = '#qq-crash-live';
let dir: string;
let sim: RunningSimulator;
let qq: SimControl;
let ircd: Ngircd;
let human: TestIrcClient;
let bridge: BridgeProcess;

beforeAll(async () => {
  dir = tempDir('qqbridge-crash-live-');
  sim = await startSimulator({ pollHoldMs: 300, log: silentLogger });
  qq = new SimControl(sim.controlUrl);
  ircd = await startNgircd();
  human = await TestIrcClient.connect(ircd.host, ircd.port, HUMAN_NICK);
  await human.join(CHANNEL);
  const file = writeConfigFile({ dir, simUrl: sim.url, ircHost: ircd.host, ircPort: ircd.port, channel: CHANNEL, mediaPort: await freePort() });
  bridge = new BridgeProcess(file);
});
afterAll(async () => {
  await bridge?.kill();
  await human?.close();
  await ircd?.stop();
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

const stateDir = () => join(dir, 'state');
/** Messages the bridge has durably taken for IRC (queued or delivered). */
const taken = () => {
  const c = outboxCounts(stateDir(), 'irc');
  return c.pending + c.delivered;
};

async function startAndWait(): Promise<void> {
  bridge.start();
  await waitForBotInChannel(human, CHANNEL, 20_000);
}

it('QQ -> IRC keeps flowing across two SIGKILLs: nothing lost, in order, at most one repeat per kill', async () => {
  const N = 60;
  const view = new ChannelView(human, CHANNEL);
  await startAndWait();
  await waitUntil(`the bridge online in QQ\n${bridge.output}`, async () => ((await qq.state()).sessions.some((s) => s.online) ? true : undefined), 20_000);

  const kills = [15, 40];
  const restarts: Promise<void>[] = [];
  const deliveredAtKill: number[] = [];
  await stream(range(N), 60, (n) => qq.say(`live-q ${n}`), async (n) => {
    if (!kills.includes(n)) return;
    // Kill as soon as the process has stored everything QQ gave it (deliveries to IRC still flow).
    await waitUntil(`message ${n - 1} taken\n${bridge.output}`, () => (taken() >= n - 1 ? true : undefined), 10_000, 5);
    await bridge.kill('SIGKILL');
    deliveredAtKill.push(numbersOf(view.texts(), 'live-q').length);
    // Start again right away; QQ keeps talking meanwhile (the loop goes on).
    restarts.push(startAndWait());
  });
  await Promise.all(restarts);
  await view.waitForTexts(`every number on IRC\n${bridge.output}`, (t) => numbersOf(t, 'live-q').includes(N), 30_000);
  await waitUntil('the outbox to drain', () => (outboxCounts(stateDir(), 'irc').pending === 0 ? true : undefined), 10_000);
  await sleep(500);

  // The kills really came mid-stream, with messages still to deliver.
  expect(deliveredAtKill[0]).toBeLessThan(N);
  expect(deliveredAtKill[1]).toBeLessThan(N);
  const r = expectAtLeastOnce(numbersOf(view.texts(), 'live-q'), range(N), kills.length, 'QQ -> IRC across two SIGKILLs');
  // Each repeat is recorded only once: the store ends with N delivered items, none pending.
  expect(outboxCounts(stateDir(), 'irc')).toEqual({ pending: 0, delivered: N });
  expect(r.duplicates).toBeLessThanOrEqual(2);
  if (process.env.QQBRIDGE_FAULT_LOG) console.log({ deliveredAtKill, duplicates: r.duplicates });
}, 90_000);
