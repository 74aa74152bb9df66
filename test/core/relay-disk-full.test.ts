/**
 * A real full disk: the SQLite store lives on a 512 KiB tmpfs. Needs root with mount rights
 * (CAP_SYS_ADMIN); elsewhere the test is skipped and says so.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Relay } from '../../src/core/relay.js';
import { StaticRoutes } from '../../src/core/routes.js';
import { silentLogger } from '../../src/log.js';
import { StoreError } from '../../src/store/errors.js';
import { openStore } from '../../src/store/store.js';
import { LoopbackConnector } from '../support/loopback.js';

const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-full-'));
let mounted = false;
try {
  if (process.getuid?.() === 0) {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', mnt], { stdio: 'ignore' });
    mounted = true;
  }
} catch {
  mounted = false;
}

afterAll(() => {
  if (mounted) execFileSync('umount', [mnt]);
  fs.rmSync(mnt, { recursive: true, force: true });
});

describe.skipIf(!mounted)('Relay on SQLite when the disk is full (needs mount rights)', () => {
  let cleanup: () => Promise<void> = async () => undefined;
  afterAll(async () => cleanup());

  it('refuses input with a StoreError saying "disk full"; what was taken is still delivered', async () => {
    const store = await openStore({ stateDir: path.join(mnt, 'state') }, silentLogger);
    const qq = new LoopbackConnector('qq');
    const irc = new LoopbackConnector('irc');
    irc.online = false; // everything stays queued, so the disk fills
    const halts: StoreError[] = [];
    const relay = new Relay({
      store,
      routes: new StaticRoutes([[{ network: 'qq', room: 'g' }, { network: 'irc', room: '#a' }]]),
      log: silentLogger,
      onHalt: (e) => halts.push(e),
      outbox: { connectPollMs: 10 },
    });
    relay.register(qq);
    relay.register(irc);
    await relay.start();
    cleanup = async () => {
      await relay.stop();
      await store.close();
    };

    const big = 'x'.repeat(8_000);
    let accepted = 0;
    let err: unknown;
    for (let i = 0; i < 1_000; i++) {
      try {
        await qq.inject('g', { id: i, text: `${i} ${big}` });
        accepted++;
      } catch (e) {
        err = e;
        break;
      }
    }
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).toMatch(/qqbridge\.sqlite: disk full/);
    expect(relay.halted).toBe(err);
    expect(halts).toHaveLength(1);
    expect(accepted).toBeGreaterThan(5);
    await expect(qq.inject('g', { id: 'later', text: 'small' })).rejects.toBeInstanceOf(StoreError);

    // Everything receive() accepted is in the outbox.
    const pending = await store.nextPending({ network: 'irc', room: '#a' }, 10_000);
    expect(pending).toHaveLength(accepted);
  });
});
