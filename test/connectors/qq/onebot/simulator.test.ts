/** The OneBot simulator is as strict as the specification: what a careless client does is listed as a violation. */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { OneBotSimulator } from '../../../../src/connectors/qq/onebot/simulator/simulator.js';

const sims: OneBotSimulator[] = [];
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  for (const s of sims.splice(0)) await s.close();
});

async function connect(o: ConstructorParameters<typeof OneBotSimulator>[0] = {}, headers: Record<string, string> = {}) {
  const sim = new OneBotSimulator({ heartbeatIntervalMs: 60_000, ...o });
  sims.push(sim);
  const url = await sim.listen(0);
  const ws = new WebSocket(url, { headers });
  sockets.push(ws);
  const frames: Array<Record<string, unknown>> = [];
  ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as Record<string, unknown>));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const answer = async (echo: string) => {
    for (let i = 0; i < 200; i++) {
      const f = frames.find((x) => x.echo === echo);
      if (f) return f;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no answer for ${echo}`);
  };
  return { sim, ws, frames, answer };
}

describe('OneBot simulator strictness', () => {
  it('refuses a missing token with 401 and a wrong one with 403 at the upgrade', async () => {
    const sim = new OneBotSimulator({ accessToken: 'tok' });
    sims.push(sim);
    const url = await sim.listen(0);
    const status = (headers: Record<string, string>) => new Promise<number>((resolve) => {
      const ws = new WebSocket(url, { headers });
      ws.on('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => undefined);
    });
    expect(await status({})).toBe(401);
    expect(await status({ Authorization: 'Bearer nope' })).toBe(403);
    expect(await status({ Authorization: 'Bearer tok' })).toBe(101);
  });

  it('file:// pictures, string group ids, malformed segments and a missing echo are violations answered 1400', async () => {
    const { sim, ws, answer } = await connect();
    ws.send(JSON.stringify({ action: 'send_group_msg', params: { group_id: 346167134, message: [{ type: 'image', data: { file: 'file:///etc/passwd' } }] }, echo: 'a' }));
    expect(await answer('a')).toMatchObject({ status: 'failed', retcode: 1400 });
    ws.send(JSON.stringify({ action: 'send_group_msg', params: { group_id: '346167134', message: [{ type: 'text', data: { text: 'x' } }] }, echo: 'b' }));
    expect(await answer('b')).toMatchObject({ status: 'failed', retcode: 1400 });
    ws.send(JSON.stringify({ action: 'send_group_msg', params: { group_id: 346167134, message: [{ type: 'text' }, { type: 'at', data: { qq: 'everyone' } }] }, echo: 'c' }));
    expect(await answer('c')).toMatchObject({ retcode: 1400 });
    ws.send(JSON.stringify({ action: 'get_status', params: {} }));
    await new Promise((r) => setTimeout(r, 100));
    const problems = sim.violations().map((v) => v.problem).join('\n');
    expect(problems).toMatch(/file:\/\/ path/);
    expect(problems).toMatch(/group_id must be an integer number, got the string/);
    expect(problems).toMatch(/text segment: data must be an object/);
    expect(problems).toMatch(/at\.qq must be a QQ number or "all"/);
    expect(problems).toMatch(/action without an echo/);
    expect(sim.sends()).toEqual([]);
  });

  it('counts actions in flight and duplicate echoes', async () => {
    const { sim, ws } = await connect({ answerDelayMs: 200 });
    for (let i = 0; i < 10; i++) ws.send(JSON.stringify({ action: 'get_status', params: {}, echo: i === 9 ? 'e0' : `e${i}` }));
    await new Promise((r) => setTimeout(r, 400));
    const problems = sim.violations().map((v) => v.problem);
    expect(problems.some((p) => /actions in flight \(more than 8\)/.test(p))).toBe(true);
    expect(problems.some((p) => /duplicate echo "e0"/.test(p))).toBe(true);
  });

  it('answers unknown actions 1404; ids are int32; sends are echoed as message_sent and kept in history', async () => {
    const { sim, ws, answer, frames } = await connect();
    ws.send(JSON.stringify({ action: 'no_such_thing', params: {}, echo: 'u' }));
    expect(await answer('u')).toMatchObject({ status: 'failed', retcode: 1404 });
    ws.send(JSON.stringify({ action: 'send_group_msg', params: { group_id: 346167134, message: [{ type: 'text', data: { text: 'hi' } }] }, echo: 's' }));
    const a = await answer('s');
    const id = (a.data as { message_id: number }).message_id;
    expect(Number.isInteger(id) && id >= -(2 ** 31) && id < 2 ** 31).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(frames.some((f) => f.post_type === 'message_sent' && f.message_id === id)).toBe(true);
    ws.send(JSON.stringify({ action: 'get_group_msg_history', params: { group_id: 346167134, count: 5 }, echo: 'h' }));
    const h = await answer('h');
    expect((h.data as { messages: Array<{ message_id: number }> }).messages.map((m) => m.message_id)).toEqual([id]);
    expect(sim.violations()).toEqual([]);
  });

  it('delete_msg follows QQ: the account\'s own message within two minutes, a member\'s only as an admin, never twice; a string id is a violation', async () => {
    const { sim, ws, frames, answer } = await connect();
    const G = 346167134;
    // The default world makes the account the group's owner; a plain member here.
    sim.world.groups.find((g) => g.number === G)!.owner = 2041084648;
    const call = async (echo: string, params: Record<string, unknown>) => {
      ws.send(JSON.stringify({ action: 'delete_msg', params, echo }));
      return answer(echo);
    };
    ws.send(JSON.stringify({ action: 'send_group_msg', params: { group_id: G, message: [{ type: 'text', data: { text: 'mine' } }] }, echo: 's1' }));
    const own = ((await answer('s1')).data as { message_id: number }).message_id;
    ws.send(JSON.stringify({ action: 'send_group_msg', params: { group_id: G, message: [{ type: 'text', data: { text: 'old' } }] }, echo: 's2' }));
    const old = ((await answer('s2')).data as { message_id: number }).message_id;
    sim.backdate(old, 121);
    const theirs = sim.inject(G, 2440652742, 'a member says').message_id;

    expect(await call('d1', { message_id: own })).toMatchObject({ status: 'ok', retcode: 0 });
    await new Promise((r) => setTimeout(r, 50));
    expect(frames.find((f) => f.notice_type === 'group_recall')).toMatchObject({ group_id: G, message_id: own, operator_id: sim.self.qq, user_id: sim.self.qq });
    expect(await call('d2', { message_id: own })).toMatchObject({ status: 'failed', retcode: 1200, message: 'message not found' });
    expect(await call('d3', { message_id: old })).toMatchObject({ status: 'failed', retcode: 1200, message: expect.stringContaining('too old to recall') });
    expect(await call('d4', { message_id: theirs })).toMatchObject({ status: 'failed', retcode: 1200, message: expect.stringContaining('no permission') });
    expect(await call('d5', { message_id: String(theirs) })).toMatchObject({ status: 'failed', retcode: 1400 });
    expect(sim.violations().map((v) => v.action)).toEqual(['delete_msg']);
    sim.setAdmin(G, sim.self.qq);
    expect(await call('d6', { message_id: old })).toMatchObject({ status: 'ok' });
    expect(await call('d7', { message_id: theirs })).toMatchObject({ status: 'ok' });
    expect(sim.recalls.map((r) => r.message_id)).toEqual([own, old, theirs]);
  });
});
