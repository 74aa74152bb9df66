/**
 * The channel hosts d.web2.qq.com (WebQQ, ≤2015-12) and d1.web2.qq.com (SmartQQ): login2 and
 * relink, the long poll with its faults, sends with full validation, and the small channel calls.
 */
import { randomInt } from 'node:crypto';
import { buddyMessage, discuMessage, groupMessage } from './events.js';
import { checkOrigin, checkReferer, checkUserAgent, D_REFERERS, intOf, parseR, sessionFromCookies } from './rules.js';
import { route, type Ctx, type Routes } from './server.js';
import { erlangPsessionid, randomHex, type PollEvent, type SentRecord, type Session, type SimState } from './sessions.js';

export const D_HOSTS = ['d.web2.qq.com', 'd1.web2.qq.com'];
export const SMARTQQ_CLIENTID = 53999199;
export const STATUSES = ['online', 'away', 'busy', 'silent', 'hidden', 'callme', 'offline'];
/** About 720 UTF-8 bytes of text per message (§4.5). */
export const MAX_CONTENT_BYTES = 720;

const fail = (ctx: Ctx, retcode: number, extra: Record<string, unknown> = { errmsg: '' }) => ctx.json({ retcode, ...extra });

/** Referer, User-Agent and (on POST) Origin of the D proxy iframe; failures answer 100001. */
function dHeaders(ctx: Ctx): boolean {
  const ok = [checkUserAgent(ctx), checkReferer(ctx, D_REFERERS[ctx.host] ?? []), ctx.method !== 'POST' || checkOrigin(ctx)].every(Boolean);
  if (!ok) fail(ctx, 100001);
  return ok;
}

interface ChannelOpts {
  /** the call carries its ids in the form field `r` (POST) rather than the query */
  r?: boolean;
  /** retcode when the cookies do not make a session (poll2: 108) */
  cookieFail?: number;
  warmup?: boolean;
  vfwebqq?: boolean;
}

/**
 * Everything a bound channel call checks: headers, cookie session, the same D host as login2,
 * clientid/psessionid bound to the session, vfwebqq, warm-up. Answers and returns null on failure.
 */
function channel(state: SimState, ctx: Ctx, opts: ChannelOpts): { s: Session; r: Record<string, unknown> } | null {
  if (!dHeaders(ctx)) return null;
  const s = sessionFromCookies(ctx);
  if (!s) return fail(ctx, opts.cookieFail ?? 103), null;
  let r: Record<string, unknown> = {};
  if (opts.r) {
    if (ctx.method !== 'POST') {
      ctx.violation('method', `${ctx.path} is a form POST`);
      return fail(ctx, 100006), null;
    }
    const parsed = parseR(ctx);
    if (!parsed) return fail(ctx, 100006), null;
    r = parsed;
  }
  const get = (k: string): unknown => (opts.r ? r[k] : ctx.query.get(k));
  if (s.dead) return fail(ctx, 108), null;
  if (!s.channelOnline || s.psessionid === null) {
    ctx.violation('not-logged-in', 'channel call before login2 (or after logout2)');
    return fail(ctx, 103), null;
  }
  if (ctx.host !== s.dHost) {
    ctx.violation('host-mismatch', `login2 was on ${s.dHost}, this call on ${ctx.host}`);
    return fail(ctx, 103), null;
  }
  const clientid = get('clientid');
  if (clientid === undefined || clientid === null || String(clientid) !== s.clientid) {
    ctx.violation('clientid-mismatch', `clientid ${String(clientid)} is not the one bound by login2 (${s.clientid})`);
    return fail(ctx, 122, { errmsg: 'wrong web client3' }), null;
  }
  const ps = get('psessionid');
  if (ps !== s.psessionid) {
    ctx.violation('psessionid-mismatch', 'psessionid is not the one login2 returned for this clientid');
    return fail(ctx, 103), null;
  }
  if (!s.psessionValid) return fail(ctx, 103), null;
  if (opts.vfwebqq && get('vfwebqq') !== s.vfwebqq) {
    ctx.violation('vfwebqq', 'vfwebqq is not the current one of the session');
    return fail(ctx, 100000), null;
  }
  if (opts.warmup && state.cfg.requireWarmup && !s.warmedUp) {
    ctx.violation('warmup', 'poll/send before get_online_buddies2 (§1.3.7)');
    return fail(ctx, 103), null;
  }
  return { s, r };
}

