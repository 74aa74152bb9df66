/**
 * The bridge's Prometheus metrics, on a registry of their own (nothing global, so two bridges in
 * one process, as in tests, never mix). Core code never sees prom-client: it is handed this
 * object as a RelayObserver, and connectors get plain callbacks that end up here.
 */
import type { StoreStatus } from '../core/store-gate.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RelayObserver } from '../core/observer.js';
import type { TargetStats } from '../core/outbox.js';

import { BRIDGE_NETWORK } from './bridge-network.js';

export { BRIDGE_NETWORK };

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
  readonly networkState: Gauge<'network' | 'state'>;
  readonly conditions: Counter<'network' | 'condition'>;
  readonly accountEpisodes: Counter<'network' | 'kind'>;
  readonly accountState: Gauge<'network' | 'state'>;
  readonly connected: Gauge<'network'>;
  /** Every state each network has reported, so the previous one can be set back to 0. */
  private readonly statesSeen = new Map<string, Set<string>>();
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
    this.networkState = new Gauge({ name: 'qqbridge_network_state', help: "A network connection's own state as it reports it (1 for the current state; QQ: connecting, online, relinking, offline, kicked)", labelNames: ['network', 'state'], registers });
    this.conditions = new Counter({
      name: 'qqbridge_network_conditions_total',
      help: 'Conditions a network reported: QQ poll retcodes (retcode:103), relink/relogin, reconnect, rate_limited',
      labelNames: ['network', 'condition'],
      registers,
    });
    this.accountEpisodes = new Counter({ name: 'qqbridge_account_episodes_total', help: "Episodes of a network's account: refused (risk control) or offline", labelNames: ['network', 'kind'], registers });
    this.accountState = new Gauge({ name: 'qqbridge_account_state', help: "A network's account state (1 = current): online, offline, refused", labelNames: ['network', 'state'], registers });
    this.connected = new Gauge({ name: 'qqbridge_network_connected', help: '1 while a network can deliver', labelNames: ['network'], registers });
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

  /** An account episode (refused, offline) or its end (`online`): the state now, episodes counted. */
  accountEvent(network: string, state: string, episode: boolean): void {
    if (episode) this.accountEpisodes.inc({ network, kind: state });
    for (const s of ['online', 'offline', 'refused']) this.accountState.set({ network, state: s }, s === state ? 1 : 0);
  }

  setNetworkState(network: string, state: string): void {
    const seen = this.statesSeen.get(network) ?? new Set<string>();
    seen.add(state);
    this.statesSeen.set(network, seen);
    for (const s of seen) this.networkState.set({ network, state: s }, s === state ? 1 : 0);
  }

  /** A condition a connector reported (`retcode:103`, `relink`, `reconnect`, `rate_limited`…). */
  networkCondition(network: string, what: string): void {
    // Label values come from a connector's fixed vocabulary; anything else is folded so a bad
    // string cannot create unbounded series.
    const condition = /^[a-z_]{1,32}(:-?\d{1,6})?$/.test(what) ? what : 'other';
    this.conditions.inc({ network, condition });
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
