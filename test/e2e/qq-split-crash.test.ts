/**
 * A long message goes to QQ as several pieces. The send fails after the first piece, and the
 * bridge process is killed (SIGKILL) before it tries again: the pieces already in the group are
 * kept with the outbox item, durably, so the next process sends only the missing ones (issue 9,
 * part 4: no piece twice, none lost, in order).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index.js';
import { FakeTelegram } from '../fakes/telegram.js';
import { freePort } from '../support/ngircd.js';
import { BridgeProcess, outboxCounts, SimControl, telegramYaml, tempDir, waitUntil, writeConfigFile } from './harness.js';

const TOKEN = '424242:split-crash-token';
const CHAT = -100777;
let dir: string;
let sim: RunningSimulator;
let qq: SimControl;
let tg: FakeTelegram;
let bridge: BridgeProcess;

beforeAll(async () => {
  dir = tempDir('qqbridge-split-crash-');
  sim = await startSimulator({ pollHoldMs: 300, log: silentLogger });
  qq = new SimControl(sim.controlUrl);
  tg = await new FakeTelegram({ token: TOKEN }).start();
  // IRC is configured but never comes up: only Telegram → QQ traffic matters here.
  const file = writeConfigFile({
    dir, simUrl: sim.url, ircHost: '127.0.0.1', ircPort: await freePort(), channel: '#qq-split', mediaPort: await freePort(),
    extraYaml: telegramYaml(tg.apiRoot, TOKEN, CHAT),
  });
  bridge = new BridgeProcess(file);
});
afterAll(async () => {
  await bridge?.kill();
  await tg?.stop();
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

const stateDir = () => join(dir, 'state');
type Attempt = { account: number; at: number; outcome: string };

async function startAndWaitOnline(): Promise<void> {
  const before = JSON.stringify((await qq.state()).sessions.map((s) => s.ptwebqq + s.relinks + s.polls));
  bridge.start();
  await waitUntil(`the bridge process to log in to QQ\n${bridge.output}`, async () => {
    if (!bridge.running) throw new Error(`bridge exited:\n${bridge.output}`);
    const st = await qq.state();
    const now = JSON.stringify(st.sessions.map((s) => s.ptwebqq + s.relinks + s.polls));
    return now !== before && st.sessions.some((s) => s.online) ? true : undefined;
  }, 20_000, 100);
}

it('SIGKILL after a split QQ message failed part-way: the next process sends only the missing pieces', async () => {
  await startAndWaitOnline();
  // The first piece is accepted, the next send meets a gateway error (not delivered).
  await qq.fault({ send: { http: 502, after: 1 } });
  const lines = Array.from({ length: 60 }, (_, i) => `line ${String(i + 1).padStart(2, '0')} of a long message typed in Telegram`);
  const text = lines.join('\n');
  expect(Buffer.byteLength(text)).toBeGreaterThan(2 * 720); // three pieces or more at WebQQ's 720 bytes
  tg.message(CHAT, { id: 501, first_name: 'Alice' }, { text });

  // Killed right after the failed attempt, long before the outbox's first retry (1 s or more).
  await waitUntil(`a failed send attempt\n${bridge.output}`, async () => {
    const attempts = await qq.call<Attempt[]>('GET', '/send-attempts');
    return attempts.some((a) => a.outcome === 'fault') ? true : undefined;
  }, 20_000, 20);
  await bridge.kill('SIGKILL');
  const before = await qq.waitForSent('the first piece', (s) => s.length >= 1);
  expect(before).toHaveLength(1);
  expect(outboxCounts(stateDir(), 'qq')).toEqual({ pending: 1, delivered: 0 });

  await startAndWaitOnline();
  const sent = await qq.waitForSent(`the rest of the message\n${bridge.output}`, (s) => s.map((x) => x.text).join('').includes(lines[59]!), 30_000);
  await waitUntil('the outbox to drain', () => (outboxCounts(stateDir(), 'qq').pending === 0 ? true : undefined), 10_000);
  // Every line once, in order: the first piece was not sent again.
  const received = sent.map((s) => s.text).join('');
  for (const l of lines) expect(received.split(l).length - 1, l).toBe(1);
  expect(received.indexOf(lines[0]!)).toBeLessThan(received.indexOf(lines[59]!));
  expect(sent.length).toBeGreaterThanOrEqual(3);
  expect(outboxCounts(stateDir(), 'qq')).toEqual({ pending: 0, delivered: 1 });
  expect(await qq.violations()).toEqual([]);
}, 90_000);
