/**
 * The bridge process dies (SIGKILL) while QQ messages wait for an unreachable IRC server: a new
 * process on the same state directory delivers every one of them, in order, exactly once.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index.js';
import { freePort, startNgircd, TestIrcClient, type Ngircd } from '../support/ngircd.js';
import { BridgeProcess, ChannelView, HUMAN_NICK, outboxCounts, SimControl, tempDir, waitForBotInChannel, waitUntil, writeConfigFile } from './harness.js';

const CHANNEL = '#qq-crash';
let dir: string;
let sim: RunningSimulator;
let qq: SimControl;
let ircPort: number;
let ircd: Ngircd | undefined;
let human: TestIrcClient | undefined;
let bridge: BridgeProcess;

beforeAll(async () => {
  dir = tempDir('qqbridge-crash-');
  sim = await startSimulator({ pollHoldMs: 300, log: silentLogger });
  qq = new SimControl(sim.controlUrl);
  ircPort = await freePort();
  const file = writeConfigFile({ dir, simUrl: sim.url, ircHost: '127.0.0.1', ircPort, channel: CHANNEL, mediaPort: await freePort() });
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
const qqOnline = async () => ((await qq.state()).sessions.some((s) => s.online) ? true : undefined);

/** Starts a bridge process and waits until it is logged in to QQ. */
async function startBridgeProcess(): Promise<void> {
  const before = JSON.stringify((await qq.state()).sessions.map((s) => s.ptwebqq + s.relinks + s.polls));
  bridge.start();
  await waitUntil(`the bridge process to log in to QQ\n${bridge.output}`, async () => {
    if (!bridge.running) throw new Error(`bridge exited:\n${bridge.output}`);
    const now = JSON.stringify((await qq.state()).sessions.map((s) => s.ptwebqq + s.relinks + s.polls));
    return now !== before && (await qqOnline()) ? true : undefined;
  }, 20_000, 100);
}

/** Injects numbered QQ messages and waits until the bridge has queued them durably for IRC. */
async function queue(from: number, to: number, pendingAfter: number): Promise<void> {
  for (let i = from; i <= to; i++) await qq.say(`crash-seq ${i}`);
  await waitUntil(`${pendingAfter} pending IRC items in the outbox\n${bridge.output}`, () => {
    try {
      return outboxCounts(stateDir(), 'irc').pending >= pendingAfter ? true : undefined;
    } catch {
      return undefined; // the database is not created yet
    }
  }, 15_000, 50);
}

it('messages queued for IRC survive two SIGKILLs in a row and arrive once, in order', async () => {
  // IRC is down from the start: nothing can be delivered, everything queues.
  await startBridgeProcess();
  await queue(1, 10, 10);
  await bridge.kill('SIGKILL');

  // A second process, IRC still down: it takes more messages, then dies the same way.
  await startBridgeProcess();
  await queue(11, 20, 20);
  await bridge.kill('SIGKILL');
  expect(outboxCounts(stateDir(), 'irc')).toEqual({ pending: 20, delivered: 0 });

  // IRC comes back, a person is in the channel, and a third process starts on the same state.
  ircd = await startNgircd({ port: ircPort });
  human = await TestIrcClient.connect(ircd.host, ircd.port, HUMAN_NICK);
  await human.join(CHANNEL);
  const view = new ChannelView(human, CHANNEL);
  bridge.start();
  await waitForBotInChannel(human, CHANNEL, 20_000);
  await view.waitForTexts(`all 20 messages\n${bridge.output}`, (t) => t.includes('[robot] crash-seq 20'), 20_000);
  await waitUntil('the outbox to drain', () => (outboxCounts(stateDir(), 'irc').pending === 0 ? true : undefined), 5_000);
  expect(view.texts().filter((t) => t.startsWith('[robot] crash-seq '))).toEqual(Array.from({ length: 20 }, (_, i) => `[robot] crash-seq ${i + 1}`));
  expect(outboxCounts(stateDir(), 'irc')).toEqual({ pending: 0, delivered: 20 });
}, 80_000);
