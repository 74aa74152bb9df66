import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { plainText } from '../../../../src/core/message.js';
import { waitFor } from '../../../support/wait.js';
import { BOT, cleanupDirs, GROUP, IRC_ROOM, MEMBERS, QQ_ROOM, startHarness, type Harness } from './harness.js';

const running: Array<Harness & { dir: string }> = [];
afterEach(async () => {
  for (const h of running.splice(0)) {
    await h.stop();
    await h.sim.close();
  }
});
afterAll(() => cleanupDirs());

async function start(o: Parameters<typeof startHarness>[0] = {}) {
  const h = await startHarness(o);
  running.push(h);
  return h;
}

const online = (h: Harness) => waitFor(() => h.qq.isConnected(), 'QQ (OneBot) online', 5000);
const texts = (h: Harness) => h.ircTexts();

describe('OneBot transport and tokens', () => {
  it('forward mode with the right token: messages both ways', async () => {
    const h = await start({ token: 's3cret' });
    await online(h);
    h.sim.inject(GROUP, MEMBERS.huxi, [{ type: 'text', data: { text: 'hello from QQ' } }]);
    await waitFor(() => texts(h).includes('hello from QQ'), 'QQ message on the other side');
    expect(h.irc.remote.sent(IRC_ROOM)[0]!.delivery.message.origin.sender).toMatchObject({ id: String(MEMBERS.huxi), displayName: '呼吸 (糗百)', puppet: true });
    await h.irc.inject(IRC_ROOM, { text: 'hello from IRC' });
    await waitFor(() => h.sim.sends().length === 1, 'a send_group_msg');
    expect(h.sim.sends()[0]!.segments).toEqual([{ type: 'text', data: { text: '[alice] hello from IRC' } }]);
    expect(h.sim.violations()).toEqual([]);
    // our own send comes back as message_sent: never relayed
    await new Promise((r) => setTimeout(r, 200));
    expect(texts(h)).toEqual(['hello from QQ']);
    // One login, one report of which mapped groups this account can reach.
    expect(h.log.text().split('QQ mappings bound to this session').length - 1).toBe(1);
  });

  it('a group the account is in is described with its name and the public group avatar (a Matrix portal\'s picture); others are unknown', async () => {
    const h = await start();
    await online(h);
    await waitFor(async () => (await h.qq.roomInfo(QQ_ROOM)) !== undefined, 'the group list');
    expect(await h.qq.roomInfo(QQ_ROOM)).toEqual({ name: h.sim.world.groups.find((g) => g.number === GROUP)!.name, avatarUrl: `https://p.qlogo.cn/gh/${GROUP}/${GROUP}/640` });
    expect(await h.qq.roomInfo('group:999999')).toBeUndefined();
  });

  it.each([
    ['a wrong token refused at the upgrade (403)', { token: 'right', bridgeToken: 'wrong' }, /HTTP 403/],
    ['a missing token refused at the upgrade (401)', { token: 'right', bridgeToken: undefined }, /HTTP 401/],
    ['a wrong token refused NapCat\'s way (retcode 1403, then close)', { token: 'right', bridgeToken: 'wrong', sim: { tokenRefusal: 'napcat' as const } }, /retcode 1403/],
  ])('%s is an auth failure, said loudly and retried slowly', async (_name, o, reason) => {
    const cur = await start(o);
    await waitFor(() => cur.states.includes('auth-failed'), 'auth-failed state', 5000);
    expect(cur.qq.isConnected()).toBe(false);
    expect(cur.log.text()).toMatch(reason);
    expect(cur.log.text()).toMatch(/access token/);
    const before = cur.sim.connections;
    await new Promise((r) => setTimeout(r, 1000));
    // authRetryMs is 400 in the harness: a couple of attempts a second, never a tight loop
    expect(cur.sim.connections - before).toBeLessThanOrEqual(3);
    // the token itself never reaches the log
    expect(cur.log.text()).not.toContain('right');
  });

  it('reverse mode: accepts the implementation with the right token, messages both ways', async () => {
    const h = await start({ mode: 'reverse', token: 'rev-token' });
    await online(h);
    h.sim.inject(GROUP, MEMBERS.robot, 'reverse hello');
    await waitFor(() => texts(h).includes('reverse hello'), 'QQ message over the reverse socket');
    await h.irc.inject(IRC_ROOM, { text: 'back' });
    await waitFor(() => h.sim.sends().length === 1, 'a send over the reverse socket');
    expect(h.sim.sends()[0]!.segments).toEqual([{ type: 'text', data: { text: '[alice] back' } }]);
    expect(h.sim.sends()[0]!.cq).toBe('&#91;alice&#93; back');
  });

  it('reverse mode: a wrong token is refused with 403 and never goes online', async () => {
    const h = await start({ mode: 'reverse', token: 'wrong-on-the-implementation', bridgeToken: 'bridge-token' });
    await waitFor(() => /wrong token refused \(403\)/.test(h.log.text()), 'the 403 refusal logged', 5000);
    expect(h.qq.isConnected()).toBe(false);
    expect(h.sim.connected).toBe(false);
  });

  it('a configured qq.uin that is not the logged-in account is a clear error', async () => {
    const h = await start({ uin: 10001 });
    await waitFor(() => h.states.includes('auth-failed'), 'auth-failed for a uin mismatch');
    expect(h.log.text()).toContain(`qq.uin is 10001 but the OneBot implementation is logged in as ${BOT}`);
  });
});

