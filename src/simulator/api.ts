/**
 * s.web2.qq.com: getvfwebqq, the lists (with the `hash` check), group/discussion info, the
 * uin → QQ-number mapping and profiles (§2.2–§2.7).
 */
import { listHash } from '../connectors/qq/webqq/protocol-crypto.js';
import { checkOrigin, checkReferer, checkUserAgent, intOf, parseR, S_REFERERS, sessionFromCookies } from './rules.js';
import { route, type Ctx, type Routes } from './server.js';
import { randomHex, type Session, type SimState } from './sessions.js';
import { faceOf, nickOf } from './world.js';

const S = 's.web2.qq.com';

interface ApiOpts {
  /** retcode for missing headers/cookies (get_user_friends2 answered 100101, the rest 100000) */
  authFail?: number;
  /** vfwebqq comes in `r` (POST lists) rather than the query */
  r?: boolean;
  /** the call also carries clientid/psessionid, which must be the channel's */
  channel?: boolean;
}

/** Headers, cookie session and vfwebqq of an S call; answers and returns null on failure. */
function api(ctx: Ctx, opts: ApiOpts): { s: Session; r: Record<string, unknown> } | null {
  const authFail = opts.authFail ?? 100000;
  const headersOk = [checkUserAgent(ctx), checkReferer(ctx, S_REFERERS), ctx.method !== 'POST' || checkOrigin(ctx)].every(Boolean);
  if (!headersOk) return ctx.json({ retcode: authFail }), null;
  const s = sessionFromCookies(ctx);
  if (!s) return ctx.json({ retcode: authFail }), null;
  if (s.dead) return ctx.json({ retcode: 100000, errmsg: '' }), null;
  let r: Record<string, unknown> = {};
  if (opts.r) {
    const parsed = parseR(ctx);
    if (!parsed) return ctx.json({ retcode: 100006, errmsg: '' }), null;
    r = parsed;
  }
  const vf = opts.r ? r.vfwebqq : ctx.query.get('vfwebqq');
  if (!s.vfwebqq || vf !== s.vfwebqq) {
    ctx.violation('vfwebqq', s.vfwebqq ? 'vfwebqq is not the current one (SmartQQ: take it from getvfwebqq, not login2)' : 'no vfwebqq issued yet (login2 / getvfwebqq first)');
    return ctx.json({ retcode: 100000, errmsg: '' }), null;
  }
  // Control-API faults (POST /fault {"api":…}): a list endpoint failing for this account.
  const endpoint = ctx.path.slice(ctx.path.lastIndexOf('/') + 1);
  const faults = ctx.state.apiFaults;
  const fault = faults.find((f) => f.endpoint === endpoint && (f.account === undefined || f.account === s.qq));
  if (fault) {
    if (--fault.times <= 0) faults.splice(faults.indexOf(fault), 1);
    if ('http' in fault) ctx.send(fault.http, `<html><body><h1>${fault.http}</h1></body></html>`, 'text/html');
    else ctx.json({ retcode: fault.retcode, errmsg: '' });
    return null;
  }
  if (opts.channel) {
    if (ctx.query.get('clientid') !== s.clientid || ctx.query.get('psessionid') !== s.psessionid) {
      ctx.violation('clientid-mismatch', 'clientid/psessionid are not the ones bound by login2');
      return ctx.json({ retcode: 100000, errmsg: '' }), null;
    }
  }
  return { s, r };
}

/**
 * Headers and a live cookie session, for the S calls that need no vfwebqq (getvfwebqq, which
 * hands it out, and get_self_info2); answers and returns null on failure.
 */
function liveSession(ctx: Ctx): Session | null {
  const ok = [checkUserAgent(ctx), checkReferer(ctx, S_REFERERS)].every(Boolean);
  if (!ok) return ctx.json({ retcode: 100000 }), null;
  const s = sessionFromCookies(ctx);
  if (!s || s.dead) return ctx.json({ retcode: 100000 }), null;
  return s;
}

