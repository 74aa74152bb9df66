/**
 * Another process holds the write lock on the bridge's SQLite file (a second connection in
 * `BEGIN IMMEDIATE`, as the `sqlite3` shell or a maintenance script does) for several seconds
 * while QQ → IRC and IRC → QQ traffic flows through the bridge (WebQQ simulator, real ngircd).
 *
 * What is asserted (issue 15), with no restart and no help:
 * - the lock makes the store "unavailable" (SQLITE_BUSY), not a failed message: input pauses
 *   (WebQQ is no longer polled), IRC lines are held in memory, and /health's first problem names
 *   the store and the lock;
 * - the bridge keeps running meanwhile: the event loop never stands still for long (better-sqlite3
 *   waits for a lock synchronously, so a long busy timeout froze the whole process);
 * - once the lock is released the bridge resumes by itself and every message of both directions
 *   arrives, in order, none lost; a repeat only within the outbox's window (16, the README's bound).
 *
 * SQLITE_IOERR takes the same path (every SQLite error becomes a StoreError) but cannot be made
 * for real here: it needs a device that fails reads or writes (device-mapper or FUSE), and this
 * machine has neither a device-mapper nor a FUSE library.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { healthReport } from '../../src/ops/health.js';
import { SQLITE_FILE } from '../../src/store/store.js';
import { GROUP, ROOT, startHarness, waitUntil, type Harness } from '../e2e/harness.js';
import { analyse, capturedLogger, numbersOf, range, sleep } from './support.js';

/** The README's duplicate bound per target room: the outbox's pipeline window. */
const WINDOW = 16;
const LOCK_MS = 6_000;

/** A second process that takes the database's write lock and keeps it until `release()`. */
async function holdWriteLock(file: string): Promise<{ release(): Promise<void>; child: ChildProcess }> {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(${JSON.stringify(file)}, { timeout: 10000 });
    db.exec('BEGIN IMMEDIATE');
    db.prepare("INSERT INTO kv (key, value, updated_at) VALUES ('lock-holder', 'x', 0) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run();
    process.stdout.write('locked\\n');
    process.stdin.resume();
    process.stdin.on('end', () => { db.exec('COMMIT'); db.close(); process.stdout.write('released\\n'); });
  `;
  const child = spawn(process.execPath, ['-e', script], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  await waitUntil('the second connection to hold the write lock', () => (out.includes('locked') ? true : undefined), 15_000, 10);
  return {
    child,
    async release() {
      child.stdin!.end();
      expect(await exited, `the lock holder's exit (${out})`).toBe(0);
      expect(out).toContain('released');
    },
  };
}

let h: Harness;
const logs = capturedLogger('info');
beforeAll(async () => {
  h = await startHarness({ channel: '#qq-busy', log: logs.log });
}, 60_000);
afterAll(async () => {
  await h?.close();
});

