import { backoffDelay } from '../../core/backoff.js';
import type { Logger } from '../../log.js';
import { describeLink, type MappingLink } from '../../mappings/config.js';
import { parseQqRoom, qqRoomId, type QqRoom } from './rooms.js';

/** The QQ side of a link (every config link has one; a runtime link may not). */
function qqSideOf(link: MappingLink): QqRoom | undefined {
  const r = link.rooms.find((x) => x.network === 'qq');
  return r ? parseQqRoom(r.room) : undefined;
}

/** The QQ contacts of one login session, as the QQ client reports them. */
export interface QqContacts {
  /** `gid` is the session's id for the group; `number` its stable number once looked up. */
  groups: ReadonlyArray<{ gid: string | number; number?: number | undefined; name: string }>;
  discussions: ReadonlyArray<{ did: string | number; name: string }>;
}

export interface BoundLink {
  link: MappingLink;
  /** The stable room name, `group:<number>` / `discussion:<name>`. */
  room: string;
  /** This session's gid / did for it. */
  sessionId: string;
}

export interface UnboundLink {
  link: MappingLink;
  room: string;
  /** A sentence for the log naming the group number or discussion name and the config line. */
  reason: string;
}

export interface BindingReport {
  bound: BoundLink[];
  unbound: UnboundLink[];
  /** Stable room name → session id, for sending. */
  sessionIds: Map<string, string>;
  /** Session id (`group:<gid>` / `discussion:<did>` keyed, since gids and dids may collide) → stable room name, for receiving. */
  roomsBySession: Map<string, string>;
}

/** The key `roomsBySession` uses for a session id. */
export function sessionKey(kind: 'group' | 'discussion', id: string | number): string {
  return `${kind}:${String(id)}`;
}

/**
 * Re-binds every link's QQ side to this session's ids. WebQQ hands out new gids/dids at every
 * login, so links name groups by number and discussions by name, and this runs after each login.
 * Links whose QQ side is not found are reported, not dropped: the caller retries them later
 * (see retryUnbound), since a group number lookup may simply not have finished.
 */
export function bindLinks(links: readonly MappingLink[], contacts: QqContacts): BindingReport {
  const report: BindingReport = { bound: [], unbound: [], sessionIds: new Map(), roomsBySession: new Map() };
  const byNumber = new Map<number, string>();
  let groupsWithoutNumber = 0;
  for (const g of contacts.groups) {
    if (g.number === undefined) groupsWithoutNumber++;
    else byNumber.set(g.number, String(g.gid));
  }
  const byName = new Map<string, string[]>();
  for (const d of contacts.discussions) {
    const list = byName.get(d.name) ?? [];
    list.push(String(d.did));
    byName.set(d.name, list);
  }

  for (const link of links) {
    const qq = qqSideOf(link);
    if (!qq) continue;
    // Private chats belong to the account, not to a group or discussion of this session.
    if (qq.kind === 'private') continue;
    const room = qqRoomId(qq);
    const at = link.source ? ` (${link.source})` : '';
    if (qq.kind === 'group') {
      const gid = byNumber.get(qq.number);
      if (gid !== undefined) {
        report.bound.push({ link, room, sessionId: gid });
        report.sessionIds.set(room, gid);
        report.roomsBySession.set(sessionKey('group', gid), room);
        continue;
      }
      const pending = groupsWithoutNumber > 0
        ? `; ${groupsWithoutNumber} of its groups have no known number yet, so it may still appear`
        : '';
      report.unbound.push({
        link,
        room,
        reason: `QQ group ${qq.number}${at} is not in this account's group list (${contacts.groups.length} groups)${pending}`,
      });
      continue;
    }
    const dids = byName.get(qq.name) ?? [];
    if (dids.length === 1) {
      report.bound.push({ link, room, sessionId: dids[0]! });
      report.sessionIds.set(room, dids[0]!);
      report.roomsBySession.set(sessionKey('discussion', dids[0]!), room);
    } else if (dids.length === 0) {
      report.unbound.push({
        link,
        room,
        reason: `QQ discussion ${JSON.stringify(qq.name)}${at} is not among this account's ${contacts.discussions.length} discussions`,
      });
    } else {
      report.unbound.push({
        link,
        room,
        reason: `${dids.length} QQ discussions are named ${JSON.stringify(qq.name)}${at}; rename all but one in QQ so the bridge can tell them apart`,
      });
    }
  }
  return report;
}

/** Logs one line per unbound link (warn) and a summary (info). */
export function logBindingReport(report: BindingReport, log: Logger): void {
  for (const u of report.unbound) log.warn({ net: 'qq', room: u.room, link: describeLink(u.link) }, u.reason);
  log.info({ net: 'qq', bound: report.bound.length, unbound: report.unbound.length }, 'QQ mappings bound to this session');
}

export interface RetryOptions {
  /** First wait before retrying; each wait is jittered into [½, 1] of its step (equal jitter). */
  intervalMs: number;
  /** Longest wait; the interval doubles up to it. Default 10 × intervalMs. */
  maxIntervalMs?: number;
  log?: Logger;
  /** Jitter source in [0, 1); injectable for tests. */
  random?: () => number;
}

export interface RetryHandle {
  stop(): void;
  /** Resolves when an attempt reports nothing left unbound, or when stopped. */
  readonly done: Promise<void>;
}

/**
 * Calls `attempt` (which re-binds and returns how many links are still unbound) with a bounded,
 * jittered backoff until it returns 0 or `stop()` is called. The caller owns the loop: the QQ
 * connector starts one after a login that left links unbound and stops it at logout.
 */
export function retryUnbound(attempt: () => Promise<number> | number, opts: RetryOptions): RetryHandle {
  const max = opts.maxIntervalMs ?? opts.intervalMs * 10;
  const random = opts.random ?? Math.random;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));

  const schedule = (): void => {
    if (stopped) return;
    // Jitter so several bridges restarted together do not hit QQ in step.
    const wait = backoffDelay(failures++, { minMs: opts.intervalMs, maxMs: max }, random);
    timer = setTimeout(run, wait);
    timer.unref();
  };
  const run = async (): Promise<void> => {
    timer = undefined;
    if (stopped) return;
    try {
      const left = await attempt();
      if (left <= 0) {
        stopped = true;
        finish();
        return;
      }
      opts.log?.debug({ net: 'qq', unbound: left }, 'QQ mappings still unbound, will retry');
    } catch (err) {
      opts.log?.warn({ net: 'qq', err }, 'retrying unbound QQ mappings failed');
    }
    schedule();
  };
  schedule();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      finish();
    },
    done,
  };
}