/** The list `hash` (§2.13) of the configured version over the current ptwebqq. */
function checkHash(state: SimState, ctx: Ctx, s: Session, hash: unknown): boolean {
  if (hash === listHash(state.cfg.hashVersion, s.qq, s.ptwebqq)) return true;
  ctx.violation('hash', `list hash ${String(hash)} is not hash${state.cfg.hashVersion}(uin, ptwebqq)`);
  ctx.json({ retcode: 50, errmsg: '' });
  return false;
}

const isMember = (state: SimState, s: Session) => state.world.groups.filter((g) => g.members.some((m) => m.qq === s.qq));

function getvfwebqq(state: SimState) {
  return (ctx: Ctx) => {
    const s = liveSession(ctx);
    if (!s) return;
    if (ctx.query.get('ptwebqq') !== s.ptwebqq) {
      ctx.violation('ptwebqq', 'getvfwebqq ptwebqq param is not the ptwebqq cookie');
      return ctx.json({ retcode: 100000 });
    }
    if (ctx.query.get('clientid') === null || ctx.query.get('psessionid') === null) {
      ctx.violation('params', 'getvfwebqq needs clientid and psessionid (empty) params');
      return ctx.json({ retcode: 100000 });
    }
    s.vfwebqq ??= randomHex(80);
    ctx.json({ retcode: 0, result: { vfwebqq: s.vfwebqq } });
  };
}

function friends(state: SimState) {
  return (ctx: Ctx) => {
    if (ctx.method !== 'POST') {
      ctx.violation('method', 'get_user_friends2 is a form POST');
      return ctx.json({ retcode: 100101 });
    }
    const c = api(ctx, { r: true, authFail: 100101 });
    if (!c || !checkHash(state, ctx, c.s, c.r.hash)) return;
    const { s } = c;
    const list = state.world.friends[String(s.qq)] ?? [];
    ctx.json({
      retcode: 0,
      result: {
        friends: list.map((f) => ({ flag: 0, uin: s.ids.uin(f), categories: 0 })),
        marknames: [],
        categories: [{ index: 0, sort: 0, name: '我的好友' }],
        vipinfo: list.map((f) => ({ vip_level: 0, u: s.ids.uin(f), is_vip: 0 })),
        info: list.map((f) => ({ face: faceOf(state.world, f), flag: 0, nick: nickOf(state.world, f), uin: s.ids.uin(f) })),
      },
    });
  };
}

function groups(state: SimState) {
  return (ctx: Ctx) => {
    // POST is the web client's form; Mojo (2016+) sent r in a GET query and the server took both (§2.3)
    const c = api(ctx, { r: true });
    if (!c || !checkHash(state, ctx, c.s, c.r.hash)) return;
    const { s } = c;
    ctx.json({
      retcode: 0,
      result: {
        gmasklist: [],
        gnamelist: isMember(state, s).map((g) => ({ flag: 1090519041, name: g.name, ...s.ids.group(g.number) })),
        gmarklist: [],
      },
    });
  };
}

function groupInfo(state: SimState) {
  return (ctx: Ctx) => {
    const c = api(ctx, {});
    if (!c) return;
    const { s } = c;
    const code = intOf(ctx.query.get('gcode'));
    const number = code === null ? undefined : s.ids.groupByCode(code);
    const g = isMember(state, s).find((x) => x.number === number);
    if (!g) return ctx.json({ retcode: 6, errmsg: '' });
    const { gid } = s.ids.group(g.number);
    const uin = (qq: number) => s.ids.uin(qq);
    ctx.json({
      retcode: 0,
      result: {
        stats: g.members.map((m) => ({ client_type: m.qq === s.qq ? 41 : 1, uin: uin(m.qq), stat: 10 })),
        minfo: g.members.map((m) => ({ nick: nickOf(state.world, m.qq), province: '', gender: 'unknown', uin: uin(m.qq), country: '中国', city: '' })),
        ginfo: {
          face: 0,
          memo: g.memo ?? '',
          class: 10048,
          fingermemo: '',
          code: code!,
          createtime: 1388307595,
          flag: 1090519041,
          level: 0,
          name: g.name,
          gid,
          owner: uin(g.owner),
          members: g.members.map((m) => ({ muin: uin(m.qq), mflag: m.qq === g.owner ? 21 : 0 })),
          option: 1,
        },
        cards: g.members.filter((m) => m.card).map((m) => ({ muin: uin(m.qq), card: m.card! })),
        vipinfo: g.members.map((m) => ({ vip_level: 0, u: uin(m.qq), is_vip: 0 })),
      },
    });
  };
}

