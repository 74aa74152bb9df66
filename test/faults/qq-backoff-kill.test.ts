/**
 * issue 18: kill -9 of the bridge process while the QQ account is backing off (QQ refusing its
 * messages), for OneBot (NapCat's late 1200 "Timeout: NTEvent … sendMsg") and Milky
 * (Lagrange.Milky's retcode 46). A real IRC server (ngircd) on one side, the simulator on the
 * other, the bridge a child process. Held messages live in the durable outbox, not in memory: after
 * the restart and the end of the refusal, every line reaches QQ, in order, with at most one
 * duplicate for the crash (a send the implementation took whose answer the killed process never
 * recorded), and the restarted process does not storm the refusing account.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OneBotSimulator } from '../../src/connectors/qq/onebot/simulator/simulator.js';
import { startMilkySimulator, type RunningMilkySimulator } from '../../src/connectors/qq/milky/simulator/index.js';
import { freePort, startNgircd, TestIrcClient, type Ngircd } from '../support/ngircd.js';
import { BridgeProcess, HUMAN_NICK, tempDir, waitForBotInChannel, waitUntil, writeConfigFile } from '../e2e/harness.js';
import { expectAtLeastOnce, numbersOf, range, sleep } from './support.js';

const TOKEN = 'backoff-token';
const REFUSE_MS = 6000;
const N = 10;

const dir = tempDir('qqbridge-backoff-kill-');
const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  while (closers.length) await closers.pop()!().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

/** What the test needs of each implementation's simulator. */
interface Impl {
  qqLines: string[];
  /** Connections the implementation has accepted so far (a new one proves the new process is in). */
  connections(): Promise<number>;
  connected(): Promise<boolean>;
  refuse(ms: number): Promise<void>;
  sentTexts(): Promise<string[]>;
  attempts(): Promise<Array<{ at: number; outcome: string }>>;
}

async function oneBot(): Promise<Impl> {
  const sim = new OneBotSimulator({ accessToken: TOKEN, heartbeatIntervalMs: 1000 });
  const url = await sim.listen(0);
  closers.push(() => sim.close());
  return {
    qqLines: ['  protocol: onebot', '  onebot:', `    url: ${url}`, `    accessToken: ${TOKEN}`],
    connections: async () => sim.connections,
    connected: async () => sim.connected && sim.calls.includes('get_group_member_list'),
    refuse: async (ms) => sim.refuse(ms, 300),
    sentTexts: async () => sim.sends().map((s) => s.segments.map((x) => (x.data as { text?: string }).text ?? '').join('')),
    attempts: async () => sim.sendAttempts(),
  };
}

async function milky(): Promise<Impl> {
  const sim: RunningMilkySimulator = await startMilkySimulator({ accessToken: TOKEN });
  closers.push(() => sim.close());
  const control = async (p: string, body?: unknown) => (await fetch(`${sim.controlUrl}${p}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) })).json() as Promise<any>;
  return {
    qqLines: ['  protocol: milky', '  milky:', `    url: ${sim.url}`, `    accessToken: ${TOKEN}`],
    connections: async () => (await control('/streams')).websocket,
    connected: async () => (await control('/streams')).websocket > 0,
    refuse: async (ms) => void (await control('/refuse', { forMs: ms })),
    sentTexts: async () => ((await control('/sent')) as Array<{ text: string }>).map((s) => s.text),
    attempts: async () => control('/attempts'),
  };
}

describe.each([['onebot', oneBot], ['milky', milky]] as const)('kill -9 during a back-off (%s)', (name, makeImpl) => {
  it('every line held during the refusal reaches QQ after the restart, in order, at most one duplicate; no storm', async () => {
    const impl = await makeImpl();
    const ircd: Ngircd = await startNgircd({ port: await freePort() });
    closers.push(() => ircd.stop());
    const channel = `#bo-${name}`;
    const human = await TestIrcClient.connect(ircd.host, ircd.port, HUMAN_NICK);
    closers.push(() => human.close());
    await human.join(channel);
    const mediaPort = await freePort();
    const file = writeConfigFile({
      dir: join(dir, name), ircHost: ircd.host, ircPort: ircd.port, channel, mediaPort,
      qqLines: [
        ...impl.qqLines,
        // The defaults are 30 s doubling to 30 min; the test shortens the steps, not their shape.
        '  pacing: { intervalMs: 100, jitter: 0.3, burst: 3, coalesceAfter: 0, backoffMinMs: 800, backoffMaxMs: 3000 }',
      ],
    });
    const bridge = new BridgeProcess(file);
    closers.push(() => bridge.kill());
    const startAndWait = async () => {
      // The killed process's connection is gone first (Milky counts open streams, OneBot accepted ones).
      if (name === 'milky') await waitUntil('the old stream to close', async () => ((await impl.connections()) === 0 ? true : undefined), 10_000, 50);
      const before = name === 'onebot' ? await impl.connections() : 0;
      bridge.start();
      await waitUntil(`the bridge to connect (${name})\n${bridge.output}`, async () => {
        if (!bridge.running) throw new Error(`bridge exited:\n${bridge.output}`);
        return (await impl.connections()) > before && (await impl.connected()) ? true : undefined;
      }, 30_000, 50);
      await waitForBotInChannel(human, channel);
    };

    await startAndWait();
    await impl.refuse(REFUSE_MS);
    const windowEnd = Date.now() + REFUSE_MS;
    for (const n of range(N)) human.say(channel, `bo ${n}`);
    // The account is in its back-off once QQ has refused a send (OneBot: after three late timeouts).
    await waitUntil('QQ to refuse a send', async () => ((await impl.attempts()).some((a) => a.outcome === 'refused') ? true : undefined), 15_000, 50);
    // The bridge says so (one error line per episode): the kill lands inside the back-off.
    await waitUntil('the bridge to back off', () => (/refusing this account's messages/.test(bridge.output) ? true : undefined), 15_000, 50);
    await sleep(300);
    expect(await impl.sentTexts()).toEqual([]); // nothing got through the refusal
    await bridge.kill('SIGKILL');
    await startAndWait();

    await waitUntil('every line in QQ', async () => (numbersOf(await impl.sentTexts(), 'bo').includes(N) ? true : undefined), 40_000, 100);
    await sleep(500);
    expectAtLeastOnce(numbersOf(await impl.sentTexts(), 'bo'), range(N), 1, `IRC -> QQ across kill -9 during a back-off (${name})`);
    // Two processes each found the refusal out once, then probed once per step: no storm.
    const during = (await impl.attempts()).filter((a) => a.at < windowEnd);
    expect(during.length).toBeLessThanOrEqual(name === 'onebot' ? 2 * 3 + 6 : 2 * 1 + 6);
    expect(bridge.output).not.toMatch(/FATAL|Unhandled/i);
  }, 120_000);
});