// ------------------------------------------------------------------------------- login2

function login2(state: SimState) {
  return (ctx: Ctx) => {
    if (!dHeaders(ctx)) return;
    const s = sessionFromCookies(ctx);
    if (!s) return fail(ctx, 103);
    const r = parseR(ctx);
    if (!r) return fail(ctx, 100006);
    // 100 / kick / logout: relink is refused ("Not Relogin"), only a new ptlogin helps
    if (s.dead) return fail(ctx, 103);
    const smart = ctx.host === 'd1.web2.qq.com';
    if (r.ptwebqq !== s.ptwebqq) {
      ctx.violation('ptwebqq', 'r.ptwebqq is not the current ptwebqq');
      return fail(ctx, 103);
    }
    if (typeof r.status !== 'string' || !STATUSES.includes(r.status) || r.status === 'offline') {
      ctx.violation('param:status', `login2 status ${JSON.stringify(r.status)}`);
      return fail(ctx, 100006);
    }
    const cid = r.clientid;
    const cidOk = smart
      ? cid === SMARTQQ_CLIENTID
      : (typeof cid === 'string' && /^\d{8}$/.test(cid)) || cid === SMARTQQ_CLIENTID;
    if (!cidOk) {
      ctx.violation('clientid', `login2 clientid ${JSON.stringify(cid)}: ${smart ? 'SmartQQ sends the number 53999199' : 'WebQQ sends 8 random digits as a string'}`);
      return fail(ctx, 103);
    }
    const relink = typeof r.psessionid === 'string' && r.psessionid !== '';
    if (!relink && r.psessionid !== null && r.psessionid !== '') {
      ctx.violation('param:psessionid', `login2 psessionid ${JSON.stringify(r.psessionid)}`);
      return fail(ctx, 100006);
    }
    if (relink) {
      if (r.psessionid !== s.psessionid) {
        ctx.violation('psessionid-mismatch', 'relink with a psessionid this session never had');
        return fail(ctx, 103);
      }
      if (String(cid) !== s.clientid) {
        ctx.violation('clientid-mismatch', `relink with clientid ${String(cid)}, bound ${s.clientid}`);
        return fail(ctx, 103);
      }
      if (ctx.host !== s.dHost) {
        ctx.violation('host-mismatch', `relink on ${ctx.host}, login2 was on ${s.dHost}`);
        return fail(ctx, 103);
      }
      s.relinks++;
    } else {
      s.logins++;
      s.warmedUp = false;
      s.era = smart ? 'C' : 'A';
    }
    s.waiter?.cancel();
    const vfwebqq = randomHex(80);
    // SmartQQ's login2 vfwebqq is stale: the valid one comes from getvfwebqq (§1.3.6)
    if (!smart) s.vfwebqq = vfwebqq;
    s.clientid = String(cid);
    s.psessionid = erlangPsessionid(s.qq, s.skey, vfwebqq);
    s.psessionValid = true;
    s.channelOnline = true;
    s.dHost = ctx.host;
    s.status = r.status;
    ctx.json({
      retcode: 0,
      result: {
        uin: s.qq,
        cip: randomInt(1_000_000_000, 4_000_000_000),
        index: 1075,
        port: randomInt(30000, 65000),
        status: s.status,
        vfwebqq,
        psessionid: s.psessionid,
        user_state: 0,
        f: 0,
      },
    });
  };
}

// ------------------------------------------------------------------------------- poll2

