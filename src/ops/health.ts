import type { TargetStats } from '../core/outbox.js';

export interface NetworkHealth {
  network: string;
  connected: boolean;
  /** The connection's own state as the network last reported it (QQ: its session state), if it reports one. */
  state?: string;
}

export interface HealthReport {
  status: 'ready' | 'not ready' | 'starting';
  /** Why not ready, one line per problem. */
  problems: string[];
  networks: Record<string, { connected: boolean; state?: string }>;
  outbox: Array<{ network: string; room: string; depth: number; oldestAgeSeconds: number; paused?: string }>;
}

/** Ready when every configured network is connected (QQ: logged in, session online). */
export function healthReport(networks: readonly NetworkHealth[] | undefined, stats: readonly TargetStats[]): HealthReport {
  if (!networks) return { status: 'starting', problems: ['the bridge is starting'], networks: {}, outbox: [] };
  const problems: string[] = [];
  const out: HealthReport['networks'] = {};
  for (const n of networks) {
    out[n.network] = { connected: n.connected, ...(n.state !== undefined ? { state: n.state } : {}) };
    if (!n.connected) problems.push(`${n.network} is not connected${n.state !== undefined ? ` (state: ${n.state})` : ''}`);
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
