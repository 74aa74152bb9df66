/**
 * The metrics and health endpoint over real HTTP, with real traffic through a Relay on real
 * SQLite and loopback networks.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Relay } from '../../src/core/relay.js';
import { StaticRoutes } from '../../src/core/routes.js';
import { silentLogger } from '../../src/log.js';
import { BridgeMetrics } from '../../src/ops/metrics.js';
import { startOpsServer, type OpsServer } from '../../src/ops/server.js';
import { openStore, type Store } from '../../src/store/store.js';
import { LoopbackConnector } from '../support/loopback.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-ops-metrics-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const QQ = { network: 'qq', room: 'group:1' };
const IRC = { network: 'irc', room: '#a' };

interface Setup {
  store: Store;
  relay: Relay;
  qq: LoopbackConnector;
  irc: LoopbackConnector;
  metrics: BridgeMetrics;
  server: OpsServer;
  qqState: { value: string };
  started: { value: boolean };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let n = 0;
async function setup(opts: { startRelay?: boolean } = {}): Promise<Setup> {
  const store = await openStore({ stateDir: path.join(root, `s${++n}`) }, silentLogger);
  const metrics = new BridgeMetrics({ processMetrics: true });
  const qq = new LoopbackConnector('qq');
  const irc = new LoopbackConnector('irc');
  const relay = new Relay({ store, routes: new StaticRoutes([[QQ, IRC]]), log: silentLogger, observer: metrics, outbox: { baseBackoffMs: 5, maxBackoffMs: 20, connectPollMs: 10 } });
  relay.register(qq);
  relay.register(irc);
  metrics.setStatsSource(() => relay.stats());
  const qqState = { value: 'connecting' };
  const started = { value: false };
  const server = await startOpsServer({
    metrics,
    bindAddress: '127.0.0.1',
    port: 0,
    log: silentLogger,
    stats: () => relay.stats(),
    networks: () => (started.value ? relay.registered().map((c) => ({ network: c.network, connected: c.isConnected(), ...(c.network === 'qq' ? { state: qqState.value } : {}) })) : undefined),
  });
  if (opts.startRelay ?? true) {
    await relay.start();
    started.value = true;
  }
  cleanups.push(async () => {
    await server.close();
    await relay.stop();
    await store.close();
  });
  return { store, relay, qq, irc, metrics, server, qqState, started };
}

async function scrape(s: Setup): Promise<string> {
  const res = await fetch(`${s.server.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return res.text();
}

/** The value of one series, e.g. value(text, 'qqbridge_messages_relayed_total{source="qq",target="irc"}'). */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('GET /metrics', () => {
  it('counts relayed messages per direction and observes their delivery latency', async () => {
    const s = await setup();
    const before = await scrape(s);
    expect(value(before, 'qqbridge_messages_relayed_total{source="qq",target="irc"}')).toBeUndefined();
    await s.qq.inject(QQ.room, { text: 'one' });
    await s.qq.inject(QQ.room, { text: 'two' });
    await s.irc.inject(IRC.room, { text: 'back' });
    await until(() => s.irc.remote.sent(IRC.room).length === 2 && s.qq.remote.sent(QQ.room).length === 1);
    // Counted once the delivery is recorded, just after the remote side got it.
    await until(async () => value(await scrape(s), 'qqbridge_messages_relayed_total{source="irc",target="qq"}') === 1);
    const text = await scrape(s);
    expect(value(text, 'qqbridge_messages_relayed_total{source="qq",target="irc"}')).toBe(2);
    expect(value(text, 'qqbridge_messages_relayed_total{source="irc",target="qq"}')).toBe(1);
    expect(value(text, 'qqbridge_delivery_latency_seconds_count{target="irc"}')).toBe(2);
    expect(value(text, 'qqbridge_delivery_latency_seconds_bucket{le="+Inf",target="irc"}')).toBe(2);
    expect(value(text, 'qqbridge_delivery_dropped_total{target="irc"}')).toBeUndefined();
    // Node process metrics come along.
    expect(text).toMatch(/^qqbridge_process_resident_memory_bytes \d+/m);
  });

  it('shows retries, drops, and the outbox depth and age of an offline target', async () => {
    const s = await setup();
    s.irc.failNext('retryable', { count: 2 });
    await s.qq.inject(QQ.room, { text: 'retried' });
    await until(() => s.irc.remote.sent(IRC.room).length === 1);
    s.irc.rejectWhen((d) => (JSON.stringify(d.message.parts).includes('bad') ? 'message too long for the channel' : undefined));
    await s.qq.inject(QQ.room, { text: 'bad one' });
    await until(async () => value(await scrape(s), 'qqbridge_delivery_dropped_total{target="irc"}') === 1);

    s.irc.online = false;
    await s.qq.inject(QQ.room, { text: 'queued 1' });
    await s.qq.inject(QQ.room, { text: 'queued 2' });
    await new Promise((r) => setTimeout(r, 60));
    const text = await scrape(s);
    expect(value(text, 'qqbridge_delivery_retries_total{target="irc"}')).toBe(2);
    expect(value(text, 'qqbridge_delivery_dropped_total{target="irc"}')).toBe(1);
    expect(value(text, 'qqbridge_outbox_depth{network="irc",room="#a"}')).toBe(2);
    expect(value(text, 'qqbridge_outbox_oldest_age_seconds{network="irc",room="#a"}')).toBeGreaterThan(0.04);

    s.irc.online = true;
    await until(() => s.irc.remote.sent(IRC.room).length === 3);
    await until(async () => value(await scrape(s), 'qqbridge_outbox_depth{network="irc",room="#a"}') === undefined);
    expect(value(await scrape(s), 'qqbridge_messages_relayed_total{source="qq",target="irc"}')).toBe(3);
  });

  it('tracks QQ session state, relogins, poll retcodes and homeserver errors from their hooks', async () => {
    const s = await setup();
    s.metrics.setNetworkState('qq', 'online');
    s.metrics.networkCondition('qq', 'retcode:103');
    s.metrics.networkCondition('qq', 'retcode:103');
    s.metrics.networkCondition('qq', 'relink');
    s.metrics.networkCondition('qq', 'timeout');
    s.metrics.setNetworkState('qq', 'relinking');
    // A Matrix delivery failure carries the homeserver's answer as its cause.
    const cause = Object.assign(new Error('M_LIMIT_EXCEEDED'), { status: 429, errcode: 'M_LIMIT_EXCEEDED' });
    s.metrics.onRetry({ target: { network: 'matrix' }, error: Object.assign(new Error('send failed'), { cause }) });
    const text = await scrape(s);
    expect(value(text, 'qqbridge_network_state{network="qq",state="relinking"}')).toBe(1);
    expect(value(text, 'qqbridge_network_state{network="qq",state="online"}')).toBe(0);
    expect(value(text, 'qqbridge_network_conditions_total{network="qq",condition="retcode:103"}')).toBe(2);
    expect(value(text, 'qqbridge_network_conditions_total{network="qq",condition="relink"}')).toBe(1);
    expect(value(text, 'qqbridge_network_conditions_total{network="qq",condition="timeout"}')).toBe(1);
    expect(value(text, 'qqbridge_matrix_homeserver_errors_total{errcode="M_LIMIT_EXCEEDED",status="429"}')).toBe(1);
  });
});

