/**
 * The crash bound with pipelining and grouped delivered-marks on (issue 12): the bridge process
 * is SIGKILLed in the middle of delivering a backlog to IRC at full speed (limits raised, up to
 * 16 sends in flight, marks written in groups), and a new process on the same state finishes.
 *
 * Bound (README, "What a crash can cost"): nothing is lost, first occurrences are in order, and
 * what is sent again is at most what the dead process had in flight plus what it had delivered
 * without a committed mark — `maxUnconfirmed` (16) + the connector's `pipeline` (IRC 16) = 32.
 * The same for a Telegram chat, whose sendMessage calls are pipelined 16 deep on one connection.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index.js';
import { freePort, startNgircd, TestIrcClient, type Ngircd } from '../support/ngircd.js';
import { BridgeProcess, ChannelView, HUMAN_NICK, outboxCounts, SimControl, tempDir, waitForBotInChannel, waitUntil, writeConfigFile } from '../e2e/harness.js';
import { FakeTelegram } from '../fakes/telegram.js';
import { expectAtLeastOnce, numbersOf, range } from './support.js';

const CHANNEL = '#qq-crash-burst';
const N = 300;
const BOUND = 16 + 16;
let dir: string;
let sim: RunningSimulator;
let qq: SimControl;
let ircPort: number;
let ircd: Ngircd | undefined;
let human: TestIrcClient | undefined;
let bridge: BridgeProcess;

beforeAll(async () => {
  dir = tempDir('qqbridge-crash-burst-');
  sim = await startSimulator({ pollHoldMs: 300, log: silentLogger });
  qq = new SimControl(sim.controlUrl);
  ircPort = await freePort();
  const file = writeConfigFile({ dir, simUrl: sim.url, ircHost: '127.0.0.1', ircPort, channel: CHANNEL, mediaPort: await freePort() });
  // Limits raised: the backlog goes out as fast as the pipeline allows, not at 100/s.
  const text = readFileSync(file, 'utf8');
  const raised = text.replace('rateLimit: { perSecond: 100, burst: 100 }', 'rateLimit: { perSecond: 100000, burst: 100000 }');
  expect(raised).not.toBe(text);
  writeFileSync(file, raised);
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
const pending = () => outboxCounts(stateDir(), 'irc').pending;

it(`SIGKILL mid-burst to IRC: nothing lost, in order, at most ${BOUND} repeats`, async () => {
  // IRC is down while the backlog is queued, so it leaves as one burst once IRC is there.
  bridge.start();
  await waitUntil(`the bridge online in QQ\n${bridge.output}`, async () => ((await qq.state()).sessions.some((s) => s.online) ? true : undefined), 20_000, 50);
  for (const n of range(N)) await qq.say(`burst-q ${n}`);
  await waitUntil(`${N} pending IRC items\n${bridge.output}`, () => (pending() >= N ? true : undefined), 20_000, 20);
  await bridge.kill('SIGKILL');

  ircd = await startNgircd({ port: ircPort });
  human = await TestIrcClient.connect(ircd.host, ircd.port, HUMAN_NICK);
  await human.join(CHANNEL);
  const view = new ChannelView(human, CHANNEL);
  bridge.start();
  // Kill once a good part of the burst is out, while the rest is on its way.
  await view.waitForTexts(`a third of the burst on IRC\n${bridge.output}`, (t) => numbersOf(t, 'burst-q').length >= N / 3, 30_000);
  await bridge.kill('SIGKILL');
  const seenAtKill = numbersOf(view.texts(), 'burst-q').length;
  expect(seenAtKill).toBeLessThan(N);

  bridge.start();
  await view.waitForTexts(`every number on IRC\n${bridge.output}`, (t) => numbersOf(t, 'burst-q').includes(N), 30_000);
  await waitUntil('the outbox to drain', () => (pending() === 0 ? true : undefined), 10_000);
  await new Promise((r) => setTimeout(r, 500));

  const r = expectAtLeastOnce(numbersOf(view.texts(), 'burst-q'), range(N), BOUND, 'IRC burst across a SIGKILL');
  expect(outboxCounts(stateDir(), 'irc')).toEqual({ pending: 0, delivered: N });
  if (process.env.QQBRIDGE_FAULT_LOG) console.log({ seenAtKill, duplicates: r.duplicates });
}, 120_000);

it(`SIGKILL mid-burst to Telegram (sendMessage pipelined): nothing lost, in order, at most ${BOUND} repeats`, async () => {
  const TOKEN = '123456:AAcrashTOKEN_value-xyz';
  const CHAT = -1004242;
  const tgDir = tempDir('qqbridge-crash-burst-tg-');
  const tgSim = await startSimulator({ pollHoldMs: 300, log: silentLogger });
  const tg = await new FakeTelegram({ token: TOKEN }).start();
  const tgQq = new SimControl(tgSim.controlUrl);
  // IRC is not there at all in this case (its items wait); limits raised so the backlog leaves as fast as the pipeline allows.
  const file = writeConfigFile({
    dir: tgDir,
    simUrl: tgSim.url,
    ircHost: '127.0.0.1',
    ircPort: await freePort(),
    channel: '#qq-crash-burst-tg',
    mediaPort: await freePort(),
    extraYaml: {
      top: ['telegram:', `  token: ${JSON.stringify(TOKEN)}`, `  apiRoot: ${JSON.stringify(tg.apiRoot)}`, '  rateLimit: { perSecond: 100000, burst: 100000 }'],
      link: [`    telegram: ${CHAT}`],
    },
  });
  const tgBridge = new BridgeProcess(file);
  const tgPending = () => outboxCounts(join(tgDir, 'state'), 'telegram').pending;
  const received = () => numbersOf(tg.sentTo(CHAT).map((m) => m.text ?? ''), 'burst-t');
  try {
    // Telegram unreachable for the first run (getMe unanswered): the backlog is queued, not sent.
    const releaseGetMe = tg.hold('getMe');
    tgBridge.start();
    await waitUntil(`the bridge online in QQ\n${tgBridge.output}`, async () => ((await tgQq.state()).sessions.some((s) => s.online) ? true : undefined), 20_000, 50);
    for (const n of range(N)) await tgQq.say(`burst-t ${n}`);
    await waitUntil(`${N} pending Telegram items\n${tgBridge.output}`, () => (tgPending() >= N ? true : undefined), 20_000, 20);
    await tgBridge.kill('SIGKILL');
    releaseGetMe();
    expect(received()).toEqual([]);

    tgBridge.start();
    // Kill once a good part of the burst is out, while the rest is on its way.
    await waitUntil(`a third of the burst on Telegram\n${tgBridge.output}`, () => (received().length >= N / 3 ? true : undefined), 30_000, 2);
    await tgBridge.kill('SIGKILL');
    const seenAtKill = received().length;
    expect(seenAtKill).toBeLessThan(N);
    // The sends were pipelined when the process died.
    expect(tg.maxPipelined).toBeGreaterThan(1);

    tgBridge.start();
    await waitUntil(`every number on Telegram\n${tgBridge.output}`, () => (received().includes(N) ? true : undefined), 30_000, 20);
    await waitUntil('the Telegram outbox to drain', () => (tgPending() === 0 ? true : undefined), 10_000);
    await new Promise((r) => setTimeout(r, 500));

    const r = expectAtLeastOnce(received(), range(N), BOUND, 'Telegram burst across a SIGKILL');
    expect(outboxCounts(join(tgDir, 'state'), 'telegram')).toEqual({ pending: 0, delivered: N });
    if (process.env.QQBRIDGE_FAULT_LOG) console.log({ seenAtKill, duplicates: r.duplicates, maxPipelined: tg.maxPipelined });
  } finally {
    await tgBridge.kill();
    await tg.stop();
    await tgSim.close();
    rmSync(tgDir, { recursive: true, force: true });
  }
}, 120_000);