describe('OneBot messages both ways', () => {
  let pics: Server | undefined;
  afterAll(() => pics?.close());
  async function picServer(): Promise<string> {
    pics = createServer((req, res) => {
      if (req.url === '/cat.png') res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.from('89504e470d0a1a0a', 'hex'));
      else if (req.url === '/voice.amr') res.writeHead(200, { 'content-type': 'audio/amr' }).end(Buffer.from('#!AMR\n'));
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => pics!.listen(0, '127.0.0.1', () => r()));
    return `http://127.0.0.1:${(pics.address() as AddressInfo).port}`;
  }

  it('every inbound segment type becomes a readable part', async () => {
    const base = await picServer();
    const h = await start();
    await online(h);
    h.sim.addForward('fw1', [
      { user_id: MEMBERS.huxi, segments: [{ type: 'text', data: { text: 'first line' } }] },
      { user_id: MEMBERS.robot, segments: [{ type: 'face', data: { id: '14' } }, { type: 'text', data: { text: 'second' } }] },
    ]);
    const first = h.sim.inject(GROUP, MEMBERS.huxi, 'the original');
    h.sim.inject(GROUP, MEMBERS.robot, [
      { type: 'reply', data: { id: String(first.message_id) } },
      { type: 'at', data: { qq: String(MEMBERS.huxi) } },
      { type: 'text', data: { text: ' look ' } },
      { type: 'face', data: { id: '14' } },
      { type: 'image', data: { file: 'abc.png', url: `${base}/cat.png` } },
      { type: 'at', data: { qq: 'all' } },
      { type: 'record', data: { file: 'v.amr', url: `${base}/voice.amr` } },
      { type: 'json', data: { data: JSON.stringify({ prompt: '[QQ小程序]', meta: { detail_1: { title: 'A video', qqdocurl: 'https://b23.tv/x' } } }) } },
      { type: 'forward', data: { id: 'fw1' } },
      { type: 'mystery', data: {} },
    ]);
    await waitFor(() => h.irc.remote.sent(IRC_ROOM).length === 2, 'two messages relayed');
    const [orig, msg] = h.irc.remote.sent(IRC_ROOM).map((s) => s.delivery.message);
    expect(msg!.replyTo).toBe(orig!.id);
    const parts = msg!.parts;
    expect(parts[0]).toEqual({ type: 'mention', userId: String(MEMBERS.huxi), name: '呼吸 (糗百)' });
    expect(parts.find((p) => p.type === 'emoji')).toMatchObject({ type: 'emoji', native: { network: 'qq', id: '14' } });
    const image = parts.find((p) => p.type === 'image');
    expect(image).toMatchObject({ type: 'image', mime: 'image/png', size: 8 });
    expect(h.media.items.size).toBeGreaterThanOrEqual(2);
    const text = plainText(parts);
    expect(text).toContain('@全体成员');
    expect(text).toMatch(/\[语音\]/);
    expect(parts.find((p) => p.type === 'link' && p.url === 'https://b23.tv/x')).toMatchObject({ text: 'A video' });
    expect(text).toContain('[转发消息]\n> 呼吸 (糗百): first line\n> robot: ');
    expect(text).toContain('[mystery]');
    expect(h.log.text()).toMatch(/OneBot segment types shown as their name/);
  });

  it('the CQ string format is parsed, escapes included', async () => {
    const h = await start({ sim: { messageFormat: 'string' } });
    await online(h);
    h.sim.inject(GROUP, MEMBERS.huxi, [{ type: 'text', data: { text: 'a [b] & c, d' } }, { type: 'face', data: { id: '14' } }]);
    await waitFor(() => h.irc.remote.sent(IRC_ROOM).length === 1, 'relayed');
    const parts = h.irc.remote.sent(IRC_ROOM)[0]!.delivery.message.parts;
    expect(parts[0]).toEqual({ type: 'text', text: 'a [b] & c, d' });
    expect(parts[1]).toMatchObject({ type: 'emoji', native: { network: 'qq', id: '14' } });
  });

  it('text typed elsewhere never becomes a CQ code: the injection cases arrive as literal text', async () => {
    const h = await start();
    await online(h);
    const hostile = '[CQ:at,qq=all] &#91;x&#93; [CQ:image,file=file:///etc/passwd]';
    await h.irc.inject(IRC_ROOM, { text: hostile });
    await waitFor(() => h.sim.sends().length === 1, 'sent');
    const seg = h.sim.sends()[0]!.segments;
    expect(seg).toEqual([{ type: 'text', data: { text: `[alice] ${hostile}` } }]);
    expect(h.sim.violations()).toEqual([]);
  });

  it('pictures go as base64://, replies as a reply segment to the QQ message id', async () => {
    const h = await start();
    await online(h);
    const q = h.sim.inject(GROUP, MEMBERS.huxi, 'question?');
    await waitFor(() => h.irc.remote.sent(IRC_ROOM).length === 1, 'relayed');
    const qid = h.irc.remote.sent(IRC_ROOM)[0]!.delivery.message.id;
    const png = Buffer.from('89504e470d0a1a0a0000', 'hex');
    const stored = await h.media.put(png, 'image/png');
    await h.irc.inject(IRC_ROOM, { parts: [{ type: 'text', text: 'answer ' }, { type: 'image', mediaId: stored.mediaId, mime: 'image/png' }], replyTo: qid });
    await waitFor(() => h.sim.sends().length === 1, 'sent');
    const seg = h.sim.sends()[0]!.segments;
    expect(seg[0]).toEqual({ type: 'reply', data: { id: String(q.message_id) } });
    expect(seg[1]).toEqual({ type: 'text', data: { text: '[alice] answer ' } });
    expect(seg[2]).toEqual({ type: 'image', data: { file: `base64://${png.toString('base64')}` } });
    expect(h.sim.violations()).toEqual([]);
  });

  it('mentions of group members become at segments; others stay text', async () => {
    const h = await start();
    await online(h);
    await h.irc.inject(IRC_ROOM, { parts: [
      { type: 'mention', userId: String(MEMBERS.huxi), name: 'huxi' }, { type: 'text', text: ' and ' },
      { type: 'mention', name: 'robot' }, { type: 'text', text: ' but not ' }, { type: 'mention', userId: '99999', name: 'stranger' },
    ] });
    await waitFor(() => h.sim.sends().length === 1, 'sent');
    expect(h.sim.sends()[0]!.segments).toEqual([
      { type: 'text', data: { text: '[alice] ' } }, { type: 'at', data: { qq: String(MEMBERS.huxi) } }, { type: 'text', data: { text: ' and ' } },
      { type: 'at', data: { qq: String(MEMBERS.robot) } }, { type: 'text', data: { text: ' but not @stranger' } },
    ]);
    expect(h.sim.violations()).toEqual([]);
  });

  it('long text is split under the limit and arrives whole, in order', async () => {
    const h = await start();
    await online(h);
    const long = Array.from({ length: 800 }, (_, i) => `w${i}`).join(' ');
    await h.irc.inject(IRC_ROOM, { text: long });
    await waitFor(() => h.sim.sends().length >= 2, 'split sends');
    await new Promise((r) => setTimeout(r, 100));
    const joined = h.sim.sends().map((s) => s.segments.map((x) => String(x.data.text)).join('')).join('');
    expect(joined).toBe(`[alice] ${long}`);
    for (const s of h.sim.sends()) expect(String(s.segments[0]!.data.text).length).toBeLessThanOrEqual(3000);
  });

  it('join and leave notices become join/leave messages', async () => {
    const h = await start();
    await online(h);
    h.sim.injectNotice({ notice_type: 'group_increase', sub_type: 'approve', group_id: GROUP, user_id: MEMBERS.ops, operator_id: BOT });
    await waitFor(() => h.irc.remote.sent(IRC_ROOM).length === 1, 'join relayed');
    const m = h.irc.remote.sent(IRC_ROOM)[0]!.delivery.message;
    expect(m.kind).toBe('join');
    expect(m.origin.sender.id).toBe(String(MEMBERS.ops));
  });
});

