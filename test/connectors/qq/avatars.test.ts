/**
 * QQ → neutral model: a group message's sender carries an avatar other networks can fetch (the
 * face server's picture copied into the media store), fetched once per QQ number.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BridgeMessage } from '../../../src/core/message.js';
import { qqConfigSchema } from '../../../src/connectors/qq/config.js';
import { QqConnector } from '../../../src/connectors/qq/connector.js';
import { silentLogger } from '../../../src/log.js';
import { startSimulator } from '../../../src/simulator/index.js';
import { avatarPng } from '../../../src/simulator/media.js';
import { memoryMedia } from '../../support/memory-media.js';
import { waitFor } from '../../support/wait.js';

const ACCOUNT = 2769546520;
const GROUP = 346167134;
const FRIEND = 2440652742;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });

describe('QQ sender avatars', () => {
  it('puts the sender avatar into the media store once and names its URL on every message', async () => {
    const sim = await startSimulator({ pollHoldMs: 250, log: silentLogger });
    cleanups.push(() => sim.close());
    const stateDir = mkdtempSync(path.join(tmpdir(), 'qqavatar-'));
    cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
    const config = qqConfigSchema.parse({ uin: ACCOUNT, password: '123456', endpoint: sim.url, stateDir, sendIntervalMs: 50 });
    const qq = new QqConnector(config, { backend: { tuning: { tuning: { backoffMinMs: 50, backoffMaxMs: 400, noiseDelayMs: 20, ignoreDelayMs: 20 }, pollTimeoutMs: 5000 } } });
    const media = memoryMedia();
    const got: BridgeMessage[] = [];
    await qq.start({ log: silentLogger, media, receive: async (m) => { got.push(m); }, remoteIdsFor: async () => [], sourceIdFor: async () => undefined });
    cleanups.push(() => qq.stop());
    const control = (p: string, body: unknown) => fetch(`${sim.controlUrl}${p}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

    await control('/inject', { group: GROUP, from: FRIEND, text: 'one' });
    await control('/inject', { group: GROUP, from: FRIEND, text: 'two' });
    await waitFor(() => got.length >= 2, 'two messages');
    const [a, b] = got;
    expect(a!.origin.sender.id).toBe(String(FRIEND));
    expect(a!.origin.sender.avatarUrl).toMatch(/^http:\/\/media\.test\//);
    expect(b!.origin.sender.avatarUrl).toBe(a!.origin.sender.avatarUrl);
    const stored = [...media.items.values()];
    expect(stored).toHaveLength(1);
    expect(Buffer.from(stored[0]!.data).equals(avatarPng(FRIEND))).toBe(true);
    const violations = await (await fetch(`${sim.controlUrl}/violations`)).json();
    expect(violations).toEqual([]);
  });
});
