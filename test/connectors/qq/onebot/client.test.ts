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
    expect(client.state).toBe('open');
  });
});