/** Answers a poll from the session's faults or queue; false when there is nothing to say. */
function answerPoll(state: SimState, s: Session, ctx: Ctx): boolean {
  const f = s.faults.shift();
  if (f) {
    if (f.kind === 'http') ctx.send(f.status, `<html><body><h1>${f.status}</h1></body></html>`, 'text/html');
    else if (f.kind === 'body') ctx.send(200, f.body);
    else {
      const rc = f.retcode;
      if (rc === 116) {
        s.ptwebqq = f.p ?? randomHex(64);
        ctx.json({ retcode: 116, p: s.ptwebqq });
        return true;
      }
      if ([103, 108, 120, 121, 122].includes(rc)) s.psessionValid = false;
      if (rc === 100) state.retire(s);
      ctx.json(rc === 121 ? { retcode: 121, t: '0' } : { retcode: rc, errmsg: rc === 122 ? 'wrong web client3' : '' });
    }
    return true;
  }
  if (!s.queue.length) return false;
  let events: PollEvent[] = s.queue.splice(0);
  if (s.batchMods.outOfOrder) {
    s.batchMods.outOfOrder = false;
    events = events.reverse();
  }
  if (s.batchMods.duplicate) {
    // the server re-delivers the same events (same msg_id) on the next poll (§5.4)
    s.batchMods.duplicate = false;
    s.queue.unshift(...events.map((e) => structuredClone(e)));
  }
  ctx.json({ retcode: 0, result: events });
  if (events.some((e) => e.poll_type === 'kick_message')) state.retire(s);
  return true;
}

function poll2(state: SimState) {
  return (ctx: Ctx) => {
    const c = channel(state, ctx, { r: true, cookieFail: 108, warmup: true });
    if (!c) return;
    const { s, r } = c;
    if (ctx.host === 'd1.web2.qq.com' || r.ptwebqq !== undefined) {
      if (r.ptwebqq !== s.ptwebqq) {
        ctx.violation('ptwebqq', 'poll2 r.ptwebqq is not the current ptwebqq (rotated by 116?)');
        return fail(ctx, 108);
      }
    }
    s.polls++;
    if (s.waiter) {
      ctx.violation('concurrent-poll', 'a second poll2 while one is held for this session');
      s.waiter.cancel(102);
    }
    if (answerPoll(state, s, ctx)) return;
    const finish = () => {
      clearTimeout(timer);
      if (s.waiter === waiter) s.waiter = null;
    };
    const timer = setTimeout(() => {
      finish();
      ctx.json({ retcode: 102, errmsg: '' });
    }, state.cfg.pollHoldMs);
    const waiter = {
      answer: () => {
        if (ctx.gone) {
          finish();
          return false;
        }
        const done = answerPoll(state, s, ctx);
        if (done) finish();
        return done;
      },
      cancel: (retcode = 103) => {
        finish();
        ctx.json({ retcode, errmsg: '' });
      },
    };
    s.waiter = waiter;
    // a client that gives up leaves the queue intact for its next poll
    ctx.res.on('close', finish);
  };
}

// ------------------------------------------------------------------------------- sends

type SendEndpoint = SentRecord['endpoint'];

interface Target {
  rec: Pick<SentRecord, 'group' | 'discussion' | 'buddy' | 'sess'>;
  /** How the account's own poll sees the message again (2017+), when it does. */
  echo: ((content: unknown[]) => PollEvent) | undefined;
}

