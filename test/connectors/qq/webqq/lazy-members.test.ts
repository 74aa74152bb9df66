/**
 * An account in many groups (more than `eagerMemberGroups`) is online once it knows its groups and
 * their numbers; member lists (names, cards, memo) load afterwards, a few at a time, and a group
 * whose list has not loaded yet loads it first when it speaks. Against the WebQQ simulator, which
 * counts the requests it answers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../src/log.js';
import { qqConfigSchema, type WebqqConfig } from '../../../../src/connectors/qq/config.js';
import { WebQqClient, type ClientState } from '../../../../src/connectors/qq/webqq/client.js';
import type { QqEvent } from '../../../../src/connectors/qq/webqq/events.js';
import { contentText } from '../../../../src/connectors/qq/webqq/content.js';
import { startSimulator, type World } from '../../../../src/simulator/index.js';

const ACCOUNT = 2769546520;
const ALICE = 2440652742;
const BOB = 21984709;
const GROUPS = 40;
const groupNumber = (i: number) => 500001 + i;
const INFO = '/api/get_group_info_ext2';

/** GROUPS groups; in each, Alice has a card naming the group, Bob has none; every group has a memo. */
function world(): World {
  return {
    accounts: [{ qq: ACCOUNT, password: '123456', nick: 'bot' }],
    users: [{ qq: ALICE, nick: 'alice-nick' }, { qq: BOB, nick: 'bob-nick' }],
    friends: {},
    groups: Array.from({ length: GROUPS }, (_, i) => ({
      number: groupNumber(i), name: `group ${i}`, memo: `memo of group ${i}`, owner: ACCOUNT,
      members: [{ qq: ACCOUNT }, { qq: ALICE, card: `Alice in ${i}` }, { qq: BOB }],
    })),
    discussions: [],
  };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(opts: { beforeStart?: (control: (m: string, p: string, b?: unknown) => Promise<unknown>) => Promise<unknown> } = {}) {
  const sim = await startSimulator({ world: world(), pollHoldMs: 250, log: silentLogger });
  cleanups.push(() => sim.close());
  const stateDir = mkdtempSync(path.join(tmpdir(), 'qqlazy-'));
  cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
  const config = qqConfigSchema.parse({ uin: ACCOUNT, password: '123456', login: 'password', endpoint: sim.url, stateDir }) as WebqqConfig;
  const control = async (method: string, p: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${sim.controlUrl}${p}`, {
      method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    });
    const text = await res.text();
    if (res.status >= 400) throw new Error(`control ${method} ${p}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  const events: QqEvent[] = [];
  /** Member lists the simulator had answered when the client said it was online. */
  let infoAtOnline: number | undefined;
  const client = new WebQqClient(config, {
    log: silentLogger,
    onEvent: async (e) => void events.push(e),
    onState: (s: ClientState) => {
      if (s === 'online' && infoAtOnline === undefined) infoAtOnline = sim.requestCounts()[INFO] ?? 0;
    },
    tuning: { backoffMinMs: 50, backoffMaxMs: 400, noiseDelayMs: 20, ignoreDelayMs: 20 },
    pollTimeoutMs: 5000,
  });
  cleanups.push(() => client.stop());
  if (opts.beforeStart) await opts.beforeStart(control);
  await client.start();
  const waitFor = async <T,>(pred: () => T | undefined | false, what: string, ms = 5000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const v = pred();
      if (v !== undefined && v !== false) return v as T;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 15));
    }
  };
  return { sim, client, events, control, waitFor, infoAtOnline: () => infoAtOnline };
}

const withText = (events: QqEvent[], t: string) => () => events.find((e) => 'content' in e && contentText(e.content.items).includes(t));

