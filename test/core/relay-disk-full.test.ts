/**
 * A real full disk: the SQLite store lives on a 768 KiB tmpfs; input pauses and what was taken
 * is held, then written once space is back (issue 15). Needs root with mount rights
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
import { openStore } from '../../src/store/store.js';
import { LoopbackConnector } from '../support/loopback.js';
import { waitFor } from '../support/wait.js';

const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-full-'));
let mounted = false;
try {
  if (process.getuid?.() === 0) {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=768k', 'tmpfs', mnt], { stdio: 'ignore' });
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

  it('pauses and holds on "disk full"; when space is back everything held is written and delivered, in order, none lost', async () => {
    // Room to give back later: deleting it is "the operator freed some space".
    const filler = path.join(mnt, 'filler');
    fs.writeFileSync(filler, Buffer.alloc(256 * 1024));
    const store = await openStore({ stateDir: path.join(mnt, 'state') }, silentLogger);
    const qq = new LoopbackConnector('qq');
    const irc = new LoopbackConnector('irc');
    irc.online = false; // everything stays queued, so the disk fills
    const relay = new Relay({
      store,
      routes: new StaticRoutes([[{ network: 'qq', room: 'g' }, { network: 'irc', room: '#a' }]]),
      log: silentLogger,
      hold: { retryMinMs: 20, retryMaxMs: 200 },
      outbox: { connectPollMs: 10 },
      pruneIntervalMs: 0,
    });
    relay.register(qq);
    relay.register(irc);
    await relay.start();
    cleanup = async () => {
      await relay.stop();
      await store.close();
    };

    const big = 'x'.repeat(8_000);
    const taken: Array<Promise<unknown>> = [];
    let n = 0;
    while (relay.storeStatus().state === 'available' && n < 1_000) {
      const p = qq.inject('g', { id: n, text: `${n} ${big}` });
      taken.push(p);
      n++;
      await Promise.race([p, new Promise((r) => setTimeout(r, 300))]);
    }
    const status = relay.storeStatus();
    expect(status.state).toBe('unavailable');
    expect(status.error).toMatch(/qqbridge\.sqlite: disk full/);
    expect(n).toBeGreaterThan(5);
    // More arrives while the disk is full: held, not refused.
    for (let i = 0; i < 3; i++) taken.push(qq.inject('g', { id: n + i, text: `${n + i} small` }));
    const total = n + 3;
    // The one that found the disk full, and the three after it.
    await waitFor(() => relay.storeStatus().held === 4, 'four messages held');

    fs.rmSync(filler);
    await Promise.all(taken);
    expect(relay.storeStatus()).toMatchObject({ state: 'available', held: 0, dropped: 0 });
    irc.online = true;
    relay.outbox.kickNetwork('irc');
    await waitFor(() => irc.remote.sent('#a').length === total, 'every taken message delivered', 20_000);
    expect(irc.remote.texts('#a').map((t) => Number(t.split(' ')[0]))).toEqual(Array.from({ length: total }, (_, i) => i));
  });
});
