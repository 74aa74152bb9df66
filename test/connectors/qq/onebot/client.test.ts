/** The OneBot client library against the simulator over a real WebSocket. */
import { afterEach, describe, expect, it } from 'vitest';
import { OneBotClient } from '../../../../src/connectors/qq/onebot/client.js';
import { OneBotActionError, OneBotTimeoutError } from '../../../../src/connectors/qq/onebot/errors.js';
import { OneBotSimulator } from '../../../../src/connectors/qq/onebot/simulator/simulator.js';
import { silentLogger } from '../../../../src/log.js';
import { waitFor } from '../../../support/wait.js';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

async function setup(simOpts: ConstructorParameters<typeof OneBotSimulator>[0] = {}, clientOpts: Partial<ConstructorParameters<typeof OneBotClient>[0]> = {}) {
  const sim = new OneBotSimulator({ heartbeatIntervalMs: 60_000, ...simOpts });
  const url = await sim.listen(0);
  const client = new OneBotClient({ mode: 'forward', url, log: silentLogger, onEvent: () => undefined, backoffMinMs: 20, backoffMaxMs: 100, ...clientOpts });
  stops.push(async () => {
    await client.stop();
    await sim.close();
  });
  await client.start();
  await waitFor(() => client.state === 'open', 'open');
  return { sim, client };
}

describe('OneBot client', () => {
  it('keeps at most 8 actions in flight however many are called at once, and matches every answer', async () => {
    const { sim, client } = await setup({ answerDelayMs: 30 });
    const results = await Promise.all(Array.from({ length: 40 }, () => client.call<{ user_id: number }>('get_login_info')));
    expect(results.every((r) => r.user_id === sim.self.qq)).toBe(true);
    expect(sim.violations()).toEqual([]);
    expect(sim.calls.filter((c) => c === 'get_login_info')).toHaveLength(40);
  });

  it('a failed action is a typed error: bad requests not retryable, others retryable; a timeout is its own error', async () => {
    const { sim, client } = await setup({}, { actionTimeoutMs: 200 });
    sim.failNext(1400);
    await expect(client.call('get_status')).rejects.toMatchObject({ name: 'OneBotActionError', retcode: 1400, retryable: false });
    sim.failNext(1200);
    const e = await client.call('get_status').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OneBotActionError);
    expect((e as OneBotActionError).retryable).toBe(true);
    sim.stall();
    await expect(client.call('get_status')).rejects.toBeInstanceOf(OneBotTimeoutError);
  });

  it('the announced heartbeat interval sets the silence bound (2.5 x) when none is configured', async () => {
    const { sim, client } = await setup({ heartbeatIntervalMs: 100 });
    await new Promise((r) => setTimeout(r, 150)); // one heartbeat announces 100 ms
    const conns = sim.connections;
    sim.stall();
    const t0 = Date.now();
    await waitFor(() => sim.connections > conns, 'reconnected after silence', 3000);
    expect(Date.now() - t0).toBeLessThan(250 + 400);
    await waitFor(() => client.state === 'open', 'open again');
  });
});

describe('OneBot client, reverse mode', () => {
  it('reads X-Self-ID; a second connection of the same account replaces the first cleanly', async () => {
    const { freePort } = await import('../../../support/ngircd.js');
    const { WebSocket } = await import('ws');
    const port = await freePort();
    const opened: Array<number | undefined> = [];
    const client = new OneBotClient({
      mode: 'reverse', reverse: { bindAddress: '127.0.0.1', port, path: '/onebot/v11/ws' }, accessToken: 'rt',
      log: silentLogger, onEvent: () => undefined, onOpen: (i) => opened.push(i.selfId),
    });
    stops.push(() => client.stop());
    await client.start();
    const url = `ws://127.0.0.1:${port}/onebot/v11/ws`;
    const headers = { Authorization: 'Bearer rt', 'X-Self-ID': '10001', 'X-Client-Role': 'Universal' };
    const answerer = (ws: InstanceType<typeof WebSocket>, name: string) => ws.on('message', (d) => {
      const f = JSON.parse(d.toString()) as { echo: string };
      ws.send(JSON.stringify({ status: 'ok', retcode: 0, data: { from: name }, echo: f.echo }));
    });
    const first = new WebSocket(url, { headers });
    answerer(first, 'first');
    await waitFor(() => client.state === 'open', 'first connection');
    const firstClosed = new Promise<number>((r) => first.on('close', (code) => r(code)));
    const second = new WebSocket(url, { headers });
    answerer(second, 'second');
    expect(await firstClosed).toBe(1000);
    expect(await client.call('get_status')).toEqual({ from: 'second' });
    expect(opened).toEqual([10001, 10001]);
    second.close();
  });
});
