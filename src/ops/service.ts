/**
 * `qqbridge run` as a service: the bridge plus its operations layer — metrics and /health,
 * status notices, graceful shutdown on SIGINT/SIGTERM (drain within shutdownTimeoutMs; the rest
 * stays queued in the store) and mapping reload on SIGHUP.
 */
import type { QqAccount } from '../connectors/qq/account/account.js';
import { startBridge, type BridgeHooks, type RunningBridge } from '../bridge.js';
import { loadConfig, type Config } from '../config.js';
import type { LoginPrompt } from '../connectors/qq/webqq/login-prompt.js';
import type { Logger } from '../log.js';
import type { NetworkHealth } from './health.js';
import type { BridgeMetrics } from './metrics.js';
import { StatusNotices } from './notices.js';
import { startOpsServer, type OpsServer } from './server.js';

export interface Service {
  bridge: RunningBridge;
  metrics: BridgeMetrics | undefined;
  server: OpsServer | undefined;
  /** Re-reads `mappings:` from the config file; on error keeps the old table. True when applied. */
  reload(): boolean;
  /** Drains (bounded by shutdownTimeoutMs), then stops everything. Resolves with the items left queued. */
  shutdown(): Promise<number>;
}

/** The account's state for /health, when a connector keeps one (the QQ adapter's pacing and risk control). */
function accountHealth(c: unknown): { account?: NetworkHealth['account'] } {
  const acct = (c as { account?: QqAccount }).account;
  if (!acct || typeof acct.snapshot !== 'function') return {};
  const s = acct.snapshot();
  const iso = (t: number | undefined) => (t !== undefined ? new Date(t).toISOString() : undefined);
  return {
    account: {
      state: s.state,
      waiting: s.waiting,
      ...(s.reason !== undefined ? { reason: s.reason } : {}),
      ...(s.since !== undefined ? { since: iso(s.since)! } : {}),
      ...(s.nextProbeAt !== undefined ? { nextTry: iso(s.nextProbeAt)! } : {}),
    },
  };
}

/** `loginPrompt`: who reads captchas and scans QR codes (the CLI's terminal prompt). */
export async function startService(file: string, config: Config, log: Logger, extra: { loginPrompt?: LoginPrompt } = {}): Promise<Service> {
  // prom-client (~12 MB) is loaded only when metrics are on.
  const metrics = config.metrics.enabled ? new (await import('./metrics.js')).BridgeMetrics() : undefined;
  let bridge: RunningBridge | undefined;
  let notices: StatusNotices | undefined;
  // The last state each network reported of itself (a QQ session's `online`/`kicked`…), for /health.
  const states = new Map<string, string>();

  const networks = (): NetworkHealth[] | undefined =>
    bridge?.relay.registered().map((c) => {
      const state = states.get(c.network);
      return { network: c.network, connected: c.isConnected(), ...(state !== undefined ? { state } : {}), ...accountHealth(c) };
    });

  // Up before the bridge: a QQ login can take minutes (captcha, QR), and /health should say so.
  let server: OpsServer | undefined;
  if (metrics) {
    server = await startOpsServer({
      metrics,
      bindAddress: config.metrics.bindAddress,
      port: config.metrics.port,
      networks,
      stats: async () => (bridge ? bridge.relay.stats() : []),
      store: () => bridge?.relay.storeStatus(),
      log,
    });
    log.info({ url: server.url }, 'metrics and health endpoint listening (/metrics, /health)');
  }

  const hooks: BridgeHooks = {
    onFailure: (f) => notices?.onFailure(f),
    onStoreState: (s) => {
      metrics?.setStoreStatus(s);
      notices?.storeChanged(s);
    },
    onHeldDropped: (count, _total, rooms) => {
      metrics?.storeHeldDropped.inc(count);
      notices?.heldDropped(count, rooms);
    },
    onNetworkEvent: (network, event) => {
      if (event.type === 'state') {
        states.set(network, event.state);
        metrics?.setNetworkState(network, event.state);
        notices?.check();
      } else if (event.type === 'condition') {
        metrics?.networkCondition(network, event.what);
      } else {
        const episode = event.from === undefined;
        metrics?.accountEvent(network, event.state, episode);
        notices?.accountEvent(network, episode ? `episode:${event.state}` : `recovered:${event.from}`, event.notice);
        // The admins' alert: once per episode, in the log at error level, and in the alert room when one is set.
        if (event.alert) log.error({ alert: true, net: network }, event.alert);
        if (event.alert && event.alertRoom && episode) notices?.alert(event.alertRoom, event.state, event.alert);
      }
    },
    ...(metrics ? { observer: metrics } : {}),
    ...(extra.loginPrompt ? { loginPrompt: extra.loginPrompt } : {}),
  };
  try {
    bridge = await startBridge(config, log, hooks);
  } catch (e) {
    await server?.close();
    throw e;
  }
  const running = bridge;
  metrics?.setStatsSource(() => running.relay.stats());

  // Connectors that report connectivity changes are heard at once; the others are polled.
  const unsubscribe: Array<() => void> = [];
  for (const c of running.connectors) {
    if (!c.onStateChange) continue;
    let wasConnected = c.isConnected();
    unsubscribe.push(
      c.onStateChange((up) => {
        // Coming back after having been connected is a reconnection (the first connect is not).
        if (up && wasConnected) metrics?.networkCondition(c.network, 'reconnect');
        if (up) wasConnected = true;
        metrics?.setConnected(c.network, up);
        notices?.check();
      }),
    );
  }
  const tick = () => {
    for (const c of running.connectors) metrics?.setConnected(c.network, c.isConnected());
    metrics?.setStoreStatus(running.relay.storeStatus());
  };
  tick();
  const ticker = setInterval(tick, 1000);
  ticker.unref();

  if (config.notices.enabled) {
    notices = new StatusNotices({
      relay: running.relay,
      links: () => running.routes.links(),
      intervalMs: config.notices.intervalMinutes * 60_000,
      graceMs: config.notices.graceSeconds * 1000,
      log: log.child({ part: 'notices' }),
    });
    notices.start();
  }

  let stopping: Promise<number> | undefined;
  return {
    bridge: running,
    metrics,
    server,
    reload() {
      let next: Config;
      try {
        next = loadConfig(file);
      } catch (e) {
        log.error({ err: (e as Error).message }, 'config reload failed; keeping the previous mappings');
        return false;
      }
      try {
        running.reloadMappings(next.mappings);
      } catch (e) {
        log.error({ err: (e as Error).message }, 'applying the reloaded mappings failed');
        return false;
      }
      log.info({ links: next.mappings.length }, 'mappings reloaded');
      return true;
    },
    shutdown() {
      stopping ??= (async () => {
        clearInterval(ticker);
        for (const u of unsubscribe) u();
        await notices?.stop();
        await running.relay.stopInput();
        const left = await running.relay.drain(config.shutdownTimeoutMs);
        log.info({ left }, left > 0 ? 'stopping; undelivered messages stay queued for the next start' : 'stopping; everything was delivered');
        await running.stop();
        await server?.close();
        return left;
      })();
      return stopping;
    },
  };
}
