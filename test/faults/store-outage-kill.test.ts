/**
 * SIGKILL during a store outage (issue 15). The bridge runs as its own process on a real
 * PostgreSQL; PostgreSQL stops while QQ talks; the bridge pauses (stops polling QQ) and holds
 * in memory the poll answer it had already taken; it is then killed before PostgreSQL returns.
 *
 * Bound, asserted: a SIGKILL during an outage loses at most what was held in memory (as /health
 * reported it just before the kill); everything QQ kept for the next poll, and everything queued
 * before the outage, arrives after the restart, in order.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index.js';
import { freePort, startNgircd, TestIrcClient, type Ngircd } from '../support/ngircd.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { BridgeProcess, ChannelView, HUMAN_NICK, SimControl, tempDir, waitForBotInChannel, waitUntil, writeConfigFile } from '../e2e/harness.js';
import { analyse, numbersOf, range, sleep } from './support.js';

const CHANNEL = '#qq-outage-kill';
let dir: string;
let sim: RunningSimulator;
let qq: SimControl;
let ircd: Ngircd;
let human: TestIrcClient;
let bridge: BridgeProcess;
let pgServer: TestPostgres;
let healthUrl: string;

beforeAll(async () => {
  pgServer = await startPostgres();
  const url = await pgServer.createDatabase();
  dir = tempDir('qqbridge-outage-kill-');
  sim = await startSimulator({ pollHoldMs: 300, log: silentLogger });
  qq = new SimControl(sim.controlUrl);
  ircd = await startNgircd();
  human = await TestIrcClient.connect(ircd.host, ircd.port, HUMAN_NICK);
  await human.join(CHANNEL);
  const port = await freePort();
  healthUrl = `http://127.0.0.1:${port}/health`;
  const file = writeConfigFile({
    dir,
    simUrl: sim.url,
    ircHost: ircd.host,
    ircPort: ircd.port,
    channel: CHANNEL,
    mediaPort: await freePort(),
    logLevel: 'info',
    extraYaml: { top: ['store:', `  url: ${JSON.stringify(url)}`, 'metrics:', '  enabled: true', '  bindAddress: 127.0.0.1', `  port: ${port}`] },
  });
  bridge = new BridgeProcess(file);
}, 60_000);
afterAll(async () => {
  await bridge?.kill();
  await human?.close();
  await ircd?.stop();
  await sim?.close();
  await pgServer?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function health(): Promise<{ problems: string[]; store?: { state: string; held: number } }> {
  return (await fetch(healthUrl)).json() as Promise<{ problems: string[]; store?: { state: string; held: number } }>;
}

it('SIGKILL while the store is away loses at most what was held in memory; the rest arrives after the restart', async () => {
  const view = new ChannelView(human, CHANNEL);
  bridge.start();
  await waitForBotInChannel(human, CHANNEL, 20_000);
  await waitUntil(`the bridge online in QQ\n${bridge.output}`, async () => ((await qq.state()).sessions.some((s) => s.online) ? true : undefined), 20_000);
  for (const n of range(5)) await qq.say(`ok-q ${n}`);
  await view.waitForTexts('1..5 on IRC', (t) => numbersOf(t, 'ok-q').includes(5), 20_000);

  await pgServer.stopServer();
  let n = 5;
  try {
    // QQ keeps talking; the bridge notices at its next write and pauses.
    await waitUntil(
      `the store reported unavailable in /health\n${bridge.output}`,
      async () => {
        await qq.say(`ok-q ${++n}`);
        await sleep(150);
        const h = await health().catch(() => undefined);
        return h?.store?.state === 'unavailable' ? true : undefined;
      },
      20_000,
    );
    for (let i = 0; i < 5; i++) {
      await qq.say(`ok-q ${++n}`);
      await sleep(150);
    }
    await sleep(1_000);
    const h = await health();
    expect(h.problems[0]).toMatch(/^store: unavailable since .*, \d+ messages? held/);
    const heldAtKill = h.store!.held;
    await bridge.kill('SIGKILL');

    await pgServer.startServer();
    bridge.start();
    await view.waitForTexts(`the last message on IRC\n${bridge.output}`, (t) => numbersOf(t, 'ok-q').includes(n), 40_000);
    await sleep(1_000);
    const r = analyse(numbersOf(view.texts(), 'ok-q'), range(n));
    // Lost: only messages from the outage, and no more than were held when the process died.
    expect(r.missing.length, `missing ${JSON.stringify(r.missing)}, held at the kill ${heldAtKill}`).toBeLessThanOrEqual(heldAtKill);
    expect(r.missing.every((m) => m > 5)).toBe(true);
    expect(r.firstSeen).toEqual(range(n).filter((m) => !r.missing.includes(m)));
    expect(r.duplicates).toBeLessThanOrEqual(17);
    if (process.env.QQBRIDGE_FAULT_LOG) console.log({ said: n, heldAtKill, missing: r.missing, duplicates: r.duplicates });
  } finally {
    await pgServer.startServer().catch(() => undefined);
  }
}, 120_000);