describe('OneBot file uploads', () => {
  it('group_upload becomes a link to the file on the media server', async () => {
    const h = await start();
    await online(h);
    const url = h.sim.addMedia(Buffer.from('%PDF-1.4 tiny'), 'application/pdf');
    h.sim.injectNotice({ notice_type: 'group_upload', group_id: GROUP, user_id: MEMBERS.robot, file: { id: '/abc', name: 'notes.pdf', size: 13, busid: 102, url } });
    await waitFor(() => h.irc.remote.sent(IRC_ROOM).length === 1, 'upload relayed');
    const m = h.irc.remote.sent(IRC_ROOM)[0]!.delivery.message;
    expect(m.origin.sender).toMatchObject({ id: String(MEMBERS.robot), displayName: 'robot' });
    expect(m.parts).toHaveLength(1);
    expect(m.parts[0]).toMatchObject({ type: 'link', text: '[文件] notes.pdf' });
    const link = m.parts[0] as { url: string };
    expect(link.url).not.toBe(url);
    expect([...h.media.items.values()].some((x) => Buffer.from(x.data).toString() === '%PDF-1.4 tiny')).toBe(true);
  });
});

describe('OneBot action failures', () => {
  it('a bad request (1400) is rejected at once, not retried', async () => {
    const h = await start();
    await online(h);
    h.sim.failNext(1400, { action: 'send_group_msg', count: 5 });
    await h.irc.inject(IRC_ROOM, { text: 'refused' });
    await waitFor(() => h.failures.length === 1, 'one failure reported');
    expect(h.failures[0]!.kind).toBe('rejected');
    await new Promise((r) => setTimeout(r, 300));
    expect(h.sim.calls.filter((c) => c === 'send_group_msg')).toHaveLength(1);
  });

  it('other failures (NapCat 1200) are retried by the outbox and delivered once', async () => {
    const h = await start();
    await online(h);
    h.sim.failNext(1200, { action: 'send_group_msg', count: 2 });
    await h.irc.inject(IRC_ROOM, { text: 'eventually' });
    await waitFor(() => h.sim.sends().length === 1, 'delivered after retries', 5000);
    expect(h.sim.calls.filter((c) => c === 'send_group_msg')).toHaveLength(3);
    expect(h.failures).toEqual([]);
  });
});

