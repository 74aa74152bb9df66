import type { TargetStats } from '../core/outbox.js';
import type { StoreStatus } from '../core/store-gate.js';

export interface NetworkHealth {
  network: string;
  connected: boolean;
  /** The connection's own state as the network last reported it (QQ: its session state), if it reports one. */
  state?: string;
  /** QQ only: the account (online / offline: reason / refused since T), as the room notices say it. */
  account?: { state: string; reason?: string; since?: string; nextTry?: string; waiting: number };
}

export interface HealthReport {
  status: 'ready' | 'not ready' | 'starting';
  /** Why not ready, one line per problem. */
  problems: string[];
  networks: Record<string, { connected: boolean; state?: string; account?: NetworkHealth['account'] }>;
  outbox: Array<{ network: string; room: string; depth: number; oldestAgeSeconds: number; paused?: string }>;
  store?: { state: StoreStatus['state']; since?: string; held: number; dropped: number; error?: string };
}

/** The store's line in /health: what is wrong, since when, and what is held. */
export function storeProblem(s: StoreStatus): string | undefined {
  if (s.state === 'available') return undefined;
  const since = s.since !== undefined ? ` since ${new Date(s.since).toISOString()}` : '';
  return `store: unavailable${since}, ${s.held} message${s.held === 1 ? '' : 's'} held${s.error ? ` (${s.error})` : ''}`;
}

/** Ready when every configured network is connected (QQ: logged in, session online). */
export function healthReport(networks: readonly NetworkHealth[] | undefined, stats: readonly TargetStats[], store?: StoreStatus): HealthReport {
  if (!networks) return { status: 'starting', problems: ['the bridge is starting'], networks: {}, outbox: [] };
  const problems: string[] = [];
  // First: with the store away every network is paused, whatever its own state says.
  const sp = store && storeProblem(store);
  if (sp) problems.push(sp);
  const out: HealthReport['networks'] = {};
  for (const n of networks) {
    out[n.network] = { connected: n.connected, ...(n.state !== undefined ? { state: n.state } : {}), ...(n.account ? { account: n.account } : {}) };
    if (!n.connected) problems.push(`${n.network} is not connected${n.state !== undefined ? ` (state: ${n.state})` : ''}`);
    if (n.account?.state === 'refused') problems.push(`QQ is refusing this account's messages since ${n.account.since} (${n.account.reason}); ${n.account.waiting} waiting; next try ${n.account.nextTry}`);
    if (n.account?.state === 'offline') problems.push(`QQ account offline: ${n.account.reason} (since ${n.account.since})`);
  }
  return {
    status: problems.length === 0 ? 'ready' : 'not ready',
    problems,
    networks: out,
    outbox: stats.map((s) => ({
      network: s.network,
      room: s.room,
      depth: s.depth,
      oldestAgeSeconds: Math.round(s.oldestAgeMs / 100) / 10,
      ...(s.pausedReason ? { paused: s.pausedReason } : {}),
    })),
    ...(store
      ? {
          store: {
            state: store.state,
            ...(store.since !== undefined ? { since: new Date(store.since).toISOString() } : {}),
            held: store.held,
            dropped: store.dropped,
            ...(store.error ? { error: store.error } : {}),
          },
        }
      : {}),
  };
}