describe('GET /health', () => {
  it('is 503 naming what is down, and 200 once every network is connected', async () => {
    const s = await setup({ startRelay: false });
    let res = await fetch(`${s.server.url}/health`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { status: string }).status).toBe('starting');

    await s.relay.start();
    s.started.value = true;
    // The relay is now up, but the test flipped the networks: QQ not logged in, IRC down.
    s.irc.online = false;
    s.qq.online = false;
    await s.irc.inject(IRC.room, { text: 'waits for QQ' });
    res = await fetch(`${s.server.url}/health`);
    expect(res.status).toBe(503);
    let body = (await res.json()) as { status: string; problems: string[]; networks: Record<string, { connected: boolean; state?: string }>; outbox: Array<{ network: string; depth: number }> };
    expect(body.status).toBe('not ready');
    expect(body.networks.qq).toEqual({ connected: false, state: 'connecting' });
    expect(body.networks.irc).toEqual({ connected: false });
    expect(body.problems).toContain('qq is not connected (state: connecting)');
    expect(body.outbox).toEqual([expect.objectContaining({ network: 'qq', room: QQ.room, depth: 1 })]);

    s.qq.online = true;
    s.qqState.value = 'online';
    res = await fetch(`${s.server.url}/health`);
    expect(res.status).toBe(503);
    body = (await res.json()) as typeof body;
    expect(body.problems).toEqual(['irc is not connected']);

    s.irc.online = true;
    await until(() => s.qq.remote.sent(QQ.room).length === 1);
    await until(async () => (await s.relay.stats()).length === 0);
    res = await fetch(`${s.server.url}/health`);
    expect(res.status).toBe(200);
    body = (await res.json()) as typeof body;
    expect(body).toMatchObject({ status: 'ready', problems: [], networks: { qq: { connected: true, state: 'online' }, irc: { connected: true } } });
  });

  it('answers 404 for other paths', async () => {
    const s = await setup();
    expect((await fetch(`${s.server.url}/nope`)).status).toBe(404);
  });
});
