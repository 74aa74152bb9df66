/**
 * The kill -9 window on the poll: a poll answer is journaled in the store (real SQLite) before any
 * of it is handed over, so a client that dies while handing it over loses nothing — the next one
 * on the same state replays it, once — and a handed-over answer is not replayed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { kvPollJournal, POLL_JOURNAL_KEY } from '../../../../src/connectors/qq/webqq/kv-journal.js';
import { webqqAccountFrom } from '../../../../src/connectors/qq/webqq/account-options.js';
import { qqConfigSchema, type WebqqConfig } from '../../../../src/connectors/qq/config.js';
import { WebQqClient } from '../../../../src/connectors/qq/webqq/client.js';
import { contentText } from '../../../../src/connectors/qq/webqq/content.js';
import type { QqEvent } from '../../../../src/connectors/qq/webqq/events.js';
import { silentLogger } from '../../../../src/log.js';
import { startSimulator } from '../../../../src/simulator/index.js';
import { openStore, type Store } from '../../../../src/store/store.js';
import { waitFor } from '../../../support/wait.js';

const ACCOUNT = 2769546520;
const GROUP = 346167134;
const FRIEND = 2440652742;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });

const textOf = (e: QqEvent) => ('content' in e ? contentText(e.content.items) : '');

describe('poll journal', () => {
  it('replays an answer whose hand-over a dead client never finished, exactly once, and forgets handed-over ones', async () => {
    const sim = await startSimulator({ pollHoldMs: 250, log: silentLogger });
    cleanups.push(() => sim.close());
    const dir = mkdtempSync(path.join(tmpdir(), 'qqjournal-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const store: Store = await openStore({ stateDir: dir }, silentLogger);
    cleanups.push(() => store.close());
    const account = webqqAccountFrom(qqConfigSchema.parse({ uin: ACCOUNT, password: '123456', endpoint: sim.url, stateDir: path.join(dir, 'qq'), sendIntervalMs: 50 }) as WebqqConfig);
    const inject = (text: string) => fetch(`${sim.controlUrl}/inject`, { method: 'POST', body: JSON.stringify({ group: GROUP, from: FRIEND, text }), headers: { 'content-type': 'application/json' } });
    const tuning = { backoffMinMs: 50, backoffMaxMs: 400, noiseDelayMs: 20, ignoreDelayMs: 20 };

    // First process: hands over 'before', then freezes forever inside the hand-over of 'crash' (as
    // a process killed at that moment would: the answer was read, nothing of it was stored).
    const seenA: string[] = [];
    let release!: () => void;
    const frozen = new Promise<void>((r) => { release = r; });
    const a = new WebQqClient(account, {
      log: silentLogger,
      journal: kvPollJournal(store),
      tuning,
      pollTimeoutMs: 5000,
      onEvent: async (e) => {
        if (textOf(e).includes('crash')) await frozen;
        seenA.push(textOf(e));
      },
    });
    cleanups.push(async () => { release(); await a.stop(); });
    await a.start();
    await inject('before');
    await waitFor(() => seenA.includes('before'), 'first message handed over');
    await waitFor(async () => (await store.kvGet(POLL_JOURNAL_KEY)) === '[]', 'handed-over answer closed in the journal');
    await inject('crash');
    await waitFor(async () => ((await store.kvGet(POLL_JOURNAL_KEY)) ?? '').includes('crash'), 'answer journaled before its hand-over');

    // Second process on the same state and store: replays the kept answer before polling.
    const seenB: QqEvent[] = [];
    const b = new WebQqClient(account, { log: silentLogger, journal: kvPollJournal(store), tuning, pollTimeoutMs: 5000, onEvent: async (e) => { seenB.push(e); } });
    cleanups.push(() => b.stop());
    await b.start();
    await waitFor(() => seenB.some((e) => textOf(e).includes('crash')), 'the kept answer replayed');
    await inject('after');
    await waitFor(() => seenB.some((e) => textOf(e).includes('after')), 'polling goes on');
    const crash = seenB.filter((e) => textOf(e).includes('crash'));
    expect(crash).toHaveLength(1);
    expect(crash[0]!.type === 'group_message' && crash[0]!.groupNumber).toBe(GROUP);
    expect(seenB.map(textOf).filter((t) => t.includes('before'))).toEqual([]);
    expect(await store.kvGet(POLL_JOURNAL_KEY)).toBe('[]');
    expect(seenA).not.toContain('crash');
    expect(await (await fetch(`${sim.controlUrl}/violations`)).json()).toEqual([]);
  });
});
