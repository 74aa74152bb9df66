/**
 * SIGKILL during a store outage (issue 15). The bridge runs as its own process on a real
 * PostgreSQL; PostgreSQL stops while QQ talks; the bridge pauses (stops polling QQ) and holds
 * in memory the poll answer it had already taken; it is then killed before PostgreSQL returns.
 *
 * Bound, asserted: a SIGKILL during an outage loses at most what was held in memory (as /health
 * reported it just before the kill); everything QQ kept for the next poll, and everything queued
 * before the outage, arrives after the restart, in order. And past `store.outage.exitAfterSeconds`
 * the process says why and exits with status 75, for its service manager to restart it.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
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
    await bridge.kill(); // the next scenario runs its own bridge on the same QQ account
  }
}, 120_000);

it('a store away past store.outage.exitAfterSeconds: the process says why and exits with status 75', async () => {
  const url = await pgServer.createDatabase();
  const d = tempDir('qqbridge-outage-exit-');
  const file = writeConfigFile({
    dir: d,
    simUrl: sim.url,
    ircHost: ircd.host,
    ircPort: ircd.port,
    channel: CHANNEL,
    mediaPort: await freePort(),
    logLevel: 'info',
    extraYaml: { top: ['store:', `  url: ${JSON.stringify(url)}`, '  outage:', '    exitAfterSeconds: 2'] },
  });
  const proc = spawn(process.execPath, ['--import', 'tsx', join(process.cwd(), 'src/cli/main.ts'), 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  try {
    await waitUntil(`the bridge running\n${out}`, () => (out.includes('bridge running') ? true : undefined), 30_000);
    await pgServer.stopServer();
    await qq.say('exit-q 1'); // a write finds the store gone
    const t0 = Date.now();
    const code = await Promise.race([exited, sleep(30_000).then(() => 'timeout' as const)]);
    expect(code, out).toBe(75);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_500);
    expect(out).toMatch(/store stayed unavailable past store\.outage\.exitAfterSeconds/);
  } finally {
    proc.kill('SIGKILL');
    await pgServer.startServer().catch(() => undefined);
    rmSync(d, { recursive: true, force: true });
  }
}, 90_000);
