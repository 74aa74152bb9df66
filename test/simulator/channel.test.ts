import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hashP } from '../../src/connectors/qq/webqq/protocol-crypto.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index.js';
import { Browser, control, D_REF, FONT, groupList, loginA, onlineBuddies, poll, S_REF, sendQun, type Channel } from './browser.js';

let sim: RunningSimulator;
const HOLD = 300;
beforeAll(async () => {
  sim = await startSimulator({ pollHoldMs: HOLD });
});
afterAll(() => sim.close());
beforeEach(async () => {
  await control(sim, 'DELETE', '/violations');
  await control(sim, 'DELETE', '/sent');
  await control(sim, 'POST', '/self-echo', { on: false });
});

async function gidOf(b: Browser, ch: Channel): Promise<number> {
  const g = await groupList(b, ch);
  return g.result.gnamelist[0].gid as number;
}
const rules = async () => (await control(sim, 'GET', '/violations')).map((v: { rule: string }) => v.rule);

describe('poll2', () => {
  it('enforces the warm-up: poll before get_online_buddies2 is 103', async () => {
    const b = new Browser(sim);
    const ch = await loginA(b, undefined, undefined, false);
    expect((await poll(b, ch)).retcode).toBe(103);
    expect(await rules()).toEqual(['warmup']);
    expect((await onlineBuddies(b, ch)).retcode).toBe(0);
    await control(sim, 'POST', '/inject', { group: 346167134, from: 2440652742, text: 'x' });
    expect((await poll(b, ch)).retcode).toBe(0);
  });

  it('holds pollHoldMs then answers 102', async () => {
    const b = new Browser(sim);
    const ch = await loginA(b);
    const t0 = Date.now();
    expect(await poll(b, ch)).toEqual({ retcode: 102, errmsg: '' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(HOLD - 20);
  });

  it('delivers an injected group message with the WebQQ-era fields, batched', async () => {
    const b = new Browser(sim);
    const ch = await loginA(b);
    const gid = await gidOf(b, ch);
    const pending = poll(b, ch);
    await new Promise((r) => setTimeout(r, 50));
    const { msg_id } = await control(sim, 'POST', '/inject', { group: 346167134, from: 2440652742, text: 'hii ', faces: [14] });
    await control(sim, 'POST', '/inject', { buddy: 2440652742, text: 'hello' });
    const first = await pending;
    const second = first.result.length === 2 ? null : await poll(b, ch);
    const events = [...first.result, ...(second?.result ?? [])];
    expect(events).toHaveLength(2);
    const g = events.find((e: any) => e.poll_type === 'group_message');
    expect(Object.keys(g.value).sort()).toEqual(
      ['content', 'from_uin', 'group_code', 'info_seq', 'msg_id', 'msg_id2', 'msg_type', 'reply_ip', 'send_uin', 'seq', 'time', 'to_uin'],
    );
    expect(g.value).toMatchObject({ from_uin: gid, info_seq: 346167134, msg_id, msg_type: 43, to_uin: 2769546520 });
    expect(g.value.content).toEqual([['font', { color: '000000', name: '宋体', size: 10, style: [0, 0, 0] }], 'hii ', ['face', 14]]);
    const info = await b.json(`http://s.web2.qq.com/api/get_friend_uin2?tuin=${g.value.send_uin}&type=1&vfwebqq=${ch.vfwebqq}&t=1`, { referer: S_REF });
    expect(info.result.account).toBe(2440652742);
    const m = events.find((e: any) => e.poll_type === 'message');
    expect(m.value).toMatchObject({ msg_type: 9, to_uin: 2769546520 });
  });

  it('a retcode fault answers the next poll; 121 invalidates the psessionid and relink restores it', async () => {
    const b = new Browser(sim);
    const ch = await loginA(b);
    await control(sim, 'POST', '/fault', { poll: { retcode: 121 } });
    expect(await poll(b, ch)).toEqual({ retcode: 121, t: '0' });
    expect((await poll(b, ch)).retcode).toBe(103);
    const r = await b.post('http://d.web2.qq.com/channel/login2', { status: 'online', key: '', ptwebqq: b.cookie('ptwebqq'), passwd_sig: '', clientid: ch.clientid, psessionid: ch.psessionid }, D_REF);
    expect(r.retcode).toBe(0);
    const relinked = { ...ch, psessionid: r.result.psessionid, vfwebqq: r.result.vfwebqq };
    await control(sim, 'POST', '/inject', { group: 346167134, from: 2440652742, text: 'back' });
    expect((await poll(b, relinked)).result[0].value.content[1]).toBe('back');
    const st = await control(sim, 'GET', '/state');
    expect(st.sessions[0]).toMatchObject({ qq: 2769546520, relinks: 1, online: true });
  });

  it('fault 100 forces a full relogin: relink answers 103', async () => {
    const b = new Browser(sim);
    const ch = await loginA(b);
    await control(sim, 'POST', '/fault', { poll: { retcode: 100 } });
    expect((await poll(b, ch)).retcode).toBe(100);
    const r = await b.post('http://d.web2.qq.com/channel/login2', { status: 'online', key: '', ptwebqq: b.cookie('ptwebqq'), passwd_sig: '', clientid: ch.clientid, psessionid: ch.psessionid }, D_REF);
    expect(r.retcode).toBe(103);
  });

  it('116 rotates ptwebqq: the old cookie and old hash fail, the new ones work', async () => {
    const b = new Browser(sim);
    const ch = await loginA(b);
    const old = b.cookie('ptwebqq')!;
    await control(sim, 'POST', '/fault', { poll: { retcode: 116, p: 'a'.repeat(64) } });
    expect(await poll(b, ch)).toEqual({ retcode: 116, p: 'a'.repeat(64) });
    expect((await poll(b, ch)).retcode).toBe(108);
    expect(await rules()).toContain('cookie:ptwebqq');
    b.setCookie('ptwebqq', 'a'.repeat(64), 'qq.com');
    expect((await groupList(b, ch, hashP(ch.qq, old))).retcode).toBe(50);
    expect((await groupList(b, ch)).retcode).toBe(0);
  });

  it('http faults, duplicates, reversed batches and kick', async () => {
    const b = new Browser(sim);
    const ch = await loginA(b);
    await control(sim, 'POST', '/fault', { http: 504 });
    const res = await b.req('http://d.web2.qq.com/channel/poll2', { form: { r: JSON.stringify({ clientid: ch.clientid, psessionid: ch.psessionid, key: 0, ids: [] }) }, referer: D_REF });
    expect(res.status).toBe(504);
    await control(sim, 'POST', '/fault', { duplicate: true });
    await control(sim, 'POST', '/fault', { outOfOrder: true });
    const a = await control(sim, 'POST', '/inject', { group: 346167134, from: 2440652742, text: 'one' });
    const c = await control(sim, 'POST', '/inject', { group: 346167134, from: 2440652742, text: 'two' });
    const p1 = await poll(b, ch);
    expect(p1.result.map((e: any) => e.value.msg_id)).toEqual([c.msg_id, a.msg_id]);
    const p2 = await poll(b, ch);
    expect(p2.result.map((e: any) => e.value.msg_id).sort()).toEqual([a.msg_id, c.msg_id].sort());
    await control(sim, 'POST', '/fault', { kick: true });
    expect((await poll(b, ch)).result[0].poll_type).toBe('kick_message');
    expect((await poll(b, ch)).retcode).toBe(108);
  });
});

describe('sends', () => {
  it('accepts a valid group send, records it decoded and echoes it when self-echo is on', async () => {
    const b = new Browser(sim);
    const ch = await loginA(b);
    const gid = await gidOf(b, ch);
    await control(sim, 'POST', '/self-echo', { on: true });
    expect(await sendQun(b, ch, gid, ['hi\n', ['face', 14], FONT], 62580001)).toEqual({ retcode: 0, result: 'ok' });
    const sent = await control(sim, 'GET', '/sent');
    expect(sent).toEqual([expect.objectContaining({ endpoint: 'send_qun_msg2', account: 2769546520, group: 346167134, msg_id: 62580001, text: 'hi\n', faces: [14], images: [] })]);
    const echo = (await poll(b, ch)).result[0].value;
    expect(echo.content).toEqual([FONT, 'hi\n', ['face', 14]]);
    const info = await b.json(`http://s.web2.qq.com/api/get_group_info_ext2?gcode=${echo.group_code}&vfwebqq=${ch.vfwebqq}&t=1`, { referer: S_REF });
    expect(info.result.minfo.map((m: any) => m.uin)).not.toContain(echo.send_uin);
  });

  it('rejects font not last, a non-increasing msg_id, content over 720 bytes, an unknown group and a foreign clientid', async () => {
    const b = new Browser(sim);
    const ch = await loginA(b);
    const gid = await gidOf(b, ch);
    expect((await sendQun(b, ch, gid, [FONT, 'hi'], 100)).retcode).not.toBe(0);
    expect((await sendQun(b, ch, gid, ['ok', FONT], 100)).retcode).toBe(0);
    expect((await sendQun(b, ch, gid, ['again', FONT], 100)).retcode).not.toBe(0);
    expect((await sendQun(b, ch, gid, ['字'.repeat(241), FONT], 101)).retcode).not.toBe(0);
    expect((await sendQun(b, ch, gid, ['字'.repeat(240), FONT], 102)).retcode).toBe(0);
    expect((await sendQun(b, ch, gid + 1, ['x', FONT], 103)).retcode).toBe(100001);
    expect((await sendQun(b, { ...ch, clientid: '99999999' }, gid, ['x', FONT], 104)).retcode).toBe(122);
    expect(await rules()).toEqual(['font-not-last', 'msg_id-not-increasing', 'content-too-long', 'unknown-target', 'clientid-mismatch']);
    expect((await control(sim, 'GET', '/sent')).map((s: any) => s.msg_id)).toEqual([100, 102]);
  });

  it('send faults answer their retcode; 100100 is still delivered', async () => {
    const b = new Browser(sim);
    const ch = await loginA(b);
    const gid = await gidOf(b, ch);
    await control(sim, 'POST', '/fault', { send: { retcode: 1202 } });
    await control(sim, 'POST', '/fault', { send: { retcode: 100100 } });
    expect(await sendQun(b, ch, gid, ['a', FONT], 1)).toEqual({ errmsg: 'error!!!', retcode: 1202 });
    expect((await sendQun(b, ch, gid, ['a', FONT], 1)).retcode).toBe(100100);
    expect((await sendQun(b, ch, gid, ['b', FONT], 2)).retcode).toBe(0);
    expect((await control(sim, 'GET', '/sent')).map((s: any) => s.text)).toEqual(['a', 'b']);
  });

  it('a refusal window answers every send 1202, delivers none, and records each attempt', async () => {
    const b = new Browser(sim);
    const ch = await loginA(b);
    const gid = await gidOf(b, ch);
    await control(sim, 'DELETE', '/sent');
    const before = (await control(sim, 'GET', '/send-attempts')).length;
    await control(sim, 'POST', '/fault', { refuse: { forMs: 300 } });
    expect(await sendQun(b, ch, gid, ['x', FONT], 500)).toEqual({ errmsg: 'error!!!', retcode: 1202 });
    expect(await sendQun(b, ch, gid, ['y', FONT], 501)).toEqual({ errmsg: 'error!!!', retcode: 1202 });
    await new Promise((r) => setTimeout(r, 350));
    expect((await sendQun(b, ch, gid, ['z', FONT], 502)).retcode).toBe(0);
    expect((await control(sim, 'GET', '/sent')).map((s: any) => s.text)).toEqual(['z']);
    const attempts = (await control(sim, 'GET', '/send-attempts')).slice(before);
    expect(attempts.map((a: any) => a.outcome)).toEqual(['refused', 'refused', 'accepted']);
  });
});

describe('control', () => {
  it('/down refuses connections for the given time, then serves again', async () => {
    const b = new Browser(sim);
    await control(sim, 'POST', '/down', { ms: 200 });
    await expect(b.req('http://w.qq.com/')).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 250));
    expect((await b.req('http://w.qq.com/')).status).toBe(200);
  });

  it('/scenario plays injects over time', async () => {
    const b = new Browser(sim);
    const ch = await loginA(b);
    await control(sim, 'POST', '/scenario', { steps: [{ afterMs: 10, inject: { group: 346167134, from: 2440652742, text: 's1' } }, { afterMs: 10, inject: { group: 346167134, from: 2899268194, text: 's2' } }] });
    const texts: string[] = [];
    while (texts.length < 2) for (const e of (await poll(b, ch)).result ?? []) texts.push(e.value.content[1]);
    expect(texts).toEqual(['s1', 's2']);
  });
});