function resolveTarget(state: SimState, s: Session, endpoint: SendEndpoint, r: Record<string, unknown>): Target | string {
  if (endpoint === 'send_qun_msg2') {
    const gid = intOf(r.group_uin);
    const number = gid === null ? undefined : s.ids.groupByGid(gid);
    const g = state.world.groups.find((x) => x.number === number);
    if (!g || !g.members.some((m) => m.qq === s.qq)) return `group_uin ${String(r.group_uin)} is not a group of this session`;
    return { rec: { group: g.number }, echo: (c) => groupMessage(state, s, g.number, s.echoUin, c) };
  }
  if (endpoint === 'send_discu_msg2') {
    const did = intOf(r.did);
    const name = did === null ? undefined : s.ids.discussionByDid(did);
    const d = state.world.discussions.find((x) => x.name === name);
    if (!d || !d.members.includes(s.qq)) return `did ${String(r.did)} is not a discussion of this session`;
    return { rec: { discussion: d.name }, echo: (c) => discuMessage(state, s, d.name, s.echoUin, c) };
  }
  if (endpoint === 'send_sess_msg2') {
    const to = intOf(r.to);
    const sig = typeof r.group_sig === 'string' ? s.c2cSigs.get(r.group_sig) : undefined;
    if (to === null || !sig || sig.to !== to) return `to ${String(r.to)} with a group_sig get_c2cmsg_sig2 did not give for that member`;
    const type = intOf(r.service_type);
    if (type !== (sig.group !== undefined ? 0 : 1)) return `service_type ${String(r.service_type)} does not match the sig (0 group, 1 discussion)`;
    const qq = s.ids.qqOfUin(to)!;
    return { rec: { sess: qq, ...(sig.group !== undefined ? { group: sig.group } : { discussion: sig.discussion! }) }, echo: undefined };
  }
  const uin = intOf(r.to);
  const qq = uin === null ? undefined : s.ids.qqOfUin(uin);
  if (qq === undefined || !(state.world.friends[String(s.qq)] ?? []).includes(qq)) return `to ${String(r.to)} is not a friend uin of this session`;
  return { rec: { buddy: qq }, echo: (c) => buddyMessage(s, s.qq, c) };
}

interface Parsed {
  content: unknown[];
  text: string;
  faces: number[];
  images: string[];
  bytes: number;
}

const isFont = (e: unknown): boolean => {
  if (!Array.isArray(e) || e[0] !== 'font' || e.length !== 2 || !e[1] || typeof e[1] !== 'object') return false;
  const f = e[1] as Record<string, unknown>;
  return (
    typeof f.name === 'string' &&
    (typeof f.size === 'number' || (typeof f.size === 'string' && /^\d+$/.test(f.size))) &&
    Array.isArray(f.style) &&
    f.style.length === 3 &&
    typeof f.color === 'string' &&
    /^[0-9a-fA-F]{6}$/.test(f.color)
  );
};

/** The sent `content` (§4.2): a JSON string of an array whose last element is the font. */
function parseContent(raw: unknown, endpoint: SendEndpoint): Parsed | { rule: string; detail: string } {
  if (typeof raw !== 'string') return { rule: 'content-not-string', detail: 'r.content must be a JSON string (JSON.stringify of the array)' };
  let arr: unknown;
  try {
    arr = JSON.parse(raw);
  } catch {
    return { rule: 'content-json', detail: 'r.content is not valid JSON' };
  }
  if (!Array.isArray(arr) || arr.length < 2) return { rule: 'content-json', detail: 'r.content must be an array of parts followed by the font' };
  if (!isFont(arr[arr.length - 1])) return { rule: 'font-not-last', detail: 'the last element of content must be ["font",{name,size,style,color}]' };
  const out: Parsed = { content: arr, text: '', faces: [], images: [], bytes: 0 };
  for (const e of arr.slice(0, -1)) {
    if (typeof e === 'string') {
      out.text += e;
      out.bytes += Buffer.byteLength(e, 'utf8');
    } else if (Array.isArray(e) && e[0] === 'face' && e.length === 2 && Number.isInteger(e[1])) out.faces.push(e[1] as number);
    else if (Array.isArray(e) && e[0] === 'cface' && endpoint !== 'send_buddy_msg2' && e.length === 3 && e[1] === 'group' && typeof e[2] === 'string') out.images.push(e[2]);
    else if (Array.isArray(e) && e[0] === 'cface' && endpoint === 'send_buddy_msg2' && e.length === 2 && typeof e[1] === 'string') out.images.push(e[1]);
    else if (Array.isArray(e) && e[0] === 'offpic' && endpoint === 'send_buddy_msg2' && e.length === 4 && typeof e[1] === 'string' && typeof e[2] === 'string' && Number.isInteger(e[3])) out.images.push(e[1]);
    else if (isFont(e)) return { rule: 'font-not-last', detail: 'font element before other parts: it must be the last element' };
    else return { rule: 'content-element', detail: `unknown content element ${JSON.stringify(e).slice(0, 60)}` };
  }
  return out;
}