describe('OneBot: no loss across drops and stalls', () => {
  it('a dropped socket mid-stream loses nothing: catch-up relays what came while disconnected, once, in order', async () => {
    const h = await start();
    await online(h);
    for (let i = 0; i < 10; i++) h.sim.inject(GROUP, MEMBERS.huxi, `m${i}`);
    await waitFor(() => texts(h).length === 10, 'first ten');
    h.sim.drop();
    // said while the bridge is away: only the history has them
    for (let i = 10; i < 20; i++) h.sim.inject(GROUP, MEMBERS.robot, `m${i}`);
    await waitFor(() => h.sim.connected, 'reconnected', 5000);
    for (let i = 20; i < 25; i++) h.sim.inject(GROUP, MEMBERS.huxi, `m${i}`);
    await waitFor(() => texts(h).length >= 25, 'all 25', 8000);
    await new Promise((r) => setTimeout(r, 300));
    expect(texts(h)).toEqual(Array.from({ length: 25 }, (_, i) => `m${i}`));
    expect(h.log.text()).toMatch(/catching up on QQ messages missed while disconnected/);
    expect(h.conditions.filter((c) => c === 'reconnect')).toHaveLength(1);
  });

  it('a stalled socket is detected within heartbeatTimeoutMs and reconnected; nothing said meanwhile is lost', async () => {
    const h = await start({ heartbeatTimeoutMs: 1000 });
    await online(h);
    h.sim.inject(GROUP, MEMBERS.huxi, 'before');
    await waitFor(() => texts(h).length === 1, 'first');
    const conns = h.sim.connections;
    h.sim.stall();
    const stalledAt = Date.now();
    h.sim.inject(GROUP, MEMBERS.huxi, 'during the stall');
    await waitFor(() => h.sim.connections > conns, 'a new connection', 5000);
    expect(Date.now() - stalledAt).toBeLessThan(1000 + 1500);
    await waitFor(() => texts(h).length === 2, 'caught up', 5000);
    expect(texts(h)).toEqual(['before', 'during the stall']);
    expect(h.log.text()).toMatch(/silent too long/);
  });

  it('a send whose socket drops is retried: delivered, at most one duplicate', async () => {
    const h = await start({ sim: { answerDelayMs: 300 } });
    await online(h);
    await h.irc.inject(IRC_ROOM, { text: 'in flight' });
    await waitFor(() => h.sim.calls.includes('send_group_msg'), 'the send reached the implementation');
    h.sim.drop();
    await waitFor(() => h.sim.sends().length >= 1, 'delivered', 8000);
    await new Promise((r) => setTimeout(r, 800));
    expect(h.sim.sends().length).toBeLessThanOrEqual(2);
    expect(h.sim.sends().map((s) => s.segments)).toEqual(h.sim.sends().map(() => [{ type: 'text', data: { text: '[alice] in flight' } }]));
  });
});

