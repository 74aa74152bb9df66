/**
 * The bridge's Prometheus metrics, on a registry of their own (nothing global, so two bridges in
 * one process, as in tests, never mix). Core code never sees prom-client: it is handed this
 * object as a RelayObserver, and connectors get plain callbacks that end up here.
 */
import type { AccountEvent } from '../connectors/qq/account/state.js';
import type { StoreStatus } from '../core/store-gate.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RelayObserver } from '../core/observer.js';
import type { TargetStats } from '../core/outbox.js';

/** The QQ session states (the WebQQ client's ClientState), one gauge series each. */
export const QQ_STATES = ['connecting', 'online', 'relinking', 'offline', 'auth-failed', 'kicked'] as const;

/** Messages the bridge itself posts (status notices) come from this network; they are not user traffic. */
export const BRIDGE_NETWORK = 'bridge';

export interface BridgeMetricsOptions {
  /** Node process metrics (CPU, memory, event loop, GC). Default true. */
  processMetrics?: boolean;
  /** Where outbox depth and age come from at scrape time. */
  stats?: () => Promise<TargetStats[]>;
}

export class BridgeMetrics implements RelayObserver {
  readonly registry = new Registry();
  private statsSource: (() => Promise<TargetStats[]>) | undefined;

  readonly relayed: Counter<'source' | 'target'>;
  readonly notices: Counter<'target'>;
  readonly latency: Histogram<'target'>;
  readonly retries: Counter<'target'>;
  readonly drops: Counter<'target'>;
  readonly outboxDepth: Gauge<'network' | 'room'>;
  readonly outboxOldest: Gauge<'network' | 'room'>;
  readonly qqState: Gauge<'state'>;
  readonly qqRelogins: Counter<'kind'>;
  readonly qqPollRetcodes: Counter<'retcode'>;
  readonly qqAccountEpisodes: Counter<'kind'>;
  readonly qqAccountState: Gauge<'state'>;
  readonly ircReconnects: Counter;
  readonly connected: Gauge<'network'>;
  readonly telegramRateLimited: Counter;
  readonly homeserverErrors: Counter<'errcode' | 'status'>;
  readonly storeAvailable: Gauge;
  readonly storeHeld: Gauge;
  readonly storeHeldDropped: Counter;