/** The echo of a sent message as a receiver sees it: font first, then the parts. */
function receivedForm(content: unknown[]): unknown[] {
  return [content[content.length - 1], ...content.slice(0, -1)];
}

function send(state: SimState, endpoint: SendEndpoint) {
  return (ctx: Ctx) => {
    const c = channel(state, ctx, { r: true, warmup: true });
    if (!c) return;
    const { s, r } = c;
    const reject = (rule: string, detail: string, retcode = 100006) => {
      ctx.violation(rule, detail);
      fail(ctx, retcode);
    };
    let answer = 0;
    if ((state.refusingUntil.get(s.qq) ?? 0) > Date.now()) {
      state.sendAttempts.push({ account: s.qq, at: Date.now(), outcome: 'refused' });
      return ctx.json({ errmsg: 'error!!!', retcode: 1202 });
    }
    let fault: (typeof s.sendFaults)[number] | undefined = s.sendFaults[0];
    if (fault?.after) {
      fault.after--;
      fault = undefined;
    }
    if (fault) {
      if (--fault.times <= 0) s.sendFaults.shift();
      state.sendAttempts.push({ account: s.qq, at: Date.now(), outcome: 'fault' });
      // HTTP error pages and garbled bodies: the send is not delivered
      if ('http' in fault) return ctx.send(fault.http, `<html><body><h1>${fault.http}</h1></body></html>`, 'text/html');
      if ('body' in fault) return ctx.send(200, fault.body);
      // 100100 = delivered anyway (§2.6); the others are not delivered here
      if (fault.retcode !== 100100) return ctx.json({ errmsg: 'error!!!', retcode: fault.retcode });
      answer = 100100;
    }
    const target = resolveTarget(state, s, endpoint, r);
    if (typeof target === 'string') return reject('unknown-target', target, 100001);
    const parsed = parseContent(r.content, endpoint);
    if ('rule' in parsed) return reject(parsed.rule, parsed.detail);
    if (parsed.bytes > MAX_CONTENT_BYTES) return reject('content-too-long', `text is ${parsed.bytes} UTF-8 bytes, limit ${MAX_CONTENT_BYTES}`);
    if (parsed.images.length) {
      if (endpoint !== 'send_buddy_msg2' && (r.key !== s.gface.key || r.sig !== s.gface.sig)) return reject('cface-sig', 'custom face send without the key/sig of get_gface_sig2');
      if (endpoint === 'send_qun_msg2' && intOf(r.group_code) !== s.ids.group(target.rec.group!).code) return reject('cface-sig', 'custom face send to a group needs group_code');
      const unknown = parsed.images.find((n) => !s.uploads.has(n));
      if (unknown) return reject('cface-unknown', `picture ${unknown} was not uploaded by this session`);
    }
    const msgId = r.msg_id;
    if (typeof msgId !== 'number' || !Number.isSafeInteger(msgId)) return reject('msg_id', `msg_id must be an integer, got ${JSON.stringify(msgId)}`);
    if (s.lastMsgId !== null && msgId <= s.lastMsgId) return reject('msg_id-not-increasing', `msg_id ${msgId} after ${s.lastMsgId}`);
    if (r.face !== undefined && !Number.isInteger(r.face)) return reject('param:face', `face must be an integer, got ${JSON.stringify(r.face)}`);
    s.lastMsgId = msgId;
    state.sendAttempts.push({ account: s.qq, at: Date.now(), outcome: 'accepted' });
    state.sent.push({ endpoint, account: s.qq, ...target.rec, msg_id: msgId, content: parsed.content, text: parsed.text, faces: parsed.faces, images: parsed.images, at: Date.now() });
    if (state.selfEcho && target.echo) {
      s.queue.push(target.echo(receivedForm(parsed.content)));
      s.wake();
    }
    ctx.json(answer ? { errmsg: '', retcode: answer } : { retcode: 0, result: 'ok' });
  };
}

