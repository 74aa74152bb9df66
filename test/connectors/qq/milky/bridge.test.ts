/**
 * The Milky backend through the bridge: the QQ adapter on the Milky simulator (real HTTP and
 * WebSocket/SSE on loopback), a real SQLite store and relay, and a loopback network on the other
 * side. What a user would notice: who said what, pictures, replies, notices, injection safety,
 * and nothing lost across a dead stream.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Relay } from '../../../../src/core/relay.js';
import { StaticRoutes } from '../../../../src/core/routes.js';
import { openStore } from '../../../../src/store/store.js';
import { QqConnector } from '../../../../src/connectors/qq/connector.js';
import { qqConfigSchema } from '../../../../src/connectors/qq/config.js';
import { loadConfig } from '../../../../src/config.js';
import { startMilkySimulator, type RunningMilkySimulator } from '../../../../src/connectors/qq/milky/simulator/index.js';
import { plainText } from '../../../../src/core/message.js';
import { LoopbackConnector } from '../../../support/loopback.js';
import { memoryMedia } from '../../../support/memory-media.js';
import { capturedLogger } from '../../../support/log-capture.js';
import { waitFor } from '../../../support/wait.js';
import { freePort } from '../../../../src/demo/ngircd.js';

const TOKEN = 'bridge-token';
const GROUP = 346167134;
const ROOM = `group:${GROUP}`;
const ALICE = 2440652742;
const ROBOT = 2899268194;
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082', 'hex');

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-milky-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function control(s: RunningMilkySimulator, p: string, body?: unknown): Promise<any> {
  const res = await fetch(`${s.controlUrl}${p}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
  const json = await res.json();
  if (res.status !== 200) throw new Error(`control ${p}: ${JSON.stringify(json)}`);
  return json;
}

async function setup(events: 'websocket' | 'sse' | 'webhook' = 'websocket', token = TOKEN, webhookPort = 0, reuse?: { sim: RunningMilkySimulator; stateDir: string }) {
  const sim = reuse?.sim ?? (await startMilkySimulator({ accessToken: TOKEN }));
  if (!reuse) cleanups.push(() => sim.close());
  const cap = capturedLogger('debug');
  const stateDir = reuse?.stateDir ?? fs.mkdtempSync(path.join(root, 's-'));
  const store = await openStore({ stateDir }, cap.log);
  const media = memoryMedia();
  const relay = new Relay({
    store, log: cap.log, media, pruneIntervalMs: 0,
    routes: new StaticRoutes([[{ network: 'qq', room: ROOM }, { network: 'irc', room: '#c' }]]),
    outbox: { baseBackoffMs: 5, maxBackoffMs: 50, connectPollMs: 10 },
  });
  const webhook = events === 'webhook' ? { webhook: { bindAddress: '127.0.0.1', port: webhookPort, path: '/milky/event' } } : {};
  const config = qqConfigSchema.parse({ protocol: 'milky', milky: { url: sim.url, accessToken: token, events, ...webhook } });
  const qq = new QqConnector(config, { backend: { tuning: { pingIntervalMs: 100, probeIntervalMs: 100, backoff: { minMs: 20, maxMs: 100 }, unauthorizedRetryMs: 60_000 } } });
  const irc = new LoopbackConnector('irc');
  relay.register(qq);
  relay.register(irc);
  await relay.start();
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= (async () => {
    await relay.stop();
    await store.close();
  })());
  cleanups.push(stop);
  return { sim, relay, qq, irc, media, cap, stateDir, stop, texts: () => irc.remote.texts('#c') };
}

describe('Milky backend through the bridge', () => {
  it('QQ → network: text, mentions, faces, pictures (bytes kept), replies, cards, forwards; sender by card; own messages never relayed', async () => {
    const b = await setup();
    await waitFor(() => b.qq.isConnected(), 'QQ online');
    const first = await control(b.sim, '/inject', { group: GROUP, from: ALICE, text: 'hello' });
    await waitFor(() => b.texts().length === 1, 'first message');
    const fwd = await control(b.sim, '/forward', { messages: [{ message_seq: 1, sender_name: 'Bob', avatar_url: '', time: 1, segments: [{ type: 'text', data: { text: 'forwarded line' } }] }] });
    await control(b.sim, '/inject', {
      group: GROUP, from: ROBOT,
      segments: [
        { type: 'reply', data: { message_seq: first.message_seq, sender_id: ALICE, time: 1, segments: [] } },
        { type: 'mention', data: { user_id: ALICE, name: '呼吸 (糗百)' } },
        { type: 'text', data: { text: ' look ' } },
        { type: 'face', data: { face_id: '14', is_large: false } },
        { type: 'light_app', data: { app_name: 'com.tencent.miniapp', json_payload: JSON.stringify({ meta: { detail: { title: 'A page', jumpUrl: 'https://example.org/p' } } }) } },
        { type: 'forward', data: { forward_id: fwd.forward_id, title: 'chat', preview: [], summary: '1 message' } },
      ],
    });
    await control(b.sim, '/inject', { group: GROUP, from: ALICE, image: { data: PNG.toString('base64'), mime: 'image/png' } });
    await waitFor(() => b.texts().length === 3, 'three messages');
    const sent = b.irc.remote.sent('#c').map((s) => s.delivery.message);
    expect(sent[0]!.origin.sender).toMatchObject({ id: String(ALICE), displayName: '呼吸 (糗百)', puppet: true });
    expect(sent[0]!.id).toBe(`qq:${ROOM}:${first.message_seq}`);
    const second = sent[1]!;
    expect(second.replyTo).toBe(sent[0]!.id);
    expect(second.parts[0]).toMatchObject({ type: 'mention', userId: String(ALICE) });
    expect(second.parts.some((p) => p.type === 'emoji' && p.native?.network === 'qq' && p.native.id === '14')).toBe(true);
    const text = plainText(second.parts);
    expect(text).toContain('A page');
    expect(text).toContain('https://example.org/p');
    expect(text).toContain('forwarded line');
    const img = sent[2]!.parts[0]!;
    expect(img.type).toBe('image');
    expect(Buffer.from(b.media.items.get((img as { mediaId: string }).mediaId)!.data)).toEqual(PNG);

    // The bridge's own account speaking in the group (from another client) is not relayed back.
    await control(b.sim, '/inject', { group: GROUP, from: 2769546520, text: 'from the bot account' });
    await control(b.sim, '/inject', { group: GROUP, from: ALICE, text: 'after' });
    await waitFor(() => b.texts().length === 4, 'the next message');
    expect(b.texts()[3]).toBe('after');
  });

  it('QQ → network: voice, video and group files become links on the media server with their bytes kept; an expired temp URL is renewed', async () => {
    const b = await setup();
    await waitFor(() => b.qq.isConnected(), 'QQ online');
    const voice = Buffer.from('#!SILK_V3 voice bytes');
    const video = Buffer.from('....ftypmp42 video bytes');
    const doc = Buffer.from('%PDF-1.4 a document');
    const r1 = await control(b.sim, '/resource', { data: voice.toString('base64'), mime: 'audio/silk' });
    const r2 = await control(b.sim, '/resource', { data: video.toString('base64'), mime: 'video/mp4' });
    const f = await control(b.sim, '/group-file', { group: GROUP, name: 'notes.pdf', data: doc.toString('base64'), mime: 'application/pdf' });
    await control(b.sim, '/inject', {
      group: GROUP, from: ALICE,
      segments: [
        { type: 'record', data: { resource_id: r1.resource_id, temp_url: '', duration: 3 } },
        { type: 'video', data: { resource_id: r2.resource_id, temp_url: 'http://127.0.0.1:1/expired', width: 1, height: 1, duration: 2 } },
        { type: 'file', data: { file_id: f.file_id, file_name: 'notes.pdf', file_size: doc.length } },
      ],
    });
    await waitFor(() => b.texts().length === 1, 'the message');
    const parts = b.irc.remote.sent('#c')[0]!.delivery.message.parts;
    const links = parts.filter((p) => p.type === 'link').map((p) => (p as { url: string }).url);
    expect(links).toHaveLength(3);
    expect(plainText(parts)).toContain('notes.pdf');
    const stored = [...b.media.items.values()].map((v) => Buffer.from(v.data).toString());
    expect(stored).toEqual([voice.toString(), video.toString(), doc.toString()]);
  });

  it('network → QQ: user text only ever in text segments (injection cases), pictures as base64://, replies to the QQ seq', async () => {
    const b = await setup();
    await waitFor(() => b.qq.isConnected(), 'QQ online');
    const q = await control(b.sim, '/inject', { group: GROUP, from: ALICE, text: 'question' });
    await waitFor(() => b.texts().length === 1, 'relayed');
    const hostile = '[CQ:at,qq=all] &#91;CQ:image,file=file:///etc/passwd&#93; @全体成员 {"type":"mention_all","data":{}}';
    await b.irc.inject('#c', { text: hostile, sender: { id: 'eve', displayName: 'eve' } });
    await b.irc.inject('#c', { parts: [{ type: 'text', text: 'see ' }, { type: 'image', mediaId: (await b.media.put(PNG, 'image/png')).mediaId, mime: 'image/png' }] });
    await b.irc.inject('#c', { text: 'answer', replyTo: `qq:${ROOM}:${q.message_seq}` });
    await waitFor(async () => (await control(b.sim, '/sent')).length === 3, 'three sends');
    const sends = (await control(b.sim, '/sent')) as Array<{ segments: Array<{ type: string; data: Record<string, unknown> }>; text: string }>;
    expect(sends[0]!.segments.every((s) => s.type === 'text')).toBe(true);
    expect(sends[0]!.text).toContain(hostile);
    expect(sends[1]!.segments.find((s) => s.type === 'image')!.data.uri).toMatch(/^base64:\/\//);
    expect(sends[1]!.text).toContain(`[image image/png ${PNG.length} bytes]`);
    expect(sends[2]!.segments[0]).toEqual({ type: 'reply', data: { message_seq: q.message_seq } });
    expect(await control(b.sim, '/violations')).toEqual([]);
    // The sends came back as events of the account itself: none was relayed to the other side.
    await new Promise((r) => setTimeout(r, 200));
    expect(b.texts()).toEqual(['question']);
  });

  it('join and leave notices; a recall by the bridge removes the QQ copy', async () => {
    const b = await setup();
    await waitFor(() => b.qq.isConnected(), 'QQ online');
    await control(b.sim, '/notice', { type: 'member_increase', group: GROUP, user: 123456 });
    await control(b.sim, '/notice', { type: 'member_decrease', group: GROUP, user: ROBOT });
    await waitFor(() => b.irc.remote.sent('#c').length === 2, 'two notices');
    expect(b.irc.remote.sent('#c').map((s) => [s.delivery.message.kind, s.delivery.message.origin.sender.id])).toEqual([['join', '123456'], ['leave', String(ROBOT)]]);
    await b.irc.inject('#c', { text: 'oops' });
    await waitFor(async () => (await control(b.sim, '/sent')).length === 1, 'sent');
    const seq = (await control(b.sim, '/sent'))[0].message_seq as number;
    await b.qq.qqBackend!.recall!({ kind: 'group', number: GROUP }, String(seq));
    const api = (b.qq.qqBackend as unknown as { api: { call(e: string, p: unknown): Promise<{ messages: Array<{ message_seq: number }> }> } }).api;
    const h = await api.call('get_history_messages', { message_scene: 'group', peer_id: GROUP });
    expect(h.messages.map((m) => m.message_seq)).not.toContain(seq);
  });

  for (const events of ['websocket', 'sse'] as const) {
    it(`${events}: 75 messages sent while the stream is dead arrive after the reconnect through paged history, in order, 0 lost, 0 duplicated`, async () => {
      const b = await setup(events);
      await waitFor(() => b.qq.isConnected(), 'QQ online');
      await control(b.sim, '/inject', { group: GROUP, from: ALICE, text: 'before' });
      await waitFor(() => b.texts().length === 1, 'first');
      await control(b.sim, '/stall', { on: true });
      await control(b.sim, '/inject', { group: GROUP, from: ALICE, text: 'missed', count: 75 });
      if (events === 'websocket') await waitFor(() => !b.qq.isConnected(), 'the stall noticed', 3000);
      else await control(b.sim, '/drop', {}); // SSE has no pings: the stream ends (a probe notices a dead implementation)
      await control(b.sim, '/stall', { on: false });
      await waitFor(() => b.texts().length === 76, 'the missed messages', 10_000);
      await control(b.sim, '/inject', { group: GROUP, from: ALICE, text: 'live again' });
      await waitFor(() => b.texts().length === 77, 'live again');
      await new Promise((r) => setTimeout(r, 200));
      expect(b.texts()).toEqual(['before', ...Array.from({ length: 75 }, (_, i) => `missed ${i + 1}`), 'live again']);
      expect(b.cap.lines().some((l) => l.msg === 'Milky: catching up messages missed while disconnected' && l.missed === 75 && l.pages === 3)).toBe(true);
      expect(await control(b.sim, '/violations')).toEqual([]);
    });
  }

  it('after a restart, what the group said while the bridge was down is relayed once, in order, back to the last message the store knows', async () => {
    const a = await setup();
    await waitFor(() => a.qq.isConnected(), 'QQ online');
    await control(a.sim, '/inject', { group: GROUP, from: ALICE, text: 'before the stop' });
    await waitFor(() => a.texts().length === 1, 'first');
    await a.stop();
    await control(a.sim, '/inject', { group: GROUP, from: ALICE, text: 'while down', count: 40 });
    const b = await setup('websocket', TOKEN, 0, { sim: a.sim, stateDir: a.stateDir });
    await waitFor(() => b.texts().length === 40, 'the messages from while it was down', 10_000);
    await control(b.sim, '/inject', { group: GROUP, from: ALICE, text: 'live' });
    await waitFor(() => b.texts().length === 41, 'live');
    expect(b.texts()).toEqual([...Array.from({ length: 40 }, (_, i) => `while down ${i + 1}`), 'live']);
  });

  it('a fresh link replays none of the group\'s old history', async () => {
    const sim = await startMilkySimulator({ accessToken: TOKEN });
    cleanups.push(() => sim.close());
    await control(sim, '/inject', { group: GROUP, from: ALICE, text: 'old', count: 5 });
    const b = await setup('websocket', TOKEN, 0, { sim, stateDir: fs.mkdtempSync(path.join(root, 's-')) });
    await waitFor(() => b.qq.isConnected(), 'QQ online');
    await control(sim, '/inject', { group: GROUP, from: ALICE, text: 'new' });
    await waitFor(() => b.texts().length >= 1, 'new');
    await new Promise((r) => setTimeout(r, 200));
    expect(b.texts()).toEqual(['new']);
  });

  it('webhook: events POSTed by the implementation with the token are relayed; a POST without it is refused with 401 and relays nothing', async () => {
    // A port found free can be taken by a parallel test before the listener binds it: take another.
    let port = 0;
    let b: Awaited<ReturnType<typeof setup>> | undefined;
    for (let attempt = 1; !b; attempt++) {
      port = await freePort();
      try {
        b = await setup('webhook', TOKEN, port);
      } catch (e) {
        if (attempt >= 5 || !/EADDRINUSE/.test(String((e as Error).message))) throw e;
      }
    }
    await control(b.sim, '/webhooks', { urls: [`http://127.0.0.1:${port}/milky/event`] });
    await waitFor(() => b.qq.isConnected(), 'QQ online');
    await control(b.sim, '/inject', { group: GROUP, from: ALICE, text: 'by webhook' });
    await waitFor(() => b.texts().length === 1, 'the webhook message');
    const forged = { time: 1, self_id: 2769546520, event_type: 'message_receive', data: { message_scene: 'group', peer_id: GROUP, message_seq: 999999, sender_id: ALICE, time: 1, segments: [{ type: 'text', data: { text: 'forged' } }] } };
    const res = await fetch(`http://127.0.0.1:${port}/milky/event`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(forged) });
    expect(res.status).toBe(401);
    await control(b.sim, '/inject', { group: GROUP, from: ALICE, text: 'next' });
    await waitFor(() => b.texts().length === 2, 'the next message');
    expect(b.texts()).toEqual(['by webhook', 'next']);
  });

  it('a refused token is an authentication failure, said loudly, and nothing is sent', async () => {
    const b = await setup('websocket', 'wrong-token');
    await waitFor(() => b.cap.lines().some((l) => l.level === 50 && String(l.msg).includes('refused')), 'the error line');
    expect(b.qq.isConnected()).toBe(false);
    expect(b.qq.qqBackend!.state()).toBe('auth-failed');
    await waitFor(() => b.cap.lines().some((l) => l.level === 50 && String(l.msg).includes('check qq.milky.accessToken')), 'the adapter naming the key');
    expect(b.cap.text()).not.toContain('wrong-token');
  });
});

describe('qq config with protocol: milky', () => {
  const base = { protocol: 'milky', milky: { url: 'http://127.0.0.1:3000', accessToken: 't' } };
  it('accepts the issue\'s keys with their defaults', () => {
    const c = qqConfigSchema.parse(base) as { milky: { events: string } };
    expect(c.milky.events).toBe('websocket');
    expect(qqConfigSchema.safeParse({ ...base, milky: { ...base.milky, events: 'webhook', webhook: { port: 8766 } } }).success).toBe(true);
  });
  it('a config file with protocol: milky passes check-config, the token taken from the environment', () => {
    const file = path.join(root, 'milky.yaml');
    fs.writeFileSync(file, 'qq:\n  protocol: milky\n  milky:\n    url: http://127.0.0.1:3000\n    accessToken: ${MILKY_TOKEN}\n    events: sse\nirc:\n  host: 127.0.0.1\n  nick: qqbridge\nmappings:\n  - qq: { group: 346167134 }\n    irc: "#c"\n');
    const c = loadConfig(file, { MILKY_TOKEN: 'from-env' });
    expect(c.qq).toMatchObject({ protocol: 'milky', milky: { url: 'http://127.0.0.1:3000', accessToken: 'from-env', events: 'sse' } });
  });
  it('rejects other backends\' keys, a webhook without its listener, and a non-http URL', () => {
    const err = (v: unknown) => {
      const r = qqConfigSchema.safeParse(v);
      return r.success ? '' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
    };
    expect(err({ ...base, password: 'x' })).toMatch(/password: a setting of protocol: webqq/);
    expect(err({ ...base, onebot: { url: 'ws://x' } })).toMatch(/onebot: a setting of protocol: onebot/);
    expect(err({ protocol: 'onebot', onebot: { url: 'ws://x' }, milky: base.milky })).toMatch(/milky: a setting of protocol: milky/);
    expect(err({ ...base, milky: { ...base.milky, events: 'webhook' } })).toMatch(/milky.webhook: qq.milky.webhook is required/);
    expect(err({ ...base, milky: { ...base.milky, url: 'ws://x' } })).toMatch(/milky.url/);
    expect(err({ ...base, milky: { ...base.milky, token: 'x' } })).toMatch(/token/);
  });
});
