/**
 * kill -9 of the bridge process while QQ (Milky) messages stream in: the next process pages back
 * through the group's history to the last message its store knows and relays what came after, so
 * a real IRC channel (ngircd) shows every message, in order, with at most one duplicate for the
 * crash.
 */
import { rmSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { startMilkySimulator, type RunningMilkySimulator } from '../../../../src/connectors/qq/milky/simulator/index.js';
import { freePort, startNgircd, TestIrcClient, type Ngircd } from '../../../support/ngircd.js';
import { BridgeProcess, ChannelView, HUMAN_NICK, tempDir, waitForBotInChannel, waitUntil, writeConfigFile } from '../../../e2e/harness.js';
import { ALICE, GROUP, ROBOT } from './harness.js';

const CHANNEL = '#mk-crash';
const TOKEN = 'crash-token';
const dir = tempDir('qqbridge-milky-crash-');
let sim: RunningMilkySimulator | undefined;
let ircd: Ngircd | undefined;
let human: TestIrcClient | undefined;
let bridge: BridgeProcess | undefined;

afterAll(async () => {
  await bridge?.kill();
  await human?.close();
  await ircd?.stop();
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('kill -9 mid-stream: every QQ message reaches IRC after the restart, in order, at most one duplicate', async () => {
  sim = await startMilkySimulator({ accessToken: TOKEN });
  const control = async (p: string, body?: unknown) => (await fetch(`${sim!.controlUrl}${p}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) })).json() as Promise<any>;
  ircd = await startNgircd({ port: await freePort() });
  human = await TestIrcClient.connect(ircd.host, ircd.port, HUMAN_NICK);
  await human.join(CHANNEL);
  const view = new ChannelView(human, CHANNEL);
  const mediaPort = await freePort();
  const file = writeConfigFile({
    dir, ircHost: ircd.host, ircPort: ircd.port, channel: CHANNEL, mediaPort,
    qqLines: ['  protocol: milky', '  milky:', `    url: ${sim.url}`, `    accessToken: ${TOKEN}`],
  });
  bridge = new BridgeProcess(file);

  const startAndWait = async () => {
    await waitUntil('the old stream to close', async () => ((await control('/streams')).websocket === 0 ? true : undefined), 10_000, 50);
    bridge!.start();
    await waitUntil(`the bridge to connect to Milky\n${bridge!.output}`, async () => {
      if (!bridge!.running) throw new Error(`bridge exited:\n${bridge!.output}`);
      return (await control('/streams')).websocket > 0 ? true : undefined;
    }, 30_000, 50);
    await waitForBotInChannel(human!, CHANNEL);
  };

  await startAndWait();
  const N = 40;
  let i = 0;
  for (; i < 12; i++) {
    await control('/inject', { group: GROUP, from: ALICE, text: `crash ${i}` });
    await new Promise((r) => setTimeout(r, 30));
  }
  await bridge.kill('SIGKILL');
  // More than a history page (30) while the bridge is down.
  for (; i < N; i++) await control('/inject', { group: GROUP, from: ROBOT, text: `crash ${i}` });
  await startAndWait();

  const want = Array.from({ length: N }, (_, k) => `crash ${k}`);
  const texts = await view.waitForTexts(`all ${N} on IRC`, (t) => want.every((w) => t.some((x) => x.endsWith(w))), 30_000).catch((e: Error) => {
    throw new Error(`${e.message}\nIRC saw: ${JSON.stringify(view.texts())}\nbridge:\n${bridge!.output}`);
  });
  const seen = texts.map((t) => /crash \d+$/.exec(t)?.[0]).filter((x): x is string => x !== undefined);
  const firstOrder = seen.filter((x, k) => seen.indexOf(x) === k);
  expect(firstOrder).toEqual(want);
  expect(seen.length - want.length).toBeLessThanOrEqual(1);
}, 90_000);