function discusList(state: SimState) {
  return (ctx: Ctx) => {
    const c = api(ctx, { channel: true });
    if (!c) return;
    const { s } = c;
    const list = state.world.discussions.filter((d) => d.members.includes(s.qq));
    ctx.json({ retcode: 0, result: { dnamelist: list.map((d) => ({ name: d.name, did: s.ids.did(d.name) })) } });
  };
}

function friendUin(state: SimState) {
  return (ctx: Ctx) => {
    const c = api(ctx, {});
    if (!c) return;
    const { s } = c;
    const tuin = intOf(ctx.query.get('tuin'));
    const type = ctx.query.get('type');
    let account: number | undefined;
    if (tuin !== null && type === '1') account = s.ids.qqOfUin(tuin);
    else if (tuin !== null && type === '4') account = s.ids.groupByGid(tuin);
    else ctx.violation('params', `get_friend_uin2 type ${type ?? ''} (1 user, 4 group) tuin ${ctx.query.get('tuin') ?? ''}`);
    if (account === undefined) return ctx.json({ retcode: 100001 });
    ctx.json({ retcode: 0, result: { uiuin: '', account, uin: tuin } });
  };
}

function profile(state: SimState, qq: number, uin: number): Record<string, unknown> {
  return {
    birthday: { month: 1, year: 1990, day: 1 },
    face: faceOf(state.world, qq),
    phone: '',
    occupation: '',
    allow: 1,
    college: '',
    uin,
    blood: 0,
    constel: 0,
    lnick: state.world.users.find((u) => u.qq === qq)?.lnick ?? '',
    homepage: '',
    vip_info: 0,
    city: '',
    country: '中国',
    personal: '',
    shengxiao: 0,
    nick: nickOf(state.world, qq),
    email: '',
    province: '',
    gender: 'unknown',
    mobile: '',
  };
}

function selfInfo(state: SimState) {
  return (ctx: Ctx) => {
    const s = liveSession(ctx);
    if (!s) return;
    ctx.json({ retcode: 0, result: { ...profile(state, s.qq, s.qq), account: s.qq, vfwebqq: randomHex(80) } });
  };
}

/** The `tuin` a profile endpoint names → its QQ number; answers the refusal itself when there is none. */
function tuinOf(ctx: Ctx): { tuin: number; qq: number } | undefined {
  const c = api(ctx, {});
  if (!c) return undefined;
  const tuin = intOf(ctx.query.get('tuin'));
  const qq = tuin === null ? undefined : c.s.ids.qqOfUin(tuin);
  if (qq === undefined) {
    ctx.json({ retcode: 100001 });
    return undefined;
  }
  return { tuin: tuin!, qq };
}

function friendInfo(state: SimState) {
  return (ctx: Ctx) => {
    const who = tuinOf(ctx);
    if (!who) return;
    const { tuin, qq } = who;
    ctx.json({ retcode: 0, result: { ...profile(state, qq, tuin), stat: 10, client_type: 1 } });
  };
}

function longNick(state: SimState) {
  return (ctx: Ctx) => {
    const who = tuinOf(ctx);
    if (!who) return;
    const { tuin, qq } = who;
    ctx.json({ retcode: 0, result: [{ uin: tuin, lnick: state.world.users.find((u) => u.qq === qq)?.lnick ?? '' }] });
  };
}

export function registerApi(state: SimState, routes: Routes): void {
  route(routes, S, '/api/getvfwebqq', getvfwebqq(state));
  route(routes, S, '/api/get_user_friends2', friends(state));
  route(routes, S, '/api/get_group_name_list_mask2', groups(state));
  route(routes, S, '/api/get_group_info_ext2', groupInfo(state));
  route(routes, S, '/api/get_discus_list', discusList(state));
  route(routes, S, '/api/get_friend_uin2', friendUin(state));
  route(routes, S, '/api/get_self_info2', selfInfo(state));
  route(routes, S, '/api/get_friend_info2', friendInfo(state));
  route(routes, S, '/api/get_single_long_nick2', longNick(state));
}
