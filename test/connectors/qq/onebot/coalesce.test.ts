/**
 * A backlog from IRC joined into fewer QQ messages (qq.pacing.coalesceAfter), end to end: a real
 * ngircd, the bridge as a child process (`qqbridge run`), the OneBot simulator over a real
 * WebSocket. What a QQ member sees: every line, in order, in fewer messages, the account paced;
 * after a kill -9 the joined message that was in flight is sent again carrying exactly the same
 * lines, not re-mixed with what queued behind it.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Pacer } from '../../../../src/connectors/qq/account/scheduler.js';
import { OneBotSimulator } from '../../../../src/connectors/qq/onebot/simulator/simulator.js';
import { freePort, startNgircd, TestIrcClient, type Ngircd } from '../../../support/ngircd.js';
import { BridgeProcess, ChannelView, HUMAN_NICK, outboxCounts, tempDir, waitForBotInChannel, waitUntil, writeConfigFile } from '../../../e2e/harness.js';

const CHANNEL = '#ob-join';
const PACING = { intervalMs: 250, jitter: 0.3, burst: 3 };

interface Setup {
  sim: OneBotSimulator;
  ircd: Ngircd;
  human: TestIrcClient;
  view: ChannelView;
  bridge: BridgeProcess;
  stateDir: string;
  /** Starts (or restarts) the bridge and waits until it is in the channel and talking to OneBot. */
  start(): Promise<void>;
}

