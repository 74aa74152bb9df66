/**
 * kill -9 of the bridge process while QQ (OneBot) messages stream in: the next process catches up
 * from the group history, and a real IRC channel shows every message, in order, with at most one
 * duplicate for the crash.
 */
import { rmSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { OneBotSimulator } from '../../../../src/connectors/qq/onebot/simulator/simulator.js';
import { freePort, startNgircd, TestIrcClient, type Ngircd } from '../../../support/ngircd.js';
import { BridgeProcess, ChannelView, HUMAN_NICK, tempDir, waitForBotInChannel, waitUntil, writeConfigFile } from '../../../e2e/harness.js';
import { GROUP, MEMBERS } from './harness.js';

const CHANNEL = '#ob-crash';
const dir = tempDir('qqbridge-onebot-crash-');
let sim: OneBotSimulator | undefined;
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
  sim = new OneBotSimulator({ accessToken: 'crash-token', heartbeatIntervalMs: 1000 });
  const url = await sim.listen(0);
  ircd = await startNgircd({ port: await freePort() });
  human = await TestIrcClient.connect(ircd.host, ircd.port, HUMAN_NICK);
  await human.join(CHANNEL);
  const view = new ChannelView(human, CHANNEL);
  const mediaPort = await freePort();
  const file = writeConfigFile({
    dir, ircHost: ircd.host, ircPort: ircd.port, channel: CHANNEL, mediaPort,
    qqLines: ['  protocol: onebot', '  onebot:', `    url: ${url}`, '    accessToken: crash-token'],
  });
  bridge = new BridgeProcess(file);

  const startAndWait = async () => {
    const conns = sim!.connections;
    bridge!.start();
    await waitUntil(`the bridge to connect to OneBot\n${bridge!.output}`, () => {
      if (!bridge!.running) throw new Error(`bridge exited:\n${bridge!.output}`);
      return sim!.connections > conns && sim!.calls.includes('get_group_member_list') ? true : undefined;
    }, 30_000, 50);
    await waitForBotInChannel(human!, CHANNEL);
  };

  await startAndWait();
  const N = 30;
  let i = 0;
  for (; i < 12; i++) {
    sim.inject(GROUP, MEMBERS.huxi, `crash ${i}`);
    await new Promise((r) => setTimeout(r, 30));
  }
  await bridge.kill('SIGKILL');
  for (; i < N; i++) sim.inject(GROUP, MEMBERS.robot, `crash ${i}`);
  await startAndWait();

  const want = Array.from({ length: N }, (_, k) => `crash ${k}`);
  const texts = await view.waitForTexts('all 30 on IRC', (t) => want.every((w) => t.some((x) => x.endsWith(w))), 30_000);
  const seen = texts.map((t) => /crash \d+$/.exec(t)?.[0]).filter((x): x is string => x !== undefined);
  const firstOrder = seen.filter((x, k) => seen.indexOf(x) === k);
  expect(firstOrder).toEqual(want);
  expect(seen.length - want.length).toBeLessThanOrEqual(1);
}, 90_000);
