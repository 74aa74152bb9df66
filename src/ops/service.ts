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
import { BridgeMetrics } from './metrics.js';
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

/** The QQ account's state for /health, when the connector is the QQ adapter. */
function qqAccountHealth(c: unknown): { account?: NetworkHealth['account'] } {
  const acct = (c as { account?: QqAccount }).account;
  if (!acct) return {};
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

/** `qq.loginPrompt`: who reads captchas and scans QR codes (the CLI's terminal prompt). */
export async function startService(file: string, config: Config, log: Logger, extra: { qq?: { loginPrompt?: LoginPrompt } } = {}): Promise<Service> {
  const metrics = config.metrics.enabled ? new BridgeMetrics() : undefined;
  let bridge: RunningBridge | undefined;
  let notices: StatusNotices | undefined;
  let qqState = 'offline';

  const networks = (): NetworkHealth[] | undefined =>
    bridge?.relay.registered().map((c) => ({
      network: c.network,
      connected: c.isConnected(),
      ...(c.network === 'qq' ? { state: qqState, ...qqAccountHealth(c) } : {}),
    }));

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
    qq: {
      onState: (s) => {
        qqState = s;
        metrics?.setQqState(s);
        notices?.check();
      },
      ...(metrics ? { onCondition: (what: string) => metrics.qqCondition(what) } : {}),
      onAccountEvent: (e, text) => {
        metrics?.qqAccountEvent(e);
        notices?.qqAccount(e.type === 'episode' ? `episode:${e.status.state}` : `recovered:${e.from}`, text.notice);
        // The admins' alert: once per episode, in the log at error level (alert rooms: see docs/qq-account.md).
        if (text.alert) log.error({ alert: true }, text.alert);
        const alertRoom = (config.qq as { alert?: { network: string; room: string } }).alert;
        if (text.alert && alertRoom && e.type === 'episode') notices?.alert(alertRoom, e.status.state, text.alert);
      },
      ...(extra.qq?.loginPrompt ? { loginPrompt: extra.qq.loginPrompt } : {}),
    },
    ...(metrics ? { observer: metrics, telegram: { onRateLimited: () => metrics.telegramRateLimited.inc() } } : {}),
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
        if (up && wasConnected && c.network === 'irc') metrics?.ircReconnects.inc();
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