describe('OneBot hostile frames', () => {
  it('non-JSON frames, unknown post_types and odd answers give one log line each and lose nothing after them', async () => {
    const h = await start();
    await online(h);
    h.sim.injectRaw('this is not json');
    h.sim.injectRaw('[1,2,3]');
    h.sim.injectRaw(JSON.stringify({ post_type: 'alien', time: 1 }));
    h.sim.injectRaw(JSON.stringify({ status: 'ok', retcode: 0, echo: 'nobody-asked' }));
    h.sim.injectRaw(JSON.stringify({ post_type: 'message', message_type: 'group', group_id: GROUP }));
    h.sim.injectRaw(JSON.stringify({ post_type: 'message', message_type: 'group', group_id: GROUP, message_id: 5, user_id: MEMBERS.huxi, message: [{ nope: 1 }, { type: 'text', data: { text: 'partly ok' } }], sender: {} }));
    h.sim.inject(GROUP, MEMBERS.huxi, 'still here');
    await waitFor(() => texts(h).includes('still here'), 'the message after the junk');
    expect(texts(h)).toEqual(['partly ok', 'still here']);
    const log = h.log.text();
    expect(log).toMatch(/not JSON was ignored/);
    expect(log).toMatch(/not a JSON object was ignored/);
    expect(log).toMatch(/unknown OneBot post_type/);
    expect(log).toMatch(/answer to no pending action/);
    expect(log).toMatch(/without group_id or message_id/);
    expect(log).toMatch(/malformed segments/);
  });
});