it('a write lock held by another process for a few seconds pauses input and holds what was taken; on release the bridge resumes by itself, nothing lost, in order', async () => {
  const tag = { qq: 'busy-q', irc: 'busy-i' };
  const polls = async () => (await h.qq.state()).sessions.reduce((a, s) => a + s.polls, 0);
  const qqTexts = async () => (await h.qq.sent()).filter((x) => x.group === GROUP).map((x) => x.text);
  const status = () => h.bridge.relay.storeStatus();
  let n = 0;
  const say = async () => {
    const k = ++n;
    await h.qq.say(`${tag.qq} ${k}`);
    h.human.say(h.channel, `${tag.irc} ${k}`);
  };

  // Before: both ways flow.
  for (let i = 0; i < 5; i++) await say();
  await h.irc.waitForTexts('1..5 on IRC', (t) => numbersOf(t, tag.qq).includes(5));
  await waitUntil('1..5 in QQ', async () => (numbersOf(await qqTexts(), tag.irc).includes(5) ? true : undefined));

  // How long the process stands still at most: every timer and socket waits while it does.
  let stall = 0;
  let last = Date.now();
  const ticker = setInterval(() => {
    const now = Date.now();
    stall = Math.max(stall, now - last);
    last = now;
  }, 20);

  const lock = await holdWriteLock(path.join(h.dir, SQLITE_FILE));
  const lockedAt = Date.now();
  let released = false;
  try {
    // The next write finds the lock; the store is then unavailable.
    while (status().state === 'available' && Date.now() - lockedAt < 4_000) {
      await say();
      await sleep(100);
    }
    expect(status().state, `the relay paused\n${logs.text()}`).toBe('unavailable');
    expect(status().error).toMatch(/^SQLite store .*database is locked by another process/);
    const line = await waitUntil('the store log line', () => logs.lines().find((l) => l.level === 50 && /store unavailable/.test(String(l.msg))), 5_000);
    expect(String(line.err)).toMatch(/SQLITE_BUSY|database is locked/);

    // Input pauses: QQ is no longer polled; IRC lines, which IRC will not send again, are held.
    await sleep(500);
    const p0 = await polls();
    while (Date.now() - lockedAt < LOCK_MS) {
      await say();
      await sleep(200);
    }
    expect(await polls(), `QQ polled while the store was locked\n${logs.text()}`).toBe(p0);
    const held = status();
    expect(held.state).toBe('unavailable');
    expect(held.held, 'IRC lines held in memory').toBeGreaterThan(0);
    const health = healthReport(h.bridge.connectors.map((c) => ({ network: c.network, connected: c.isConnected() })), [], held);
    expect(health.status).toBe('not ready');
    expect(health.problems[0]).toMatch(/^store: unavailable since \d{4}-\d\d-\d\dT[^,]+Z, [1-9]\d* messages? held \(SQLite store .*database is locked by another process/);
    // The bridge ran all along: no multi-second freeze while waiting for the lock.
    expect(stall, 'the longest time the event loop stood still while the lock was held (ms)').toBeLessThan(1_500);

    await lock.release();
    released = true;
  } finally {
    clearInterval(ticker);
    if (!released) lock.child.kill();
  }

  // Resumes by itself: everything arrives, in order, none lost.
  await waitUntil(`the store available again\n${logs.text()}`, () => (status().state === 'available' ? true : undefined), 15_000);
  const all = range(n);
  await h.irc.waitForTexts(`every QQ message on IRC\n${logs.text()}`, (t) => all.every((k) => numbersOf(t, tag.qq).includes(k)), 30_000);
  let seenQq: number[] = [];
  await waitUntil(`every IRC line in QQ\n${logs.text()}`, async () => {
    seenQq = numbersOf(await qqTexts(), tag.irc);
    return all.every((k) => seenQq.includes(k)) ? true : undefined;
  }, 30_000, 100);
  await sleep(1_000); // repeats, if any, would come now
  const reports = {
    'QQ -> IRC': analyse(numbersOf(h.irc.texts(), tag.qq), all),
    'IRC -> QQ': analyse(numbersOf(await qqTexts(), tag.irc), all),
  };
  for (const [what, r] of Object.entries(reports)) {
    expect(r.missing, `${what}: nothing lost`).toEqual([]);
    expect(r.firstSeen, `${what}: in order`).toEqual(all);
    expect(r.duplicates, `${what}: repeats within the outbox window`).toBeLessThanOrEqual(WINDOW);
  }
  expect(logs.lines().filter((l) => /batch dropped|relay refused/.test(String(l.msg))), 'nothing dropped or refused for good').toEqual([]);
  expect(status()).toMatchObject({ state: 'available', held: 0, dropped: 0 });

  // Afterwards both ways relay at once.
  await h.qq.say(`${tag.qq} after`);
  h.human.say(h.channel, `${tag.irc} after`);
  await h.irc.waitForText((x) => x.endsWith(`${tag.qq} after`), 10_000);
  await waitUntil('IRC -> QQ after the lock', async () => ((await qqTexts()).some((x) => x.endsWith(`${tag.irc} after`)) ? true : undefined), 10_000);
  expect(await h.qq.violations()).toEqual([]);
}, 120_000);