const open: Array<{ s: Setup; dir: string }> = [];
afterEach(async () => {
  for (const { s, dir } of open.splice(0)) {
    await s.bridge.kill();
    await s.human.close();
    await s.ircd.stop();
    await s.sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

async function setup(coalesceAfter: number): Promise<Setup> {
  const dir = tempDir('qqbridge-onebot-join-');
  const sim = new OneBotSimulator({ accessToken: 'join-token', heartbeatIntervalMs: 1000 });
  const url = await sim.listen(0);
  const ircd = await startNgircd({ port: await freePort() });
  const human = await TestIrcClient.connect(ircd.host, ircd.port, HUMAN_NICK);
  await human.join(CHANNEL);
  const mediaPort = await freePort();
  const file = writeConfigFile({
    dir, ircHost: ircd.host, ircPort: ircd.port, channel: CHANNEL, mediaPort,
    qqLines: [
      '  protocol: onebot',
      `  pacing: { intervalMs: ${PACING.intervalMs}, jitter: ${PACING.jitter}, burst: ${PACING.burst}, coalesceAfter: ${coalesceAfter}, backoffMinMs: 400, backoffMaxMs: 1000 }`,
      '  onebot:',
      `    url: ${url}`,
      '    accessToken: join-token',
    ],
  });
  const stateDir = join(dir, 'state');
  const bridge = new BridgeProcess(file);
  const s: Setup = {
    sim, ircd, human, bridge, stateDir,
    view: new ChannelView(human, CHANNEL),
    async start() {
      const conns = sim.connections;
      const calls = sim.calls.length;
      bridge.start();
      await waitUntil(`the bridge to connect to OneBot\n${bridge.output}`, () => {
        if (!bridge.running) throw new Error(`bridge exited:\n${bridge.output}`);
        return sim.connections > conns && sim.calls.slice(calls).includes('get_group_member_list') ? true : undefined;
      }, 30_000, 50);
      await waitForBotInChannel(human, CHANNEL);
    },
  };
  open.push({ s, dir });
  return s;
}

/** The text of each message the account got accepted, in order. */
const sentTexts = (sim: OneBotSimulator) => sim.sends().map((x) => x.segments.map((seg) => (seg.data as { text?: string }).text ?? '').join(''));

/** Every pair of accepted sends obeys the pacing bound (50 ms slack for the socket between). */
function expectPaced(sim: OneBotSimulator): void {
  const at = sim.sends().map((x) => x.at);
  for (let i = 0; i < at.length; i++) {
    for (let j = i + 1; j < at.length; j++) expect(j - i + 1).toBeLessThanOrEqual(Pacer.maxSendsIn(at[j]! - at[i]! + 50, PACING));
  }
}

async function say20(s: Setup, tag: string): Promise<string[]> {
  const lines = Array.from({ length: 20 }, (_, i) => `${tag} line ${i}`);
  for (const l of lines) {
    s.human.say(CHANNEL, l);
    await new Promise((r) => setTimeout(r, 50)); // 20 lines in one second
  }
  return lines.map((l) => `[${HUMAN_NICK}] ${l}`);
}

describe('coalescing a backlog over OneBot', () => {
  it('20 lines from IRC in one second reach QQ complete, in order, in fewer QQ messages, paced', async () => {
    const s = await setup(3);
    await s.start();
    const want = await say20(s, 'busy');
    await waitUntil('all 20 lines in the QQ group', () => (sentTexts(s.sim).flatMap((t) => t.split('\n')).length >= 20 ? true : undefined), 30_000);
    const texts = sentTexts(s.sim);
    expect(texts.flatMap((t) => t.split('\n'))).toEqual(want);
    expect(texts.length).toBeLessThan(20);
    expect(texts.length).toBeLessThanOrEqual(10);
    expect(texts.some((t) => t.split('\n').length > 3)).toBe(true);
    expectPaced(s.sim);
    expect(s.sim.violations()).toEqual([]);
  }, 90_000);

  it('coalesceAfter: 0 turns it off: one QQ message per line, still paced', async () => {
    const s = await setup(0);
    await s.start();
    const want = await say20(s, 'plain');
    await waitUntil('all 20 lines in the QQ group', () => (sentTexts(s.sim).length >= 20 ? true : undefined), 30_000);
    expect(sentTexts(s.sim)).toEqual(want);
    expectPaced(s.sim);
  }, 90_000);

  it('kill -9 while a joined message is in flight: after the restart it is sent with exactly the same lines, then what queued behind it', async () => {
    const s = await setup(3);
    await s.start();
    // The account goes offline: the lines wait in the outbox (the bridge says so once in the channel).
    s.sim.setAccountOnline(false);
    await s.view.waitForText((t) => t.includes('QQ account offline'), 10_000);
    const first = await say20(s, 'held');
    await waitUntil('20 lines queued for QQ', () => (outboxCounts(s.stateDir, 'qq').pending >= 20 ? true : undefined), 10_000);
    // Back online, but QQ answers the next send only after a long while (NapCat's blocked send):
    // the joined message is in flight when the process dies.
    s.sim.refuse(60_000, 15_000);
    const attempts = s.sim.sendAttempts().length;
    s.sim.setAccountOnline(true);
    await waitUntil('the joined send in flight', () => (s.sim.sendAttempts().length > attempts ? true : undefined), 10_000);
    const behind = ['late 0', 'late 1', 'late 2', 'late 3', 'late 4'];
    for (const l of behind) s.human.say(CHANNEL, l);
    await waitUntil('25 lines queued for QQ', () => (outboxCounts(s.stateDir, 'qq').pending >= 25 ? true : undefined), 10_000);
    await s.bridge.kill('SIGKILL');
    expect(s.sim.sends()).toEqual([]);

    s.sim.refuse(0);
    await s.start();
    await waitUntil('all 25 lines in the QQ group', () => (sentTexts(s.sim).flatMap((t) => t.split('\n')).length >= 25 ? true : undefined), 30_000);
    const texts = sentTexts(s.sim);
    // Exactly the 20 lines the interrupted message carried, then the 5 behind it on their own.
    expect(texts[0]).toBe(first.join('\n'));
    expect(texts.slice(1).flatMap((t) => t.split('\n'))).toEqual(behind.map((l) => `[${HUMAN_NICK}] ${l}`));
    await waitUntil('the outbox empty', () => (outboxCounts(s.stateDir, 'qq').pending === 0 ? true : undefined), 10_000);
  }, 120_000);
});