describe('OneBot oversized frames and account state', () => {
  it('a frame over the size limit drops the socket with a clear log line; what follows is not lost', async () => {
    const h = await start({ tuning: { maxFrameBytes: 64 * 1024 } });
    await online(h);
    const conns = h.sim.connections;
    h.sim.injectRaw(JSON.stringify({ post_type: 'message', message_type: 'group', group_id: GROUP, message_id: 1, user_id: MEMBERS.huxi, message: 'x'.repeat(100_000) }));
    h.sim.inject(GROUP, MEMBERS.huxi, 'after the big one');
    h.sim.inject(GROUP, MEMBERS.robot, 'and one more');
    await waitFor(() => h.sim.connections > conns, 'reconnected', 5000);
    await waitFor(() => texts(h).includes('and one more'), 'the following messages', 5000);
    expect(texts(h).filter((t) => t === 'after the big one')).toHaveLength(1);
    expect(h.log.text()).toMatch(/frame over the size limit/);
  });

  it('heartbeat status.online false and bot_offline take the account offline; a healthy heartbeat brings it back', async () => {
    const h = await start();
    await online(h);
    h.sim.injectRaw(JSON.stringify({ post_type: 'meta_event', meta_event_type: 'heartbeat', status: { online: false, good: true }, interval: 200, self_id: BOT, time: 1 }));
    await waitFor(() => !h.qq.isConnected(), 'offline');
    expect(h.states).toContain('offline');
    h.sim.injectRaw(JSON.stringify({ post_type: 'meta_event', meta_event_type: 'heartbeat', status: { online: true, good: true }, interval: 200, self_id: BOT, time: 2 }));
    await online(h);
    h.sim.injectNotice({ notice_type: 'bot_offline', user_id: BOT, tag: 'kicked', message: 'logged in elsewhere' });
    await waitFor(() => !h.qq.isConnected(), 'offline again');
    expect(h.log.text()).toMatch(/logged in elsewhere/);
  });
});

describe('OneBot across a bridge restart', () => {
  it('what QQ said while the bridge was down is relayed at the next start, once; older history is not replayed', async () => {
    const h1 = await start();
    h1.sim.inject(GROUP, MEMBERS.ops, 'said before the bridge ever ran');
    await online(h1);
    await new Promise((r) => setTimeout(r, 200));
    expect(texts(h1)).toEqual([]);
    expect(h1.log.text()).toMatch(/not replaying it/);
    for (let i = 0; i < 3; i++) h1.sim.inject(GROUP, MEMBERS.huxi, `up ${i}`);
    await waitFor(() => texts(h1).length === 3, 'relayed while up');
    await h1.stop();
    running.splice(running.indexOf(h1), 1);
    for (let i = 0; i < 60; i++) h1.sim.inject(GROUP, MEMBERS.robot, `down ${i}`);
    const h2 = await start({ reuse: { sim: h1.sim, dir: h1.dir } });
    await online(h2);
    await waitFor(() => texts(h2).length >= 60, 'the 60 said while down', 8000);
    await new Promise((r) => setTimeout(r, 300));
    expect(texts(h2)).toEqual(Array.from({ length: 60 }, (_, i) => `down ${i}`));
  });
});