// ------------------------------------------------------------------------------- small calls

function onlineBuddies(state: SimState) {
  return (ctx: Ctx) => {
    const c = channel(state, ctx, { vfwebqq: true });
    if (!c) return;
    c.s.warmedUp = true;
    const friends = state.world.friends[String(c.s.qq)] ?? [];
    ctx.json({ retcode: 0, result: friends.map((f) => ({ client_type: 1, status: 'online', uin: c.s.ids.uin(f) })) });
  };
}

function changeStatus(state: SimState) {
  return (ctx: Ctx) => {
    const c = channel(state, ctx, {});
    if (!c) return;
    const st = ctx.query.get('newstatus') ?? '';
    if (!STATUSES.includes(st)) {
      ctx.violation('param:newstatus', `unknown status ${st}`);
      return fail(ctx, 100006);
    }
    c.s.status = st;
    if (st === 'offline') {
      c.s.channelOnline = false;
      c.s.psessionValid = false;
      c.s.waiter?.cancel();
    }
    ctx.json({ retcode: 0, result: 'ok' });
  };
}

function discuInfo(state: SimState) {
  return (ctx: Ctx) => {
    const c = channel(state, ctx, { vfwebqq: true });
    if (!c) return;
    const { s } = c;
    const did = intOf(ctx.query.get('did'));
    const name = did === null ? undefined : s.ids.discussionByDid(did);
    const d = state.world.discussions.find((x) => x.name === name);
    if (!d || !d.members.includes(s.qq)) return fail(ctx, 100001);
    const nick = (qq: number) => state.world.users.find((u) => u.qq === qq)?.nick ?? state.account(qq)?.nick ?? String(qq);
    ctx.json({
      retcode: 0,
      result: {
        info: {
          did: did!,
          discu_owner: s.ids.uin(d.owner),
          discu_name: d.name,
          info_seq: state.discussionSeq(d.name),
          mem_list: d.members.map((m) => ({ mem_uin: s.ids.uin(m), ruin: m })),
        },
        mem_status: d.members.map((m) => ({ uin: s.ids.uin(m), status: 'online', client_type: m === s.qq ? 41 : 1 })),
        mem_info: d.members.map((m) => ({ uin: s.ids.uin(m), nick: nick(m) })),
      },
    });
  };
}

/** The signature a temporary session with a group/discussion member needs (§2.6). */
function c2cmsgSig(state: SimState) {
  return (ctx: Ctx) => {
    const c = channel(state, ctx, {});
    if (!c) return;
    const { s } = c;
    const id = intOf(ctx.query.get('id'));
    const to = intOf(ctx.query.get('to_uin'));
    const type = ctx.query.get('service_type');
    const qq = to === null ? undefined : s.ids.qqOfUin(to);
    let room: { group?: number; discussion?: string } | undefined;
    if (type === '0' && id !== null) {
      const number = s.ids.groupByGid(id);
      const g = state.world.groups.find((x) => x.number === number);
      if (g && qq !== undefined && g.members.some((m) => m.qq === qq) && g.members.some((m) => m.qq === s.qq)) room = { group: g.number };
    } else if (type === '1' && id !== null) {
      const name = s.ids.discussionByDid(id);
      const d = state.world.discussions.find((x) => x.name === name);
      if (d && qq !== undefined && d.members.includes(qq) && d.members.includes(s.qq)) room = { discussion: d.name };
    }
    if (!room || qq === undefined) {
      ctx.violation('c2cmsg-sig', `get_c2cmsg_sig2 id=${ctx.query.get('id') ?? ''} to_uin=${ctx.query.get('to_uin') ?? ''} service_type=${type ?? ''}: not a member of a room of this session`);
      return ctx.json({ retcode: 100001, errmsg: 'error' });
    }
    const value = randomHex(64);
    s.c2cSigs.set(value, { to: to!, ...room });
    ctx.json({ retcode: 0, result: { type: 0, value, flags: { text: 1, pic: 1, file: 1, audio: 1, video: 1 } } });
  };
}