describe('WebQQ member lists of an account in many groups', () => {
  it('is online before the member lists are read, knowing every group and its number; the lists follow', async () => {
    const h = await setup();
    // Every group and its number are known at online: messages to any of them can be routed.
    expect(h.client.groups().map((g) => g.number).sort()).toEqual(Array.from({ length: GROUPS }, (_, i) => groupNumber(i)));
    expect(h.sim.requestCounts()['/api/get_friend_uin2']).toBe(GROUPS);
    // Before: one get_group_info_ext2 per group, all of them before online.
    expect(h.infoAtOnline()).toBeLessThan(GROUPS / 2);
    await h.client.membersLoaded();
    expect(h.sim.requestCounts()[INFO]).toBe(GROUPS);
    expect(h.client.groups().every((g) => g.members === 3)).toBe(true);
    expect(h.client.groups().find((g) => g.number === groupNumber(GROUPS - 1))?.memo).toBe(`memo of group ${GROUPS - 1}`);
    expect(await h.control('GET', '/violations')).toEqual([]);
  });

  it('a message from a group whose member list has not loaded shows the sender\'s card, loading that one list first', async () => {
    // Every background load fails, so no list is loaded when the message comes.
    const h = await setup({ beforeStart: (control) => control('POST', '/fault', { api: { endpoint: 'get_group_info_ext2', retcode: 100000, times: GROUPS } }) });
    await h.client.membersLoaded();
    expect(h.client.groups().every((g) => g.members === 0)).toBe(true);
    const before = h.sim.requestCounts()[INFO];
    const g = groupNumber(17);
    await h.control('POST', '/inject', { group: g, from: ALICE, text: 'hello from the card' });
    await h.control('POST', '/inject', { group: g, from: BOB, text: 'hello without a card' });
    expect(await h.waitFor(withText(h.events, 'hello from the card'), 'Alice\'s message')).toMatchObject({ groupNumber: g, senderQq: ALICE, senderName: 'Alice in 17' });
    expect(await h.waitFor(withText(h.events, 'hello without a card'), 'Bob\'s message')).toMatchObject({ groupNumber: g, senderQq: BOB, senderName: 'bob-nick' });
    // That group's list, once: not every group's.
    expect(h.sim.requestCounts()[INFO]).toBe(before! + 1);
    expect(h.client.groups().find((x) => x.number === g)?.members).toBe(3);
    expect(h.client.groups().filter((x) => x.members > 0)).toHaveLength(1);
  });

  it('a group whose list keeps failing is asked once on demand, not once a message; its messages still come', async () => {
    const h = await setup({ beforeStart: (control) => control('POST', '/fault', { api: { endpoint: 'get_group_info_ext2', retcode: 100000, times: 1000 } }) });
    await h.client.membersLoaded();
    const before = h.sim.requestCounts()[INFO]!;
    const g = groupNumber(5);
    for (let i = 0; i < 6; i++) await h.control('POST', '/inject', { group: g, from: ALICE, text: `busy ${i}` });
    for (let i = 0; i < 6; i++) expect(await h.waitFor(withText(h.events, `busy ${i}`), `message ${i}`)).toMatchObject({ groupNumber: g, senderQq: ALICE });
    // One on-demand load (it failed), then a minute's rest: six messages did not ask six times.
    expect(h.sim.requestCounts()[INFO]! - before).toBe(1);
  });

  it('a restart that relinks its stored session does not ask every group\'s number again; a fresh login does', async () => {
    const h = await setup();
    await h.client.stop();
    const uin2 = () => h.sim.requestCounts()['/api/get_friend_uin2'] ?? 0;
    expect(uin2()).toBe(GROUPS);
    await h.client.start();
    const relinks = async () => ((await h.control('GET', '/state')) as { sessions: { relinks: number }[] }).sessions[0]!.relinks;
    expect(await relinks()).toBeGreaterThanOrEqual(1);
    expect(uin2()).toBe(GROUPS);
    expect(h.client.groups().map((g) => g.number).sort()).toEqual(Array.from({ length: GROUPS }, (_, i) => groupNumber(i)));
    // The remembered numbers are the right ones: a message comes from its group, a send goes to it.
    const g = groupNumber(29);
    await h.control('POST', '/inject', { group: g, from: ALICE, text: 'after the restart' });
    expect(await h.waitFor(withText(h.events, 'after the restart'), 'message after restart')).toMatchObject({ groupNumber: g, senderName: 'Alice in 29' });
    expect(await h.client.sendGroup(g, [{ type: 'text', text: 'to group 29' }])).toHaveLength(1);
    expect(((await h.control('GET', '/sent')) as { group?: number; text: string }[]).at(-1)).toMatchObject({ group: g, text: 'to group 29' });
    // A new login hands out new gids: every number is asked again.
    await h.client.stop();
    await h.client.logout().catch(() => undefined); // forgets the stored session
    const before = uin2();
    await h.client.start();
    expect(await relinks()).toBe(0); // a new login
    expect(uin2() - before).toBe(GROUPS);
    expect(await h.control('GET', '/violations')).toEqual([]);
  });

  it('a group\'s memo (the portal topic) is read on demand when its list has not loaded', async () => {
    const h = await setup({ beforeStart: (control) => control('POST', '/fault', { api: { endpoint: 'get_group_info_ext2', retcode: 100000, times: GROUPS } }) });
    await h.client.membersLoaded();
    const g = groupNumber(3);
    expect(h.client.groups().find((x) => x.number === g)).not.toHaveProperty('memo');
    expect(await h.client.groupDetails(g)).toMatchObject({ number: g, name: 'group 3', memo: 'memo of group 3', members: 3 });
    expect(await h.client.groupDetails(999999)).toBeUndefined();
  });
});
