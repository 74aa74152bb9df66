import type { TargetStats } from '../core/outbox.js';

export interface NetworkHealth {
  network: string;
  connected: boolean;
  /** QQ only: the WebQQ session state. */
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
}

/** Ready when every configured network is connected (QQ: logged in, session online). */
export function healthReport(networks: readonly NetworkHealth[] | undefined, stats: readonly TargetStats[]): HealthReport {
  if (!networks) return { status: 'starting', problems: ['the bridge is starting'], networks: {}, outbox: [] };
  const problems: string[] = [];
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
  };
}