function gfaceSig(state: SimState) {
  return (ctx: Ctx) => {
    const c = channel(state, ctx, {});
    if (!c) return;
    ctx.json({ retcode: 0, result: { reply: 0, gface_key: c.s.gface.key, gface_sig: c.s.gface.sig } });
  };
}

function recentList(state: SimState) {
  return (ctx: Ctx) => {
    const c = channel(state, ctx, { r: true, vfwebqq: true });
    if (!c) return;
    const { s } = c;
    const result = [
      ...(state.world.friends[String(s.qq)] ?? []).map((f) => ({ type: 0, uin: s.ids.uin(f) })),
      ...state.world.groups.filter((g) => g.members.some((m) => m.qq === s.qq)).map((g) => ({ type: 1, uin: s.ids.group(g.number).gid })),
      ...state.world.discussions.filter((d) => d.members.includes(s.qq)).map((d) => ({ type: 2, uin: s.ids.did(d.name) })),
    ];
    ctx.json({ retcode: 0, result });
  };
}

function logout2(state: SimState) {
  return (ctx: Ctx) => {
    const c = channel(state, ctx, {});
    if (!c) return;
    c.s.channelOnline = false;
    c.s.psessionValid = false;
    c.s.waiter?.cancel();
    ctx.json({ retcode: 0, result: 'ok' });
  };
}

function image(state: SimState, key: (ctx: Ctx) => string) {
  return (ctx: Ctx) => {
    const c = channel(state, ctx, {});
    if (!c) return;
    const img = state.images.get(key(ctx));
    if (!img) {
      ctx.violation('unknown-picture', `no picture for ${ctx.path}?${ctx.query.toString().slice(0, 120)}`);
      return ctx.send(404, '<html><body><h1>404 Not Found</h1></body></html>', 'text/html; charset=utf-8');
    }
    ctx.send(200, img.data, img.mime);
  };
}

export function registerChannel(state: SimState, routes: Routes): void {
  route(routes, D_HOSTS, '/channel/login2', login2(state));
  route(routes, D_HOSTS, '/channel/poll2', poll2(state));
  route(routes, D_HOSTS, '/channel/send_qun_msg2', send(state, 'send_qun_msg2'));
  route(routes, D_HOSTS, '/channel/send_discu_msg2', send(state, 'send_discu_msg2'));
  route(routes, D_HOSTS, '/channel/send_buddy_msg2', send(state, 'send_buddy_msg2'));
  route(routes, D_HOSTS, '/channel/get_online_buddies2', onlineBuddies(state));
  route(routes, D_HOSTS, '/channel/change_status2', changeStatus(state));
  route(routes, D_HOSTS, '/channel/get_discu_info', discuInfo(state));
  route(routes, D_HOSTS, '/channel/get_gface_sig2', gfaceSig(state));
  route(routes, D_HOSTS, '/channel/get_c2cmsg_sig2', c2cmsgSig(state));
  route(routes, D_HOSTS, '/channel/send_sess_msg2', send(state, 'send_sess_msg2'));
  route(routes, D_HOSTS, '/channel/get_recent_list2', recentList(state));
  route(routes, D_HOSTS, '/channel/logout2', logout2(state));
  route(routes, D_HOSTS, '/channel/get_offpic2', image(state, (ctx) => `offpic:${ctx.query.get('file_path') ?? ''}`));
  route(routes, D_HOSTS, '/channel/get_cface2', image(state, (ctx) => `cface2:${ctx.query.get('guid') ?? ''}`));
}

