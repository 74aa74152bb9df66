/** The Milky client against the Milky simulator, over real HTTP, WebSocket and SSE on loopback. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MilkyApi, MilkyError, MilkyEventStream, historySince, type MilkyEvent, type MilkyTransport, type StreamState } from '../../../../src/connectors/qq/milky/index.js';
import { startMilkySimulator, type RunningMilkySimulator } from '../../../../src/connectors/qq/milky/simulator/index.js';
import { capturedLogger } from '../../../support/log-capture.js';
import { waitFor } from '../../../support/wait.js';
import { freePort } from '../../../../src/demo/ngircd.js';
import { defaultWorld } from '../../../../src/simulator/world.js';

const TOKEN = 'sekrit-token';
const GROUP = 346167134;
const SELF = 2769546520;
const ALICE = 2440652742;
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082', 'hex');

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function sim(opts: Parameters<typeof startMilkySimulator>[0] = {}): Promise<RunningMilkySimulator> {
  const s = await startMilkySimulator({ accessToken: TOKEN, ...opts });
  cleanups.push(() => s.close());
  return s;
}
async function control(s: RunningMilkySimulator, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${s.controlUrl}${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
  const json = await res.json();
  if (res.status !== 200) throw new Error(`control ${path}: ${JSON.stringify(json)}`);
  return json;
}
async function caught(p: Promise<unknown>): Promise<MilkyError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof MilkyError) return e;
    throw e;
  }
  throw new Error('expected a MilkyError');
}
function stream(s: RunningMilkySimulator, transport: MilkyTransport, extra: Partial<ConstructorParameters<typeof MilkyEventStream>[0]> = {}) {
  const events: MilkyEvent[] = [];
  const states: StreamState[] = [];
  const cap = capturedLogger();
  const st = new MilkyEventStream({
    url: s.url, accessToken: TOKEN, transport, log: cap.log, backoff: { minMs: 20, maxMs: 100 },
    onEvent: (e) => void events.push(e), onState: (x) => void states.push(x), ...extra,
  });
  cleanups.push(() => st.stop());
  return { st, events, states, cap, texts: () => events.filter((e) => e.event_type === 'message_receive').map((e) => (e.data.segments[0]?.type === 'text' ? e.data.segments[0].data.text : e.data.segments[0]?.type)) };
}

describe('Milky API', () => {
  it('calls with the token, validates the answer, and classifies every failure as the spec says', async () => {
    const s = await sim();
    const api = new MilkyApi({ url: s.url, accessToken: TOKEN });
    expect(await api.call('get_login_info')).toEqual({ uin: SELF, nickname: 'qqbot' });
    const groups = await api.call('get_group_list', {});
    expect(groups.groups.map((g) => g.group_id)).toEqual([GROUP]);

    const wrong = await caught(new MilkyApi({ url: s.url, accessToken: 'nope' }).call('get_login_info'));
    expect([wrong.kind, wrong.httpStatus, wrong.retryable]).toEqual(['unauthorized', 401, false]);
    const none = await caught(new MilkyApi({ url: s.url }).call('get_login_info'));
    expect(none.kind).toBe('unauthorized');

    const missing = await caught(api.call('no_such_api' as 'get_login_info'));
    expect([missing.kind, missing.httpStatus]).toEqual(['not_found', 404]);
    const raw = await fetch(`${s.url}/api/get_login_info`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/plain' }, body: '{}' });
    expect(raw.status).toBe(415);

    await control(s, '/offline', { on: true });
    const off = await caught(api.call('send_group_message', { group_id: GROUP, message: [{ type: 'text', data: { text: 'x' } }] }));
    expect([off.kind, off.retcode, off.retryable]).toEqual(['offline', -403, true]);
    await control(s, '/offline', { on: false });

    await control(s, '/fail', { endpoint: 'send_group_message', retcode: -400 });
    const badReq = await caught(api.call('send_group_message', { group_id: GROUP, message: [{ type: 'text', data: { text: 'x' } }] }));
    expect([badReq.kind, badReq.retryable]).toEqual(['bad_request', false]);
    await control(s, '/fail', { endpoint: 'send_group_message', retcode: -12345 });
    const other = await caught(api.call('send_group_message', { group_id: GROUP, message: [{ type: 'text', data: { text: 'x' } }] }));
    expect([other.kind, other.retcode, other.retryable]).toEqual(['failed', -12345, true]);
    // after the injected failures the same call goes through
    const ok = await api.call('send_group_message', { group_id: GROUP, message: [{ type: 'text', data: { text: 'x' } }] });
    expect(ok.message_seq).toBeGreaterThan(1000);
  });

  it('refuses schema-invalid parameters before the wire; the simulator records what reaches it', async () => {
    const s = await sim();
    const api = new MilkyApi({ url: s.url, accessToken: TOKEN });
    const e = await caught(api.call('send_group_message', { group_id: 'x' as unknown as number, message: [] }));
    expect(e.kind).toBe('bad_request');
    expect(await control(s, '/violations')).toEqual([]);

    const lax = new MilkyApi({ url: s.url, accessToken: TOKEN, validateRequests: false });
    await caught(lax.call('send_group_message', { group_id: 'x' as unknown as number, message: [] }));
    // The package's schema allows any limit; the spec says at most 30.
    const limit = await caught(api.call('get_history_messages', { message_scene: 'group', peer_id: GROUP, limit: 31 }));
    expect([limit.kind, limit.retcode]).toEqual(['bad_request', -400]);
    const file = await caught(api.call('send_group_message', { group_id: GROUP, message: [{ type: 'image', data: { uri: 'file:///etc/passwd' } }] }));
    expect(file.kind).toBe('bad_request');
    const v = (await control(s, '/violations')) as Array<{ kind: string }>;
    expect(v.map((x) => x.kind)).toEqual(['schema', 'limit_out_of_range', 'file_uri']);
    expect(await control(s, '/sent')).toEqual([]);
  });

  it('times out a call that never answers and keeps at most maxInFlight calls on the wire', async () => {
    let active = 0;
    let peak = 0;
    const slow = createServer((req, res) => {
      active++;
      peak = Math.max(peak, active);
      req.resume();
      const delay = req.url?.includes('get_login_info') ? 60_000 : 40;
      const t = setTimeout(() => {
        active--;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', retcode: 0, data: { uin: SELF, nickname: 'q' } }));
      }, delay);
      res.on('close', () => {
        if (!res.writableFinished) {
          clearTimeout(t);
          active--;
        }
      });
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => { slow.closeAllConnections(); slow.close(r); }));
    const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
    const t = await caught(new MilkyApi({ url, timeoutMs: 150 }).call('get_login_info'));
    expect([t.kind, t.retryable]).toEqual(['timeout', true]);
    const api = new MilkyApi({ url, maxInFlight: 3 });
    await Promise.all(Array.from({ length: 12 }, () => api.call('get_impl_info').catch(() => undefined)));
    expect(peak).toBe(3);
  });
});

describe('Milky events', () => {
  for (const transport of ['websocket', 'sse'] as const) {
    it(`${transport}: receives events with the right token; a wrong token is an authentication state, retried slowly`, async () => {
      const s = await sim();
      const good = stream(s, transport);
      await good.st.start();
      await waitFor(() => good.st.currentState() === 'online', 'online');
      await control(s, '/inject', { group: GROUP, from: ALICE, text: 'hello' });
      await waitFor(() => good.events.length === 1, 'the event');
      const ev = good.events[0]!;
      expect(ev.event_type).toBe('message_receive');
      if (ev.event_type === 'message_receive' && ev.data.message_scene === 'group') {
        expect([ev.data.peer_id, ev.data.sender_id, ev.data.group_member.nickname]).toEqual([GROUP, ALICE, '呼吸 (糗百)']);
      }

      const bad = stream(s, transport, { accessToken: 'wrong', unauthorizedRetryMs: 60_000 });
      await bad.st.start();
      await waitFor(() => bad.st.currentState() === 'unauthorized', 'unauthorized');
      await new Promise((r) => setTimeout(r, 200));
      expect(bad.st.stats.reconnects).toBe(1); // not a tight loop
      expect(bad.cap.lines().some((l) => l.level === 50 && String(l.msg).includes('refused the access token'))).toBe(true);
      expect(bad.cap.text()).not.toContain('wrong');
    });

    it(`${transport}: a dropped stream reconnects; messages sent meanwhile are in history`, async () => {
      const s = await sim();
      const c = stream(s, transport);
      await c.st.start();
      await waitFor(() => c.st.currentState() === 'online', 'online');
      await control(s, '/inject', { group: GROUP, text: 'before' });
      await waitFor(() => c.events.length === 1, 'first');
      expect((await control(s, '/drop', {})).dropped).toBe(1);
      await waitFor(() => c.states.includes('reconnecting'), 'reconnecting');
      await waitFor(() => c.st.currentState() === 'online', 'online again');
      await waitFor(async () => (await control(s, '/streams'))[transport] === 1, 'one stream');
      await control(s, '/inject', { group: GROUP, text: 'after' });
      await waitFor(() => c.texts().includes('after'), 'after the drop');
      expect(c.texts()).toEqual(['before', 'after']);
    });
  }

  it('websocket: a stalled stream (no events, no pongs) is detected within two ping intervals and replaced', async () => {
    const s = await sim();
    const c = stream(s, 'websocket', { pingIntervalMs: 100 });
    await c.st.start();
    await waitFor(() => c.st.currentState() === 'online', 'online');
    await control(s, '/stall', { on: true });
    const t0 = Date.now();
    await waitFor(() => c.states.includes('reconnecting'), 'stall detected', 2000);
    expect(Date.now() - t0).toBeLessThan(500);
    await control(s, '/stall', { on: false });
    await waitFor(() => c.st.currentState() === 'online', 'online again');
    await control(s, '/inject', { group: GROUP, text: 'fresh' });
    await waitFor(() => c.texts().includes('fresh'), 'fresh message');
  });

  it('sse: a probe failing (implementation gone) reconnects', async () => {
    const s = await sim();
    const api = new MilkyApi({ url: s.url, accessToken: TOKEN });
    let fail = false;
    const c = stream(s, 'sse', { probeIntervalMs: 50, probe: async () => { if (fail) throw new Error('down'); await api.call('get_login_info'); } });
    await c.st.start();
    await waitFor(() => c.st.currentState() === 'online', 'online');
    fail = true;
    await waitFor(() => c.states.includes('reconnecting'), 'probe failure noticed');
    fail = false;
    await waitFor(() => c.st.currentState() === 'online', 'online again');
  });

  it('webhook: events POSTed with the token arrive; requests without it are refused with 401', async () => {
    const port = await freePort();
    const s = await sim({ webhooks: [`http://127.0.0.1:${port}/milky/event`] });
    const c = stream(s, 'webhook', { webhook: { bindAddress: '127.0.0.1', port, path: '/milky/event' } });
    await c.st.start();
    await control(s, '/inject', { group: GROUP, text: 'hooked' });
    await waitFor(() => c.texts().includes('hooked'), 'webhook event');
    const body = JSON.stringify({ time: 1, self_id: SELF, event_type: 'group_member_increase', data: { group_id: GROUP, user_id: 123456 } });
    const noToken = await fetch(`http://127.0.0.1:${port}/milky/event`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const wrong = await fetch(`http://127.0.0.1:${port}/milky/event`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer x' }, body });
    expect([noToken.status, wrong.status]).toEqual([401, 401]);
    expect(c.events.filter((e) => e.event_type === 'group_member_increase')).toHaveLength(0);
  });

  it('hostile frames (not JSON, unknown event type, unknown segment, malformed) give one log line each and lose nothing after them', async () => {
    const s = await sim();
    const c = stream(s, 'websocket');
    await c.st.start();
    await waitFor(() => c.st.currentState() === 'online', 'online');
    await control(s, '/raw', { frame: '{not json' });
    await control(s, '/raw', { frame: JSON.stringify({ time: 1, self_id: SELF, event_type: 'brand_new_thing', data: {} }) });
    await control(s, '/inject', { group: GROUP, segments: [{ type: 'hologram', data: {} }, { type: 'text', data: { text: 'kept' } }] });
    await control(s, '/raw', { frame: JSON.stringify({ time: 1, self_id: SELF, event_type: 'message_recall', data: { peer_id: 'x' } }) });
    await control(s, '/inject', { group: GROUP, text: 'next' });
    await waitFor(() => c.texts().includes('next'), 'the message after the hostile frames');
    const warns = c.cap.lines().filter((l) => l.level === 40).map((l) => `${String(l.msg)} ${String(l.reason ?? l.types)}`);
    expect(warns).toHaveLength(4);
    expect(warns[0]).toContain('not JSON');
    expect(warns[1]).toContain('brand_new_thing');
    expect(warns[2]).toContain('hologram');
    expect(warns[3]).toContain('message_recall does not match');
    const kept = c.events.find((e) => e.event_type === 'message_receive' && e.data.segments.length === 2);
    expect(kept && kept.event_type === 'message_receive' ? kept.data.segments[1] : undefined).toEqual({ type: 'text', data: { text: 'kept' } });
  });

  it('the account\'s own sends come back as events with its own sender id', async () => {
    const s = await sim();
    const c = stream(s, 'websocket');
    await c.st.start();
    await waitFor(() => c.st.currentState() === 'online', 'online');
    const api = new MilkyApi({ url: s.url, accessToken: TOKEN });
    const r = await api.call('send_group_message', { group_id: GROUP, message: [{ type: 'text', data: { text: 'mine' } }, { type: 'image', data: { uri: `base64://${PNG.toString('base64')}` } }] });
    await waitFor(() => c.events.length === 1, 'echo');
    const e = c.events[0]!;
    expect(e.event_type === 'message_receive' && [e.data.sender_id, e.data.message_seq]).toEqual([SELF, r.message_seq]);
    expect((await control(s, '/sent'))[0].text).toBe(`mine[image image/png ${PNG.length} bytes]`);
  });
});

describe('Milky recalls', () => {
  it('recall_group_message follows QQ: own message within two minutes, a member\'s only as an admin, never twice; the recall is pushed as message_recall', async () => {
    const world = defaultWorld();
    // The default world makes the account the group's owner; a plain member here.
    world.groups.find((g) => g.number === GROUP)!.owner = 2041084648;
    const s = await sim({ world });
    const api = new MilkyApi({ url: s.url, accessToken: TOKEN });
    const ev = stream(s, 'websocket');
    ev.st.start();
    await waitFor(() => ev.states.includes('online'), 'stream online');
    const send = async (text: string) => (await api.call('send_group_message', { group_id: GROUP, message: [{ type: 'text', data: { text } }] })).message_seq;
    const own = await send('mine');
    const old = await send('old');
    await control(s, '/backdate', { group: GROUP, seq: old, seconds: 121 });
    const { message_seq: theirs } = await control(s, '/inject', { group: GROUP, from: ALICE, text: 'a member says' });
    const recall = (seq: number) => api.call('recall_group_message', { group_id: GROUP, message_seq: seq });

    await recall(own);
    await waitFor(() => ev.events.some((e) => e.event_type === 'message_recall'), 'message_recall pushed');
    expect(ev.events.find((e) => e.event_type === 'message_recall')!.data).toMatchObject({ message_scene: 'group', peer_id: GROUP, message_seq: own, sender_id: SELF, operator_id: SELF });
    expect(await caught(recall(own))).toMatchObject({ kind: 'failed', retcode: -404 });
    expect((await caught(recall(old))).message).toMatch(/too old to recall/);
    expect((await caught(recall(theirs))).message).toMatch(/no permission/);
    await control(s, '/admin', { group: GROUP, user: SELF });
    await recall(old);
    await recall(theirs);
    expect(await control(s, '/recalls')).toEqual([
      { group: GROUP, message_seq: own, sender: SELF }, { group: GROUP, message_seq: old, sender: SELF }, { group: GROUP, message_seq: theirs, sender: ALICE },
    ]);
    expect(await control(s, '/violations')).toEqual([]);
  });
});

describe('Milky history and resources', () => {
  it('catches up 75 missed messages in three pages of at most 30, oldest first, skipping a recalled one', async () => {
    const s = await sim();
    const api = new MilkyApi({ url: s.url, accessToken: TOKEN });
    const first = await control(s, '/inject', { group: GROUP, text: 'seen' });
    const batch = await control(s, '/inject', { group: GROUP, text: 'm', count: 75 });
    await control(s, '/recall', { group: GROUP, seq: batch.message_seqs[10] });
    const r = await historySince(api, 'group', GROUP, first.message_seq);
    expect(r.pages).toBe(3);
    expect(r.truncated).toBe(false);
    expect(r.messages.map((m) => m.message_seq)).toEqual(batch.message_seqs.filter((_: number, i: number) => i !== 10));
    expect(r.messages[0]!.segments[0]).toEqual({ type: 'text', data: { text: 'm 1' } });
    expect(await control(s, '/violations')).toEqual([]);
    const bounded = await historySince(api, 'group', GROUP, first.message_seq, { maxPages: 2 });
    expect([bounded.truncated, bounded.messages.length]).toEqual([true, 60]);
  });

  it('temp URLs expire; get_resource_temp_url mints a fresh one', async () => {
    const s = await sim({ tempUrlTtlMs: 150 });
    const c = stream(s, 'websocket');
    await c.st.start();
    await waitFor(() => c.st.currentState() === 'online', 'online');
    await control(s, '/inject', { group: GROUP, image: { data: PNG.toString('base64'), mime: 'image/png' } });
    await waitFor(() => c.events.length === 1, 'image message');
    const e = c.events[0]!;
    if (e.event_type !== 'message_receive' || e.data.segments[0]?.type !== 'image') throw new Error('expected an image');
    const seg = e.data.segments[0].data;
    const now = await fetch(seg.temp_url);
    expect(Buffer.from(await now.arrayBuffer())).toEqual(PNG);
    await new Promise((r) => setTimeout(r, 250));
    expect((await fetch(seg.temp_url)).status).toBe(404);
    const api = new MilkyApi({ url: s.url, accessToken: TOKEN });
    const fresh = await api.call('get_resource_temp_url', { resource_id: seg.resource_id });
    expect(Buffer.from(await (await fetch(fresh.url)).arrayBuffer())).toEqual(PNG);
  });
});

describe('Milky webhook resync', () => {
  it('a dropped webhook "stream" stays listening and reports online again (the caller resyncs)', async () => {
    const port = await freePort();
    const s = await sim({ webhooks: [`http://127.0.0.1:${port}/milky/event`] });
    const c = stream(s, 'webhook', { webhook: { bindAddress: '127.0.0.1', port, path: '/milky/event' } });
    await c.st.start();
    c.st.drop('resync');
    await waitFor(() => c.states.filter((x) => x === 'online').length === 2, 'online again');
    await control(s, '/inject', { group: GROUP, text: 'still hooked' });
    await waitFor(() => c.texts().includes('still hooked'), 'webhook event after the resync');
  });
});
