/**
 * The store's filesystem fails under a running bridge while QQ messages stream to IRC. The
 * bridge's state directory lives on a small tmpfs the scenario mounts; that needs root with mount
 * rights, and the scenario is skipped (saying why) otherwise. Only "full" is exercised: as root,
 * file modes (chmod 0444) are ignored, and a read-only remount is refused (EBUSY) while SQLite
 * holds the database open for writing. Any store error takes the same path (the relay halts).
 *
 * What is guaranteed, and asserted:
 * - the store failure is logged as a fatal error that says what failed;
 * - the bridge stops taking input: it stops polling QQ, so what the group says from then on
 *   stays with the QQ server for the session;
 * - after the filesystem is repaired and the bridge restarted, everything it had taken and
 *   everything QQ still held arrives on IRC, in order.
 * What is not guaranteed: WebQQ has no acknowledgement, so the one poll answer the bridge had
 * already read when the store failed cannot be stored anywhere and is lost; the bridge logs it
 * ("batch dropped", with its size) and the scenario checks that exactly those messages, from the
 * failing stretch and no others, are missing. A message written to IRC whose "delivered" mark
 * could not be stored is sent again after the restart (at most one: one send at a time).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, waitUntil, type Harness } from '../e2e/harness.js';
import { analyse, capturedLogger, numbersOf, range, sleep } from './support.js';

export interface StoreFailure {
  /** What happens to the filesystem, for the test names. */
  what: string;
  tag: string;
  /** Breaks the filesystem mounted at `mnt` under the running bridge. */
  breakFs(mnt: string): void;
  /** Repairs it (before the restart). */
  repairFs(mnt: string): void;
  /** The fatal log line's error must match this. */
  reason: RegExp;
}

function mountTmpfs(mnt: string): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function storeFailureScenario(f: StoreFailure): void {
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), `qqbridge-fault-${f.tag}-`));
  const mounted = mountTmpfs(mnt);
  let h: Harness | undefined;
  const logs = capturedLogger('info');
  afterAll(async () => {
    await h?.close();
    if (mounted) execFileSync('umount', ['-l', mnt]);
    fs.rmSync(mnt, { recursive: true, force: true });
  });

  describe.skipIf(!mounted)(`the store's filesystem ${f.what} while the bridge runs (needs root to mount a tmpfs)`, () => {
    beforeAll(async () => {
      h = await startHarness({ channel: `#qq-${f.tag}`, stateDir: path.join(mnt, 'state'), log: logs.log });
    });

    it('stops taking QQ input with a clear error; after the repair and a restart, QQ\'s held messages arrive', async () => {
      const hh = h!;
      const tag = `${f.tag}-q`;
      const polls = async () => (await hh.qq.state()).sessions.reduce((a, s) => a + s.polls, 0);
      // Before: the stream flows.
      for (const n of range(5)) await hh.qq.say(`${tag} ${n}`);
      await hh.irc.waitForTexts('1..5 on IRC', (t) => numbersOf(t, tag).includes(5));

      f.breakFs(mnt);
      // QQ keeps talking until the bridge notices (each message needs a store write).
      let n = 5;
      const deadline = Date.now() + 20_000;
      while (!hh.bridge.relay.halted && Date.now() < deadline) {
        await hh.qq.say(`${tag} ${++n}`);
        await sleep(100);
      }
      expect(hh.bridge.relay.halted, `the relay halted\n${logs.text()}`).toBeDefined();
      const haltedAt = n;
      // Reported: a fatal line saying the store failed, and why.
      await waitUntil('the fatal log line', () => (logs.lines().some((l) => l.level === 60 && /store failed/.test(String(l.msg))) ? true : undefined), 5_000);
      const fatal = logs.lines().find((l) => l.level === 60)!;
      expect(String(fatal.err)).toMatch(f.reason);

      // It stops taking input: QQ is no longer polled, and what the group says now stays with QQ.
      // (The waits are longer than the QQ poller's retries of a failed batch: 1 s + 2 s.)
      await sleep(4_000);
      const p0 = await polls();
      const more = range(10, n + 1);
      for (const m of more) await hh.qq.say(`${tag} ${m}`);
      n += more.length;
      await sleep(4_000);
      expect(await polls(), `QQ polled after the halt\n${logs.text()}`).toBe(p0);

      // The operator repairs the filesystem and restarts the bridge.
      f.repairFs(mnt);
      await hh.restartBridge();
      await hh.irc.waitForTexts(`all held messages on IRC\n${logs.text()}`, (t) => numbersOf(t, tag).includes(n), 30_000);
      await sleep(500);

      const r = analyse(numbersOf(hh.irc.texts(), tag), range(n));
      // Lost: exactly the one poll answer in hand when the store failed, as logged.
      const droppedLines = logs.lines().filter((l) => /batch dropped/.test(String(l.msg)));
      const dropped = droppedLines.reduce((a, l) => a + Number(l.events ?? 0), 0);
      expect(droppedLines.length).toBeLessThanOrEqual(1);
      expect(r.missing.length, `missing ${JSON.stringify(r.missing)}, logged as dropped: ${dropped}`).toBe(dropped);
      expect(r.missing.every((m) => m > 5 && m <= haltedAt)).toBe(true);
      // Everything else arrived, in order; at most one repeat.
      expect(r.firstSeen).toEqual(range(n).filter((m) => !r.missing.includes(m)));
      expect(r.duplicates).toBeLessThanOrEqual(1);
    }, 90_000);
  });
}