  constructor(opts: BridgeMetricsOptions = {}) {
    const registers = [this.registry];
    this.statsSource = opts.stats;
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'qqbridge_' });
    this.relayed = new Counter({ name: 'qqbridge_messages_relayed_total', help: 'Messages delivered, by source and target network', labelNames: ['source', 'target'], registers });
    this.notices = new Counter({ name: 'qqbridge_notices_delivered_total', help: 'Status notices the bridge posted, by target network', labelNames: ['target'], registers });
    this.latency = new Histogram({
      name: 'qqbridge_delivery_latency_seconds',
      help: 'Time from a message\'s arrival at the relay to its delivery, by target network',
      labelNames: ['target'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
      registers,
    });
    this.retries = new Counter({ name: 'qqbridge_delivery_retries_total', help: 'Failed delivery attempts that will be retried, by target network', labelNames: ['target'], registers });
    this.drops = new Counter({ name: 'qqbridge_delivery_dropped_total', help: 'Messages given up on for good (should stay 0), by target network', labelNames: ['target'], registers });
    const self = this;
    this.outboxDepth = new Gauge({
      name: 'qqbridge_outbox_depth',
      help: 'Messages waiting in the outbox, per target room',
      labelNames: ['network', 'room'],
      registers,
      async collect() {
        await self.collectOutbox(this, (s) => s.depth);
      },
    });
    // Each gauge reads the stats itself: the registry collects metrics concurrently.
    this.outboxOldest = new Gauge({
      name: 'qqbridge_outbox_oldest_age_seconds',
      help: 'Age of the oldest waiting message, per target room',
      labelNames: ['network', 'room'],
      registers,
      async collect() {
        await self.collectOutbox(this, (s) => s.oldestAgeMs / 1000);
      },
    });
    this.qqState = new Gauge({ name: 'qqbridge_qq_session_state', help: 'QQ session state (1 for the current state)', labelNames: ['state'], registers });
    for (const s of QQ_STATES) this.qqState.set({ state: s }, s === 'offline' ? 1 : 0);
    this.qqRelogins = new Counter({ name: 'qqbridge_qq_relogins_total', help: 'QQ session recoveries: relink (same session) or relogin (new login)', labelNames: ['kind'], registers });
    this.qqAccountEpisodes = new Counter({ name: 'qqbridge_qq_account_episodes_total', help: 'QQ account episodes: refused (risk control) or offline', labelNames: ['kind'], registers });
    this.qqAccountState = new Gauge({ name: 'qqbridge_qq_account_state', help: 'QQ account state (1 = current): online, offline, refused', labelNames: ['state'], registers });
    this.qqAccountState.set({ state: 'online' }, 1);
    this.qqPollRetcodes = new Counter({ name: 'qqbridge_qq_poll_retcodes_total', help: 'poll2 retcodes seen', labelNames: ['retcode'], registers });
    this.ircReconnects = new Counter({ name: 'qqbridge_irc_reconnects_total', help: 'IRC reconnections after a lost connection', registers });
    this.connected = new Gauge({ name: 'qqbridge_network_connected', help: '1 while a network can deliver', labelNames: ['network'], registers });
    this.telegramRateLimited = new Counter({ name: 'qqbridge_telegram_rate_limited_total', help: 'Telegram Bot API 429 answers', registers });
    this.homeserverErrors = new Counter({ name: 'qqbridge_matrix_homeserver_errors_total', help: 'Matrix homeserver error answers, by errcode and HTTP status (0: unreachable)', labelNames: ['errcode', 'status'], registers });
    this.storeAvailable = new Gauge({ name: 'qqbridge_store_available', help: '1 while the store answers; 0 while input is paused and held', registers });
    this.storeAvailable.set(1);
    this.storeHeld = new Gauge({ name: 'qqbridge_store_held_messages', help: 'Inbound messages held in memory while the store is unavailable', registers });
    this.storeHeldDropped = new Counter({ name: 'qqbridge_store_held_dropped_total', help: 'Held messages dropped because the hold buffer was full (each is reported in the rooms)', registers });
  }

  setStoreStatus(s: StoreStatus): void {
    this.storeAvailable.set(s.state === 'available' ? 1 : 0);
    this.storeHeld.set(s.held);
  }

  /** Where outbox stats come from (set once the relay exists). */
  setStatsSource(fn: () => Promise<TargetStats[]>): void {
    this.statsSource = fn;
  }

  private async collectOutbox(gauge: Gauge<'network' | 'room'>, pick: (s: TargetStats) => number): Promise<void> {
    gauge.reset();
    if (!this.statsSource) return;
    let stats: TargetStats[];
    try {
      stats = await this.statsSource();
    } catch {
      return; // a failing store shows as missing series, and in /health
    }
    for (const s of stats) gauge.set({ network: s.network, room: s.room }, pick(s));
  }

  // ---- RelayObserver ---------------------------------------------------------------------

  onDelivered(d: { target: { network: string }; originNetwork: string; latencyMs: number }): void {
    if (d.originNetwork === BRIDGE_NETWORK) {
      this.notices.inc({ target: d.target.network });
      return;
    }
    this.relayed.inc({ source: d.originNetwork, target: d.target.network });
    this.latency.observe({ target: d.target.network }, d.latencyMs / 1000);
  }

  onRetry(d: { target: { network: string }; error: unknown }): void {
    this.retries.inc({ target: d.target.network });
    this.countHomeserverError(d.error);
  }

  onDropped(d: { target: { network: string }; error?: unknown }): void {
    this.drops.inc({ target: d.target.network });
    this.countHomeserverError(d.error);
  }

  /** A Matrix error (or a DeliveryError caused by one) carries `errcode` and `status`. */
  private countHomeserverError(e: unknown): void {
    for (let cur: unknown = e, depth = 0; cur && typeof cur === 'object' && depth < 4; cur = (cur as { cause?: unknown }).cause, depth++) {
      const { errcode, status } = cur as { errcode?: unknown; status?: unknown };
      if (typeof errcode === 'string' && typeof status === 'number') {
        this.homeserverError(errcode, status);
        return;
      }
    }
  }

  // ---- connector hooks -------------------------------------------------------------------

  /** The QQ account's episodes (refused, offline) and its state now. */
  qqAccountEvent(e: AccountEvent): void {
    const state = e.type === 'episode' ? e.status.state : 'online';
    if (e.type === 'episode') this.qqAccountEpisodes.inc({ kind: e.status.state });
    for (const s of ['online', 'offline', 'refused']) this.qqAccountState.set({ state: s }, s === state ? 1 : 0);
  }

  setQqState(state: string): void {
    for (const s of QQ_STATES) this.qqState.set({ state: s }, s === state ? 1 : 0);
  }

  /** A poll-loop condition from the WebQQ poller (`retcode:103`, `timeout`, …), `relink`/`relogin`, or a OneBot socket `reconnect`. */
  qqCondition(what: string): void {
    const m = /^retcode:(-?\d+)$/.exec(what);
    if (m) this.qqPollRetcodes.inc({ retcode: m[1]! });
    else if (what === 'relink' || what === 'relogin' || what === 'reconnect') this.qqRelogins.inc({ kind: what });
  }

  setConnected(network: string, connected: boolean): void {
    this.connected.set({ network }, connected ? 1 : 0);
  }

  homeserverError(errcode: string, status: number): void {
    this.homeserverErrors.inc({ errcode, status: String(status) });
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }
}
