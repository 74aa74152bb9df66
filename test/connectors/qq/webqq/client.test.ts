/**
 * WebQqClient against the WebQQ simulator over real HTTP on loopback: login, every poll event
 * type, every retcode path, sending with splitting and pacing, pictures both ways, id resolution.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger, type Logger } from '../../../../src/log.js';
import { capturedLogger } from '../../../faults/support.js';
import { SendError } from '../../../../src/connectors/qq/webqq/sender.js';
import { codeFilePrompt } from '../../../../src/connectors/qq/webqq/login-prompt.js';
import { qqConfigSchema, type WebqqConfig } from '../../../../src/connectors/qq/config.js';
import { imageRefs, WebQqClient, type ClientState } from '../../../../src/connectors/qq/webqq/client.js';
import type { QqEvent } from '../../../../src/connectors/qq/webqq/events.js';
import { contentText } from '../../../../src/connectors/qq/webqq/content.js';
import { defaultWorld, startSimulator, type World } from '../../../../src/simulator/index.js';
import { avatarPng } from '../../../../src/simulator/media.js';

const ACCOUNT = 2769546520;
const GROUP = 346167134;
const FRIEND = 2440652742;
const FRIEND_NICK = '呼吸 (糗百)';
// A 1×1 PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

type Sim = Awaited<ReturnType<typeof startSimulator>>;

interface Harness {
  sim: Sim;
  client: WebQqClient;
  events: QqEvent[];
  states: { s: ClientState; detail?: string }[];
  control<T = unknown>(method: string, p: string, body?: unknown): Promise<T>;
  waitFor<T>(pred: () => T | undefined | false, what: string, ms?: number): Promise<T>;
  state(): Promise<{ qq: number; ptwebqq: string; clientid: string; polls: number; logins: number; relinks: number; online: boolean }>;
  violations(): Promise<unknown[]>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(opts: { mode?: 'password' | 'qrcode'; sendIntervalMs?: number; hashVersion?: 'P' | 'O' | 'Q' | 'N'; handler?: (e: QqEvent) => Promise<void>; captchaTimeoutMs?: number; beforeStart?: (control: Harness['control']) => Promise<void>; log?: Logger; world?: World } = {}): Promise<Harness> {
  const sim = await startSimulator({ pollHoldMs: 250, ...(opts.hashVersion ? { hashVersion: opts.hashVersion } : {}), ...(opts.world ? { world: opts.world } : {}), log: silentLogger });
  cleanups.push(() => sim.close());
  const stateDir = mkdtempSync(path.join(tmpdir(), 'qqclient-'));
  cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
  const config = qqConfigSchema.parse({
    uin: ACCOUNT, password: '123456', login: opts.mode ?? 'password', endpoint: sim.url, stateDir, sendIntervalMs: opts.sendIntervalMs ?? 50,
  }) as WebqqConfig;
  const control = async <T,>(method: string, p: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${sim.controlUrl}${p}`, {
      method,
      ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    });
    const text = await res.text();
    if (res.status >= 400) throw new Error(`control ${method} ${p}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  const events: QqEvent[] = [];
  const states: { s: ClientState; detail?: string }[] = [];
  const client = new WebQqClient(config, {
    log: opts.log ?? silentLogger,
    onEvent: async (e) => {
      if (opts.handler) await opts.handler(e);
      events.push(e);
    },
    onState: (s, detail) => states.push(detail !== undefined ? { s, detail } : { s }),
    login: {
      qrPollMs: 50,
      prompt: {
        // Nobody reads captchas here: the code file stays empty until the timeout.
        ...codeFilePrompt({ file: path.join(stateDir, 'captcha-code.txt'), ...(opts.captchaTimeoutMs ? { timeoutMs: opts.captchaTimeoutMs } : {}) }),
        // The phone: scan and confirm every QR code the client shows.
        qrShown: () => {
          void (async () => {
            await control('POST', '/qr/scan', { qq: ACCOUNT });
            await control('POST', '/qr/confirm', { qq: ACCOUNT });
          })();
        },
      },
    },
    tuning: { backoffMinMs: 50, backoffMaxMs: 400, noiseDelayMs: 20, ignoreDelayMs: 20 },
    pollTimeoutMs: 5000,
  });
  cleanups.push(() => client.stop());
  const waitFor = async <T,>(pred: () => T | undefined | false, what: string, ms = 5000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const v = pred();
      if (v !== undefined && v !== false) return v as T;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 15));
    }
  };
  const h: Harness = {
    sim, client, events, states, control, waitFor,
    state: async () => {
      const st = await control<{ sessions: Awaited<ReturnType<Harness['state']>>[] }>('GET', '/state');
      return st.sessions.find((s) => s.qq === ACCOUNT)!;
    },
    violations: () => control<unknown[]>('GET', '/violations'),
  };
  if (opts.beforeStart) await opts.beforeStart(control);
  await client.start();
  return h;
}

const textOf = (e: QqEvent) => ('content' in e ? contentText(e.content.items) : '');
const withText = (h: Harness, t: string) => () => h.events.find((e) => textOf(e).includes(t));

describe('WebQqClient over the simulator', () => {
  it('logs in with a password, resolves numbers, and receives group, discussion and buddy messages', async () => {
    const h = await setup();
    expect(h.states.map((s) => s.s)).toEqual(['connecting', 'online']);
    expect(h.client.self().qq).toBe(ACCOUNT);
    expect(h.client.groups().find((g) => g.number === GROUP)?.name).toBe('qqbot群');
    expect(h.client.friends().find((f) => f.qq === FRIEND)?.nick).toBe(FRIEND_NICK);
    expect(h.client.discussions().map((d) => d.name)).toContain('good day');

    await h.control('POST', '/inject', { group: GROUP, from: FRIEND, text: 'hello group &amp; co', faces: [14] });
    const g = await h.waitFor(withText(h, 'hello group'), 'group message');
    expect(g).toMatchObject({ type: 'group_message', groupNumber: GROUP, senderQq: FRIEND, senderName: FRIEND_NICK });
    expect(g.type === 'group_message' && g.content.items.some((i) => i.type === 'face' && i.id === 14)).toBe(true);

    await h.control('POST', '/inject', { discussion: 'good day', from: 21984709, text: 'hello discussion' });
    const d = await h.waitFor(withText(h, 'hello discussion'), 'discussion message');
    expect(d).toMatchObject({ type: 'discu_message', discussionName: 'good day', senderQq: 21984709 });

    await h.control('POST', '/inject', { buddy: FRIEND, from: FRIEND, text: 'hello buddy' });
    const b = await h.waitFor(withText(h, 'hello buddy'), 'buddy message');
    expect(b).toMatchObject({ type: 'message', senderQq: FRIEND, senderName: FRIEND_NICK });
    expect(await h.violations()).toEqual([]);
  });

  it('reads a group\'s memo from get_group_info_ext2 (unescaped); a group without one has none', async () => {
    const world = defaultWorld();
    world.groups.find((g) => g.number === GROUP)!.memo = 'Rules &amp; news: be kind';
    world.groups.push({ number: 555666, name: 'no memo', owner: ACCOUNT, members: [{ qq: ACCOUNT }, { qq: FRIEND }] });
    const h = await setup({ world });
    expect(h.client.groups().find((g) => g.number === GROUP)?.memo).toBe('Rules & news: be kind');
    await h.waitFor(() => h.client.groups().find((g) => g.name === 'no memo'), 'the second group');
    expect(h.client.groups().find((g) => g.name === 'no memo')).not.toHaveProperty('memo');
    expect(await h.violations()).toEqual([]);
  });

  it('selects the list hash version the server expects (retcode 50 → next version)', async () => {
    const h = await setup({ hashVersion: 'O' });
    expect(h.client.groups().find((g) => g.number === GROUP)).toBeDefined();
    expect(h.client.friends().length).toBeGreaterThan(0);
  });

  it('delivers raw poll events of every other type, and refreshes members on sys_g_msg', async () => {
    const h = await setup();
    await h.control('POST', '/event', { poll_type: 'buddies_status_change', value: { uin: { $uin: FRIEND }, status: 'away', client_type: 1 } });
    await h.control('POST', '/event', { poll_type: 'input_notify', value: { msg_id: 501, from_uin: { $uin: FRIEND }, to_uin: ACCOUNT, msg_type: 121, time: 1 } });
    await h.control('POST', '/event', { poll_type: 'shake_message', value: { msg_id: 502, from_uin: { $uin: FRIEND }, to_uin: ACCOUNT, msg_type: 9, time: 2 } });
    await h.control('POST', '/event', { poll_type: 'system_message', value: { msg_id: 503, from_uin: 77, type: 'verify_required', msg: 'add me', time: 3 } });
    await h.control('POST', '/event', { poll_type: 'group_web_message', value: { msg_id: 504, from_uin: { $gid: GROUP }, group_code: { $gid: GROUP }, group_type: 1, send_uin: { $uin: FRIEND }, xml: '<n t="t" s="共享文件"/>', time: 4 } });
    await h.control('POST', '/event', { poll_type: 'tips', value: { msg_id: 505, time: 5 } });
    for (const t of ['buddies_status_change', 'input_notify', 'shake_message', 'system_message', 'group_web_message', 'other']) {
      await h.waitFor(() => h.events.find((e) => e.type === t), t);
    }
    // A new member joins: the sys_g_msg names the member, and their first message resolves.
    await h.control('POST', '/member', { group: GROUP, join: 1234567, nick: 'newbie' });
    const join = await h.waitFor(() => h.events.find((e) => e.type === 'sys_g_msg' && e.subType === 'group_join'), 'group_join');
    expect(join).toMatchObject({ groupNumber: GROUP, memberQq: 1234567 });
    await h.control('POST', '/inject', { group: GROUP, from: 1234567, text: 'hi I am new' });
    expect(await h.waitFor(withText(h, 'hi I am new'), 'newbie message')).toMatchObject({ senderQq: 1234567, senderName: 'newbie' });
    await h.control('POST', '/member', { group: GROUP, leave: 1234567 });
    const leave = await h.waitFor(() => h.events.find((e) => e.type === 'sys_g_msg' && e.subType === 'group_leave'), 'group_leave');
    expect(leave).toMatchObject({ groupNumber: GROUP });
    expect(await h.violations()).toEqual([]);
  });

  it('re-polls on 102, 100012, 1202, 10000, HTTP 502/504/404 and empty or HTML bodies without relinking', async () => {
    const h = await setup();
    const before = await h.state();
    for (const f of [
      { poll: { retcode: 102 } }, { poll: { retcode: 100012 } }, { poll: { retcode: 1202 } }, { poll: { retcode: 10000 } },
      { http: 502 }, { http: 504 }, { http: 404 }, { body: '' }, { body: '<html>oops</html>' }, { body: '{"retcode":0,"result":[{"poll_ty' },
    ]) {
      await h.control('POST', '/fault', f);
    }
    await h.control('POST', '/inject', { group: GROUP, from: FRIEND, text: 'after the noise' });
    await h.waitFor(withText(h, 'after the noise'), 'message after noise');
    const after = await h.state();
    expect(after.logins).toBe(before.logins);
    expect(after.relinks).toBe(before.relinks);
    expect(h.states.map((s) => s.s)).toEqual(['connecting', 'online']);
    expect(await h.violations()).toEqual([]);
  });

  it('rotates ptwebqq on 116 everywhere: polls continue and list calls still pass the hash check', async () => {
    const h = await setup();
    const p = '2c0d8375e6c09f2af3ce60c6e081bdf4db271a14d0d85060aaaabbbbccccdddd';
    await h.control('POST', '/fault', { poll: { retcode: 116, p } });
    await h.control('POST', '/inject', { group: GROUP, from: FRIEND, text: 'after rotation' });
    await h.waitFor(withText(h, 'after rotation'), 'message after 116');
    expect((await h.state()).ptwebqq).toBe(p);
    await h.client.refreshContacts(); // get_user_friends2 + get_group_name_list_mask2 with the new hash
    expect(h.client.groups().find((g) => g.number === GROUP)).toBeDefined();
    expect((await h.state()).logins).toBe(1);
    expect(await h.violations()).toEqual([]);
  });

  for (const rc of [103, 108, 121, 120]) {
    it(`relinks (no full login) on poll retcode ${rc} and keeps receiving`, async () => {
      const h = await setup();
      await h.control('POST', '/fault', { poll: { retcode: rc } });
      await h.control('POST', '/inject', { group: GROUP, from: FRIEND, text: `after ${rc}` });
      await h.waitFor(withText(h, `after ${rc}`), `message after ${rc}`);
      const st = await h.state();
      expect(st.relinks).toBeGreaterThanOrEqual(1);
      expect(st.logins).toBe(1);
      expect(h.states.map((s) => s.s)).toContain('relinking');
      expect(h.states.at(-1)!.s).toBe('online');
      expect(await h.violations()).toEqual([]);
    });
  }

  for (const rc of [100, 122]) {
    it(`logs in afresh on poll retcode ${rc} and keeps receiving with the new ids`, async () => {
      const h = await setup();
      const before = await h.state();
      await h.control('POST', '/fault', { poll: { retcode: rc } });
      await h.waitFor(() => h.states.filter((s) => s.s === 'online').length >= 2 || undefined, 'second online');
      await h.control('POST', '/inject', { group: GROUP, from: FRIEND, text: `after ${rc}` });
      const e = await h.waitFor(withText(h, `after ${rc}`), `message after ${rc}`);
      expect(e).toMatchObject({ groupNumber: GROUP, senderQq: FRIEND });
      // A full ptlogin makes a new server session: new ptwebqq, bound by a fresh login2.
      const st = await h.state();
      expect(st.ptwebqq).not.toBe(before.ptwebqq);
      expect(st.logins).toBe(1);
      expect(st.relinks).toBe(0);
      expect(await h.violations()).toEqual([]);
    });
  }

  it('backs off on 100001/100003 and logs in afresh only after more than 3 in a row', async () => {
    const h = await setup();
    const first = await h.state();
    for (let i = 0; i < 3; i++) await h.control('POST', '/fault', { body: '{"retcode":100001,"errmsg":""}' });
    await h.control('POST', '/inject', { group: GROUP, from: FRIEND, text: 'after 3 transient' });
    await h.waitFor(withText(h, 'after 3 transient'), 'message after 3 transient');
    expect((await h.state()).ptwebqq).toBe(first.ptwebqq);
    for (let i = 0; i < 4; i++) await h.control('POST', '/fault', { body: '{"retcode":100003,"errmsg":""}' });
    await h.waitFor(() => h.states.filter((s) => s.s === 'online').length >= 2 || undefined, 'relogin');
    expect((await h.state()).ptwebqq).not.toBe(first.ptwebqq);
    expect(await h.violations()).toEqual([]);
  });

  for (const rc of [109, 110, 114]) {
    it(`logs in afresh on poll retcode ${rc}`, async () => {
      const h = await setup();
      const first = await h.state();
      await h.control('POST', '/fault', { body: JSON.stringify({ retcode: rc, errmsg: '' }) });
      await h.waitFor(() => h.states.filter((s) => s.s === 'online').length >= 2 || undefined, 'relogin');
      expect((await h.state()).ptwebqq).not.toBe(first.ptwebqq);
    });
  }

  it('backs off while the server refuses connections and resumes without a relogin', async () => {
    const h = await setup();
    const first = await h.state();
    await h.control('POST', '/down', { ms: 500 });
    await new Promise((r) => setTimeout(r, 700));
    await h.control('POST', '/inject', { group: GROUP, from: FRIEND, text: 'back up' });
    await h.waitFor(withText(h, 'back up'), 'message after the outage', 8000);
    const st = await h.state();
    expect(st.ptwebqq).toBe(first.ptwebqq);
    expect(st.logins).toBe(1);
  });

  it('asks for a relogin after 5 consecutive hard send failures, telling every caller', async () => {
    const h = await setup();
    const first = await h.state();
    await h.control('POST', '/fault', { send: { retcode: 100012, times: 5 } });
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map((i) => h.client.sendGroup(GROUP, [{ type: 'text', text: `fail ${i}` }])));
    expect(results.every((r) => r.status === 'rejected' && /retcode 100012/.test(String(r.reason)))).toBe(true);
    await h.waitFor(() => h.states.filter((s) => s.s === 'online').length >= 2 || undefined, 'relogin after send failures');
    expect((await h.state()).ptwebqq).not.toBe(first.ptwebqq);
    expect(await h.client.sendGroup(GROUP, [{ type: 'text', text: 'works again' }])).toHaveLength(1);
    expect(await h.violations()).toEqual([]);
  });

  it('sends queued across a relogin (100), a relink (121) and ptwebqq rotations (116) arrive once each, in order, with no protocol violation', async () => {
    const h = await setup({ sendIntervalMs: 30 });
    type Sent = { endpoint: string; group?: number; discussion?: string; buddy?: number; text: string };
    const sentNow = () => h.control<Sent[]>('GET', '/sent');
    const onlines = () => h.states.filter((s) => s.s === 'online').length;
    const N = 90;
    const results: Promise<number[]>[] = [];
    // Every third message goes to the discussion or the buddy: their did/uin change at a relogin too.
    const send = (i: number) =>
      i % 3 === 1 ? h.client.sendDiscussion('good day', [{ type: 'text', text: `seq ${i}` }])
        : i % 3 === 2 ? h.client.sendBuddy(FRIEND, [{ type: 'text', text: `seq ${i}` }])
          : h.client.sendGroup(GROUP, [{ type: 'text', text: `seq ${i}` }]);
    let paused = false;
    const stream = (async () => {
      for (let i = 1; i <= N; i++) {
        while (paused) await new Promise((r) => setTimeout(r, 5));
        results.push(send(i));
        // A little slower than the sender's pace: the queue stays short and every fault below
        // meets sends still to come.
        await new Promise((r) => setTimeout(r, 40));
      }
    })();
    const sentCount = async (n: number) => {
      const end = Date.now() + 8000;
      while ((await sentNow()).length < n) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${n} sends`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const before = await h.state();
    await sentCount(5);
    await h.control('POST', '/fault', { poll: { retcode: 100 } });
    await h.waitFor(() => onlines() >= 2 || undefined, 'relogin after 100');
    const afterRelogin = await h.state();
    expect(afterRelogin.ptwebqq).not.toBe(before.ptwebqq);
    await sentCount(25);
    await h.control('POST', '/fault', { poll: { retcode: 121 } });
    await h.waitFor(() => onlines() >= 3 || undefined, 'relink after 121');
    expect((await h.state()).relinks).toBeGreaterThanOrEqual(1);
    await sentCount(40);
    // 116 changes ptwebqq on the server the moment it answers the poll: a send already on the wire
    // then still carries the old cookie, for any client. So rotate between two sends (the stream is
    // paused), and check that the sends after it carry the new cookie and the session's ptwebqq.
    for (const [at, p] of [[50, 'c0ffee'.repeat(10) + 'beef'], [60, 'ab'.repeat(32)]] as const) {
      await sentCount(at);
      paused = true;
      await Promise.allSettled(results);
      const polls = (await h.state()).polls;
      await h.control('POST', '/fault', { poll: { retcode: 116, p } });
      for (const end = Date.now() + 5000; (await h.state()).polls < polls + 2;) {
        if (Date.now() > end) throw new Error('no poll after the 116');
        await new Promise((r) => setTimeout(r, 10));
      }
      expect((await h.state()).ptwebqq).toBe(p);
      paused = false;
    }
    await sentCount(70);
    await h.control('POST', '/fault', { poll: { retcode: 100 } });
    await stream;
    const ids = await Promise.all(results);
    expect(ids.every((x) => x.length === 1)).toBe(true);
    const sent = await sentNow();
    expect(sent.map((s) => s.text)).toEqual(Array.from({ length: N }, (_, i) => `seq ${i + 1}`));
    for (const [i, s] of sent.entries()) {
      const n = i + 1;
      if (n % 3 === 1) expect(s).toMatchObject({ endpoint: 'send_discu_msg2', discussion: 'good day' });
      else if (n % 3 === 2) expect(s).toMatchObject({ endpoint: 'send_buddy_msg2', buddy: FRIEND });
      else expect(s).toMatchObject({ endpoint: 'send_qun_msg2', group: GROUP });
    }
    expect(onlines()).toBeGreaterThanOrEqual(4);
    expect((await h.state()).ptwebqq).not.toBe('ab'.repeat(32)); // the last 100 made a new session
    expect(await h.violations()).toEqual([]);
  }, 30_000);

  it('stops polling and goes offline when a relogin fails for good (captcha never answered)', async () => {
    const h = await setup({ captchaTimeoutMs: 200 });
    await h.control('POST', '/captcha', { qq: ACCOUNT, required: true });
    await h.control('POST', '/fault', { poll: { retcode: 100 } });
    const off = await h.waitFor(() => h.states.find((s) => s.s === 'offline'), 'offline state');
    expect(off.detail).toMatch(/captcha/);
    const polls = (await h.state()).polls;
    await new Promise((r) => setTimeout(r, 400));
    expect((await h.state()).polls).toBe(polls);
  });

  it('stops polling and reports kicked on kick_message, without logging in again', async () => {
    const h = await setup();
    await h.control('POST', '/inject', { group: GROUP, from: FRIEND, text: 'last words' });
    await h.control('POST', '/fault', { kick: true });
    const kicked = await h.waitFor(() => h.states.find((s) => s.s === 'kicked'), 'kicked state');
    expect(kicked.detail).toBeTruthy();
    await h.waitFor(withText(h, 'last words'), 'message before the kick');
    const polls = (await h.state()).polls;
    await new Promise((r) => setTimeout(r, 500));
    const st = await h.state();
    expect(st.polls).toBe(polls);
    expect(st.logins).toBe(1);
  });

  it('delivers duplicated and reversed batches once each, in msg_id order', async () => {
    const h = await setup();
    await h.control('POST', '/fault', { duplicate: true });
    await h.control('POST', '/fault', { outOfOrder: true });
    // Hold the handler so the injects queue up into one batch.
    for (const t of ['one', 'two', 'three']) await h.control('POST', '/inject', { group: GROUP, from: FRIEND, text: `batch ${t}` });
    await h.waitFor(withText(h, 'batch three'), 'batch');
    await h.control('POST', '/inject', { group: GROUP, from: FRIEND, text: 'marker' });
    await h.waitFor(withText(h, 'marker'), 'marker');
    const got = h.events.filter((e) => textOf(e).startsWith('batch')).map((e) => textOf(e));
    expect(got).toEqual(['batch one', 'batch two', 'batch three']);
    expect(await h.violations()).toEqual([]);
  });

  it('awaits the event handler before polling again', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let inHandler = 0;
    const h = await setup({ handler: async (e) => { if (textOf(e) === 'slow') { inHandler++; await gate; } } });
    await h.control('POST', '/inject', { group: GROUP, from: FRIEND, text: 'slow' });
    await h.waitFor(() => inHandler === 1 || undefined, 'handler entered');
    const polls = (await h.state()).polls;
    await new Promise((r) => setTimeout(r, 600)); // > 2 poll holds
    expect((await h.state()).polls).toBe(polls);
    release();
    await h.waitFor(withText(h, 'slow'), 'slow event');
  });

  it('retries a failing handler without handing over the batch\'s earlier events twice', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const calls: string[] = [];
    let failed = false;
    const h = await setup({
      handler: async (e) => {
        calls.push(textOf(e));
        if (textOf(e) === 'gate') await gate;
        if (textOf(e) === 'flaky' && !failed) {
          failed = true;
          throw new Error('disk full');
        }
      },
    });
    await h.control('POST', '/inject', { group: GROUP, from: FRIEND, text: 'gate' });
    await h.waitFor(() => calls.includes('gate') || undefined, 'gate reached');
    // These two queue up while the handler holds the poller: they come back as one batch.
    await h.control('POST', '/inject', { group: GROUP, from: FRIEND, text: 'steady' });
    await h.control('POST', '/inject', { group: GROUP, from: FRIEND, text: 'flaky' });
    release();
    await h.waitFor(withText(h, 'flaky'), 'flaky delivered after a retry');
    expect(calls).toEqual(['gate', 'steady', 'flaky', 'flaky']);
    expect(h.events.map(textOf)).toEqual(['gate', 'steady', 'flaky']);
  });

  it('filters its own echoes (unknown send_uin after one member refresh) but not real members', async () => {
    const h = await setup();
    await h.control('POST', '/self-echo', { on: true });
    await h.client.sendGroup(GROUP, [{ type: 'text', text: 'echo me not' }]);
    await h.client.sendDiscussion('good day', [{ type: 'text', text: 'echo me not either' }]);
    await h.control('POST', '/inject', { group: GROUP, from: FRIEND, text: 'real one' });
    await h.waitFor(withText(h, 'real one'), 'real message');
    await new Promise((r) => setTimeout(r, 300));
    expect(h.events.filter((e) => textOf(e).includes('echo me not'))).toEqual([]);
    expect(await h.violations()).toEqual([]);
  });

  it('relays group messages when the member list cannot be loaded, and still drops its own echoes by content', async () => {
    const h = await setup({
      // Every member-list request of the session fails: at login and at every later refresh.
      beforeStart: (control) => control('POST', '/fault', { api: { endpoint: 'get_group_info_ext2', http: 502, times: 1000 } }),
    });
    expect(h.client.groups().find((g) => g.number === GROUP)?.members).toBe(0);
    await h.control('POST', '/self-echo', { on: true });
    await h.client.sendGroup(GROUP, [{ type: 'text', text: 'my own words' }]);
    await h.control('POST', '/inject', { group: GROUP, from: FRIEND, text: 'first words' });
    await h.control('POST', '/inject', { group: GROUP, from: 2899268194, text: 'second words' });
    await h.waitFor(withText(h, 'second words'), 'second message');
    expect(h.events.filter((e) => e.type === 'group_message').map(textOf)).toEqual(['first words', 'second words']);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.events.filter((e) => textOf(e).includes('my own words'))).toEqual([]);
    expect(await h.violations()).toEqual([]);
  });

  it('relays a new member whose member-list refresh fails instead of taking them for an echo', async () => {
    const h = await setup();
    expect(h.client.groups().find((g) => g.number === GROUP)?.members).toBeGreaterThan(0);
    await h.control('POST', '/fault', { api: { endpoint: 'get_group_info_ext2', http: 503, times: 1000 } });
    await h.control('POST', '/member', { group: GROUP, join: 123456789, nick: 'newbie' });
    await h.control('POST', '/inject', { group: GROUP, from: 123456789, text: 'hi, I am new' });
    await h.control('POST', '/inject', { group: GROUP, from: 123456789, text: 'anyone here?' });
    await h.waitFor(withText(h, 'anyone here?'), 'the second message of the new member');
    expect(h.events.filter((e) => e.type === 'group_message').map(textOf)).toEqual(['hi, I am new', 'anyone here?']);
  });

  it('a send answered with HTTP 502 or a garbled body fails as retryable, and sending again delivers it once', async () => {
    const h = await setup();
    for (const fault of [{ http: 502 }, { http: 503 }, { body: '<html>gateway</html>' }]) {
      await h.control('DELETE', '/sent');
      await h.control('POST', '/fault', { send: fault });
      const err = await h.client.sendGroup(GROUP, [{ type: 'text', text: 'try again' }]).catch((e: unknown) => e);
      expect(err, JSON.stringify(fault)).toBeInstanceOf(SendError);
      expect((err as SendError).retryable, JSON.stringify(fault)).toBe(true);
      expect(await h.client.sendGroup(GROUP, [{ type: 'text', text: 'try again' }])).toHaveLength(1);
      const sent = await h.control<{ text: string }[]>('GET', '/sent');
      expect(sent.map((s) => s.text)).toEqual(['try again']);
    }
  });

  it('resumes a split message after the pieces already sent (alreadySent)', async () => {
    const h = await setup();
    const long = Array.from({ length: 200 }, (_, i) => `字${String(i).padStart(5, '0')}`).join(' ');
    await h.control('POST', '/fault', { send: { http: 502, after: 1 } });
    const err = (await h.client.sendGroup(GROUP, [{ type: 'text', text: long }]).catch((e: unknown) => e)) as SendError;
    expect(err).toBeInstanceOf(SendError);
    expect(err.retryable).toBe(true);
    expect(err.sentMsgIds).toHaveLength(1);
    const ids = await h.client.sendGroup(GROUP, [{ type: 'text', text: long }], { alreadySent: err.sentMsgIds });
    expect(ids.length).toBe(3);
    expect(ids[0]).toBe(err.sentMsgIds[0]);
    const sent = await h.control<{ msg_id: number; text: string }[]>('GET', '/sent');
    expect(sent.map((s) => s.msg_id)).toEqual(ids);
    expect(sent.map((s) => s.text).join('')).toBe(long);
  });

  it('logs every event of a batch it had to drop (poll_type, group, sender, msg_id), text only at debug', async () => {
    const { log, lines: logged } = capturedLogger('info');
    const h = await setup({ log, handler: async (e) => { if (textOf(e).startsWith('doomed')) throw new Error('disk full'); } });
    const { msg_id } = await h.control<{ msg_id: number }>('POST', '/inject', { group: GROUP, from: FRIEND, text: 'doomed secret text' });
    await h.waitFor(() => logged().find((l) => l.msg === 'QQ event lost (handler failed)'), 'the lost-event log line', 10_000);
    const lost = logged().filter((l) => l.msg === 'QQ event lost (handler failed)');
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ poll_type: 'group_message', group: GROUP, sender: FRIEND, msg_id });
    expect(JSON.stringify(logged())).not.toContain('secret text');
  }, 20_000);

  it('sends to a group, a discussion and a buddy; splits 2000 bytes into ≤720-byte pieces, in order, paced', async () => {
    const interval = 150;
    const h = await setup({ sendIntervalMs: interval });
    const long = Array.from({ length: 230 }, (_, i) => `字${String(i).padStart(5, '0')}`).join(' '); // 8 bytes + space
    expect(Buffer.byteLength(long)).toBeGreaterThanOrEqual(1999);
    const ids = await h.client.sendGroup(GROUP, [{ type: 'text', text: long }]);
    expect(ids.length).toBeGreaterThanOrEqual(3);
    const idsD = await h.client.sendDiscussion('good day', [{ type: 'text', text: 'to discussion' }, { type: 'face', id: 14 }]);
    const idsB = await h.client.sendBuddy(FRIEND, [{ type: 'text', text: 'to buddy "quoted" \\ back\nslash' }]);
    const sent = await h.control<{ endpoint: string; group?: number; discussion?: string; buddy?: number; msg_id: number; text: string; faces: number[]; at: number }[]>('GET', '/sent');
    const group = sent.filter((s) => s.endpoint === 'send_qun_msg2');
    expect(group.map((s) => s.msg_id)).toEqual(ids);
    expect(group.every((s) => s.group === GROUP && Buffer.byteLength(s.text) <= 720)).toBe(true);
    expect(group.map((s) => s.text).join('')).toBe(long);
    expect(sent.find((s) => s.endpoint === 'send_discu_msg2')).toMatchObject({ discussion: 'good day', text: 'to discussion', faces: [14], msg_id: idsD[0] });
    expect(sent.find((s) => s.endpoint === 'send_buddy_msg2')).toMatchObject({ buddy: FRIEND, text: 'to buddy "quoted" \\ back\nslash', msg_id: idsB[0] });
    const all = sent.map((s) => s.msg_id);
    expect([...all].sort((a, b) => a - b)).toEqual(all); // strictly increasing
    expect(new Set(all).size).toBe(all.length);
    for (let i = 1; i < sent.length; i++) expect(sent[i]!.at - sent[i - 1]!.at).toBeGreaterThanOrEqual(interval - 15);
    expect(await h.violations()).toEqual([]);
  });

  it('treats 1202 as delivered (not resent) and rejects a hard-failure retcode naming it', async () => {
    const h = await setup();
    await h.control('POST', '/fault', { send: { retcode: 1202, times: 1 } });
    const ids = await h.client.sendGroup(GROUP, [{ type: 'text', text: 'maybe delivered' }]);
    expect(ids).toHaveLength(1);
    await h.control('POST', '/fault', { send: { retcode: 100012, times: 1 } });
    await expect(h.client.sendGroup(GROUP, [{ type: 'text', text: 'refused' }])).rejects.toThrow(/retcode 100012/);
    await h.control('POST', '/fault', { send: { retcode: 100100, times: 1 } });
    expect(await h.client.sendGroup(GROUP, [{ type: 'text', text: 'delivered anyway' }])).toHaveLength(1);
    const sent = await h.control<{ text: string }[]>('GET', '/sent');
    // 1202 was not resent; 100100 counted as delivered.
    expect(sent.filter((s) => s.text === 'maybe delivered')).toHaveLength(0);
    expect(sent.map((s) => s.text)).toContain('delivered anyway');
  });

  it('fetches the avatar of a message sender (group member, discussion member, buddy) and of a group from the face servers', async () => {
    const h = await setup();
    await h.control('POST', '/inject', { group: GROUP, from: FRIEND, text: 'avatar group' });
    const g = await h.waitFor(withText(h, 'avatar group'), 'group message');
    const face = await h.client.downloadAvatar(g);
    expect(face.mime).toBe('image/png');
    // The simulator draws one picture per QQ number: this is the sender's, not the session uin's.
    expect(face.data.equals(avatarPng(FRIEND))).toBe(true);

    await h.control('POST', '/inject', { discussion: 'good day', from: 21984709, text: 'avatar disc' });
    const d = await h.waitFor(withText(h, 'avatar disc'), 'discussion message');
    expect((await h.client.downloadAvatar(d)).data.equals(avatarPng(21984709))).toBe(true);

    await h.control('POST', '/inject', { buddy: FRIEND, from: FRIEND, text: 'avatar buddy' });
    const b = await h.waitFor(withText(h, 'avatar buddy'), 'buddy message');
    expect((await h.client.downloadAvatar(b)).data.equals(avatarPng(FRIEND))).toBe(true);

    const gid = h.client.groups().find((x) => x.number === GROUP)!.gid;
    const groupFace = await h.client.downloadAvatar({ gid });
    expect(groupFace.mime).toBe('image/png');
    expect(groupFace.data.equals(face.data)).toBe(false);
    expect(await h.violations()).toEqual([]);
  });

  it('downloads received pictures (group and discussion cface, buddy offpic) and sends pictures to a group, a discussion and a buddy', async () => {
    const h = await setup();
    await h.control('POST', '/inject', { group: GROUP, from: FRIEND, text: 'look', image: { name: 'cat.png', data: PNG.toString('base64'), mime: 'image/png' } });
    const g = await h.waitFor(withText(h, 'look'), 'group picture');
    const [ref] = imageRefs(g);
    expect(ref?.kind).toBe('group');
    const pic = await h.client.downloadImage(ref!);
    expect(pic.mime).toBe('image/png');
    expect(pic.data.equals(PNG)).toBe(true);

    await h.control('POST', '/inject', { discussion: 'good day', from: 21984709, text: 'disc pic', image: { data: PNG.toString('base64'), mime: 'image/png' } });
    const d = await h.waitFor(withText(h, 'disc pic'), 'discussion picture');
    const [dref] = imageRefs(d);
    expect(dref?.kind).toBe('discussion');
    expect((await h.client.downloadImage(dref!)).data.equals(PNG)).toBe(true);

    await h.control('POST', '/inject', { buddy: FRIEND, from: FRIEND, text: 'buddy pic', image: { data: PNG.toString('base64'), mime: 'image/png' } });
    const b = await h.waitFor(withText(h, 'buddy pic'), 'buddy picture');
    const [bref] = imageRefs(b);
    expect(bref?.kind).toBe('offpic');
    expect((await h.client.downloadImage(bref!)).data.equals(PNG)).toBe(true);

    await h.client.sendGroup(GROUP, [{ type: 'image', data: PNG, mime: 'image/png' }, { type: 'text', text: 'pic out' }]);
    await h.client.sendDiscussion('good day', [{ type: 'image', data: PNG, mime: 'image/png' }]);
    await h.client.sendBuddy(FRIEND, [{ type: 'image', data: PNG, mime: 'image/png' }, { type: 'text', text: 'for you' }]);
    const sent = await h.control<{ endpoint: string; images: string[] }[]>('GET', '/sent');
    expect(sent.find((s) => s.endpoint === 'send_qun_msg2')?.images).toHaveLength(1);
    expect(sent.find((s) => s.endpoint === 'send_discu_msg2')?.images).toHaveLength(1);
    expect(sent.find((s) => s.endpoint === 'send_buddy_msg2')?.images).toHaveLength(1);
    expect(await h.violations()).toEqual([]);
  });

  it('sends a picture to a buddy as an offline picture (upload_offline_pic, then ["offpic", path, name, size]) the buddy can fetch', async () => {
    const h = await setup();
    await h.client.sendBuddy(FRIEND, [{ type: 'image', data: PNG, mime: 'image/png', name: 'cat.png' }, { type: 'text', text: 'a cat' }]);
    const sent = await h.control<{ endpoint: string; images: string[]; content: unknown[] }[]>('GET', '/sent');
    const buddy = sent.find((s) => s.endpoint === 'send_buddy_msg2')!;
    const offpic = buddy.content.find((e) => Array.isArray(e) && e[0] === 'offpic') as [string, string, string, number];
    expect(offpic).toBeDefined();
    expect(offpic[1]).toMatch(/^\/[0-9a-f-]{36}$/);
    expect(offpic.slice(2)).toEqual(['cat.png', PNG.length]);
    // What the buddy's client downloads for that path is the picture sent.
    const me = h.client.self().qq;
    const pic = await h.client.downloadImage({ kind: 'offpic', fromUin: me, filePath: offpic[1] });
    expect(pic.data.equals(PNG)).toBe(true);
    expect(await h.violations()).toEqual([]);
  });

  it('answers a temporary-session message through get_c2cmsg_sig2 + send_sess_msg2, for a group member and a discussion member', async () => {
    const h = await setup();
    const ROBOT = 2899268194; // in the group, not a friend
    await h.control('POST', '/event', {
      poll_type: 'sess_message',
      value: { msg_id: 610, from_uin: { $uin: ROBOT }, to_uin: ACCOUNT, msg_type: 140, time: 1700000000, id: { $gid: GROUP }, ruin: ROBOT, service_type: 0, flags: { text: 1, pic: 1, file: 1, audio: 1, video: 1 }, content: [['font', { name: '宋体', size: 10, style: [0, 0, 0], color: '000000' }], 'psst'] },
    });
    const e = await h.waitFor(withText(h, 'psst'), 'sess message');
    const to = h.client.sessReplyTarget(e);
    expect(to).toEqual({ qq: ROBOT, via: { group: GROUP } });
    expect(await h.client.sendSess(to!.qq, to!.via, [{ type: 'text', text: 'hello member' }])).toHaveLength(1);
    expect(await h.client.sendSess(21984709, { discussion: 'good day' }, [{ type: 'text', text: 'hello discussion member' }])).toHaveLength(1);
    const sent = await h.control<{ endpoint: string; sess?: number; group?: number; discussion?: string; text: string }[]>('GET', '/sent');
    const sess = sent.filter((x) => x.endpoint === 'send_sess_msg2');
    expect(sess.map((x) => [x.sess, x.group ?? x.discussion, x.text])).toEqual([
      [ROBOT, GROUP, 'hello member'],
      [21984709, 'good day', 'hello discussion member'],
    ]);
    // Nobody outside the rooms: a clear refusal, nothing sent.
    const err = await h.client.sendSess(123456789, { group: GROUP }, [{ type: 'text', text: 'x' }]).catch((x: unknown) => x);
    expect((err as Error).message).toMatch(/not a member of QQ group/);
    expect(await h.violations()).toEqual([]);
  });

  it('saves the session and relinks it on the next start instead of logging in', async () => {
    const h = await setup();
    await h.client.stop();
    await h.client.start();
    const st = await h.state();
    expect(st.logins).toBe(1);
    expect(st.relinks).toBeGreaterThanOrEqual(1);
    await h.control('POST', '/inject', { group: GROUP, from: FRIEND, text: 'after restart' });
    await h.waitFor(withText(h, 'after restart'), 'message after restart');
    expect(await h.client.sendGroup(GROUP, [{ type: 'text', text: 'sent after restart' }])).toHaveLength(1);
    expect(await h.violations()).toEqual([]);
  });

  it('QR-code (SmartQQ) mode: logs in on d1, receives, survives 116 and 121, sends', async () => {
    const h = await setup({ mode: 'qrcode' });
    expect(h.client.groups().find((g) => g.number === GROUP)).toBeDefined();
    await h.control('POST', '/inject', { group: GROUP, from: FRIEND, text: 'smartqq hello' });
    expect(await h.waitFor(withText(h, 'smartqq hello'), 'message')).toMatchObject({ groupNumber: GROUP, senderQq: FRIEND });
    const p = 'ab'.repeat(32);
    await h.control('POST', '/fault', { poll: { retcode: 116, p } });
    await h.control('POST', '/fault', { poll: { retcode: 121 } });
    await h.control('POST', '/inject', { group: GROUP, from: FRIEND, text: 'smartqq after faults' });
    await h.waitFor(withText(h, 'smartqq after faults'), 'message after 116 + 121');
    const st = await h.state();
    expect(st.ptwebqq).toBe(p);
    expect(st.relinks).toBeGreaterThanOrEqual(1);
    expect(st.clientid).toBe('53999199');
    await h.client.refreshContacts();
    expect(await h.client.sendGroup(GROUP, [{ type: 'text', text: 'from smartqq' }])).toHaveLength(1);
    expect(await h.violations()).toEqual([]);
  });

  it('changes status and logs out', async () => {
    const h = await setup();
    await h.client.changeStatus('busy');
    expect((await h.control<{ sessions: { status: string }[] }>('GET', '/state')).sessions[0]!.status).toBe('busy');
    await h.client.logout();
    expect(h.states.at(-1)).toMatchObject({ s: 'offline' });
    expect((await h.state()).online).toBe(false);
  });
});
