/**
 * The control API (JSON over HTTP on its own port): what happens in the world (messages, member
 * changes), faults the next poll/send meets, QR/captcha driving, and the records tests assert on
 * (sent log, violations, session state).
 */
import { randomInt, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { buddyMessage, DEFAULT_FONT, discuMessage, groupMessage, kickMessage, memberChange } from './events.js';
import { newestQr } from './ptlogin.js';
import type { WebqqServer } from './server.js';
import { ALNUM, randomFrom, type PollEvent, type Session, type SimState } from './sessions.js';

class BadRequest extends Error {}
const bad = (msg: string): never => {
  throw new BadRequest(msg);
};

const POLL_FAULT_RETCODES = [102, 103, 108, 100, 116, 120, 121, 122, 100012, 1202, 10000];
const SEND_FAULT_RETCODES = [1202, 100100, 100012, 103];
const SEND_FAULT_HTTP = [502, 503, 504];
const API_FAULT_ENDPOINTS = ['get_group_info_ext2', 'get_friend_uin2', 'get_group_name_list_mask2', 'get_discus_list', 'get_user_friends2'];

type Body = Record<string, unknown>;

function num(v: unknown, what: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return bad(`${what} must be a number, got ${JSON.stringify(v)}`);
}

/** Builds and queues the poll event of POST /inject; returns its msg_id. */
export function inject(state: SimState, b: Body): { msg_id: number } {
  const s = state.target(b.to);
  const targets = ['group', 'discussion', 'buddy'].filter((k) => b[k] !== undefined);
  if (targets.length !== 1) bad('give exactly one of "group", "discussion", "buddy"');
  let content: unknown[];
  if (b.content !== undefined) {
    if (!Array.isArray(b.content)) bad('"content" must be a WebQQ content array (font first)');
    content = b.content as unknown[];
  } else {
    content = [structuredClone(DEFAULT_FONT)];
    if (b.text !== undefined) {
      if (typeof b.text !== 'string') bad('"text" must be a string');
      content.push(b.text);
    }
    if (b.faces !== undefined) {
      if (!Array.isArray(b.faces)) bad('"faces" must be an array of face ids');
      for (const f of b.faces as unknown[]) content.push(['face', num(f, 'face id')]);
    }
  }
  const img = b.image as { name?: unknown; data?: unknown; mime?: unknown } | undefined;
  const imageData = () => {
    if (typeof img!.data !== 'string' || !img!.data) bad('"image.data" must be base64');
    return { data: Buffer.from(img!.data as string, 'base64'), mime: typeof img!.mime === 'string' ? img!.mime : 'image/jpeg' };
  };
  let ev: PollEvent;
  if (b.group !== undefined) {
    const number = num(b.group, 'group');
    const g = state.world.groups.find((x) => x.number === number) ?? bad(`no group ${number}`);
    if (!g.members.some((m) => m.qq === s.qq)) bad(`account ${s.qq} is not in group ${number}`);
    const from = num(b.from, 'from');
    if (!g.members.some((m) => m.qq === from)) bad(`${from} is not a member of group ${number}`);
    if (img) content.push(['cface', storeGroupPic(state, s, s.ids.group(number).code, imageData(), img.name)]);
    ev = groupMessage(state, s, number, s.ids.uin(from), content);
  } else if (b.discussion !== undefined) {
    const d = state.world.discussions.find((x) => x.name === b.discussion) ?? bad(`no discussion ${JSON.stringify(b.discussion)}`);
    if (!d.members.includes(s.qq)) bad(`account ${s.qq} is not in discussion ${d.name}`);
    const from = num(b.from, 'from');
    if (!d.members.includes(from)) bad(`${from} is not a member of discussion ${d.name}`);
    if (img) content.push(['cface', storeGroupPic(state, s, s.ids.did(d.name), imageData(), img.name)]);
    ev = discuMessage(state, s, d.name, s.ids.uin(from), content);
  } else {
    const buddy = num(b.buddy, 'buddy');
    if (!(state.world.friends[String(s.qq)] ?? []).includes(buddy)) bad(`${buddy} is not a friend of ${s.qq}`);
    if (b.from !== undefined && num(b.from, 'from') !== buddy) bad('"from" of a buddy message is the buddy');
    if (img) {
      const file_path = `/${randomUUID()}`;
      state.images.set(`offpic:${file_path}`, imageData());
      content.push(['offpic', { success: 1, file_path }]);
    }
    ev = buddyMessage(s, s.ids.uin(buddy), content);
  }
  s.queue.push(ev);
  s.wake();
  return { msg_id: ev.value.msg_id as number };
}

function storeGroupPic(state: SimState, s: Session, owner: number, img: { data: Buffer; mime: string }, name: unknown): Record<string, unknown> {
  const file_id = randomInt(1_000_000_000, 4_000_000_000);
  const picName = typeof name === 'string' && name ? name : `{${randomUUID().toUpperCase()}}.jpg`;
  state.images.set(`cface:${file_id}:${picName}`, { ...img, owner: `${s.serial}:${owner}` });
  return { name: picName, file_id, key: randomFrom(ALNUM, 16), server: `123.138.${randomInt(1, 255)}.${randomInt(1, 255)}:8000` };
}

/** POST /event: `{"$uin":qq}`, `{"$gid":n}`, `{"$code":n}`, `{"$did":"name"}` become this session's ids. */
function substitute(s: Session, v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => substitute(s, x));
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1) {
      if (keys[0] === '$uin') return s.ids.uin(num(o.$uin, '$uin'));
      if (keys[0] === '$gid') return s.ids.group(num(o.$gid, '$gid')).gid;
      if (keys[0] === '$code') return s.ids.group(num(o.$code, '$code')).code;
      if (keys[0] === '$did') return s.ids.did(String(o.$did));
    }
    return Object.fromEntries(keys.map((k) => [k, substitute(s, o[k])]));
  }
  return v;
}

function member(state: SimState, b: Body): void {
  const number = num(b.group, 'group');
  const g = state.world.groups.find((x) => x.number === number) ?? bad(`no group ${number}`);
  const join = b.join !== undefined;
  const who = num(join ? b.join : b.leave, join ? 'join' : 'leave');
  const inGroup = g.members.some((m) => m.qq === who);
  if (join === inGroup) bad(`${who} is ${inGroup ? 'already' : 'not'} in group ${number}`);
  const notify = () =>
    [...state.current.values()].filter((s) => !s.dead && g.members.some((m) => m.qq === s.qq) && s.qq !== who);
  if (join) {
    if (!state.world.users.some((u) => u.qq === who) && !state.account(who)) state.world.users.push({ qq: who, nick: typeof b.nick === 'string' ? b.nick : String(who) });
    g.members.push({ qq: who });
  }
  for (const s of notify()) {
    s.queue.push(memberChange(state, s, number, who, join));
    s.wake();
  }
  if (!join) g.members = g.members.filter((m) => m.qq !== who);
}

/** `{"api":{"endpoint":…,"http"|"retcode":…,"times":n}}`: may be set before the account logs in. */
function apiFault(state: SimState, af: Body, to: unknown): void {
  if (typeof af.endpoint !== 'string' || !API_FAULT_ENDPOINTS.includes(af.endpoint)) bad(`api.endpoint must be one of ${API_FAULT_ENDPOINTS.join(', ')}`);
  const endpoint = af.endpoint as string;
  const times = af.times === undefined ? 1 : num(af.times, 'api.times');
  const account = to === undefined || to === null ? {} : { account: num(to, 'to') };
  if (af.http !== undefined) {
    const status = num(af.http, 'api.http');
    if (!SEND_FAULT_HTTP.includes(status)) bad(`api.http must be one of ${SEND_FAULT_HTTP.join(', ')}`);
    state.apiFaults.push({ endpoint, http: status, times, ...account });
  } else state.apiFaults.push({ endpoint, retcode: af.retcode === undefined ? 100000 : num(af.retcode, 'api.retcode'), times, ...account });
}

function fault(state: SimState, b: Body): void {
  if (b.api !== undefined) return apiFault(state, b.api as Body, b.to);
  const s = state.target(b.to);
  if (b.poll !== undefined) {
    const p = b.poll as Body;
    const retcode = num(p.retcode, 'poll.retcode');
    if (!POLL_FAULT_RETCODES.includes(retcode)) bad(`poll.retcode must be one of ${POLL_FAULT_RETCODES.join(', ')}`);
    s.faults.push(typeof p.p === 'string' ? { kind: 'retcode', retcode, p: p.p } : { kind: 'retcode', retcode });
  } else if (b.http !== undefined) {
    const status = num(b.http, 'http');
    if (![502, 504, 404].includes(status)) bad('http must be 502, 504 or 404');
    s.faults.push({ kind: 'http', status });
  } else if (b.body !== undefined) {
    if (typeof b.body !== 'string') bad('body must be a string');
    s.faults.push({ kind: 'body', body: b.body as string });
  } else if (b.duplicate === true) s.batchMods.duplicate = true;
  else if (b.outOfOrder === true) s.batchMods.outOfOrder = true;
  else if (b.kick === true) s.queue.push(kickMessage(s));
  else if (b.refuse !== undefined) {
    // A risk-control window: every send of this account answered 1202, not delivered, for forMs.
    const forMs = num((b.refuse as Body).forMs, 'refuse.forMs');
    state.refusingUntil.set(s.qq, Date.now() + forMs);
    return;
  }
  else if (b.send !== undefined) {
    const sf = b.send as Body;
    const times = sf.times === undefined ? 1 : num(sf.times, 'send.times');
    const after = sf.after === undefined ? {} : { after: num(sf.after, 'send.after') };
    if (sf.http !== undefined) {
      // A gateway in front of the channel server failing: the send never reached it.
      const status = num(sf.http, 'send.http');
      if (!SEND_FAULT_HTTP.includes(status)) bad(`send.http must be one of ${SEND_FAULT_HTTP.join(', ')}`);
      s.sendFaults.push({ http: status, times, ...after });
    } else if (sf.body !== undefined) {
      if (typeof sf.body !== 'string') bad('send.body must be a string');
      s.sendFaults.push({ body: sf.body as string, times, ...after });
    } else {
      const retcode = num(sf.retcode, 'send.retcode');
      if (!SEND_FAULT_RETCODES.includes(retcode)) bad(`send.retcode must be one of ${SEND_FAULT_RETCODES.join(', ')}`);
      s.sendFaults.push({ retcode, times, ...after });
    }
    return;
  } else bad('unknown fault: give poll, http, body, duplicate, outOfOrder, kick, refuse, send or api');
  s.wake();
}

export interface ControlServer {
  server: Server;
  close(): Promise<void>;
}

export function createControlServer(state: SimState, webqq: WebqqServer): ControlServer {
  let scenario: NodeJS.Timeout | null = null;
  const stopScenario = () => {
    if (scenario) clearTimeout(scenario);
    scenario = null;
  };
  const play = (steps: { afterMs: number; inject: Body }[], loop: boolean) => {
    stopScenario();
    let i = 0;
    const next = () => {
      if (i >= steps.length) {
        if (!loop) return stopScenario();
        i = 0;
      }
      const step = steps[i++]!;
      scenario = setTimeout(() => {
        try {
          inject(state, step.inject);
        } catch (e) {
          state.cfg.log.warn({ err: e }, 'webqq simulator: scenario inject skipped');
        }
        next();
      }, step.afterMs);
    };
    next();
  };

  const handle = (method: string, path: string, query: URLSearchParams, b: Body): unknown => {
    const key = `${method} ${path}`;
    switch (key) {
      case 'POST /inject':
        return inject(state, b);
      case 'POST /event': {
        const s = state.target(b.to);
        if (typeof b.poll_type !== 'string' || !b.value || typeof b.value !== 'object') bad('give "poll_type" and "value"');
        s.queue.push({ poll_type: b.poll_type as string, value: substitute(s, b.value) as Record<string, unknown> });
        s.wake();
        return { ok: true };
      }
      case 'POST /member':
        member(state, b);
        return { ok: true };
      case 'POST /fault':
        fault(state, b);
        return { ok: true };
      case 'POST /self-echo':
        state.selfEcho = b.on === true;
        return { ok: true };
      case 'POST /captcha': {
        const qq = num(b.qq, 'qq');
        if (b.required === false) state.captchaRequired.delete(qq);
        else state.captchaRequired.add(qq);
        return { ok: true };
      }
      case 'GET /captcha': {
        const qq = num(query.get('qq'), 'qq');
        const c = [...state.checks.values()].filter((x) => x.qq === qq && x.captcha && !x.used).sort((a, z) => z.at - a.at)[0];
        if (!c) bad(`no pending captcha for ${qq}`);
        return { code: c!.vc };
      }
      case 'POST /qr/scan': {
        const c = newestQr(state);
        if (c.state !== 'created') bad(`QR code is ${c.state}, cannot scan`);
        c.state = 'scanned';
        return { ok: true };
      }
      case 'POST /qr/confirm': {
        const qq = num(b.qq, 'qq');
        if (!state.account(qq)) bad(`${qq} is not an account of the world`);
        const c = newestQr(state);
        if (c.state !== 'created' && c.state !== 'scanned') bad(`QR code is ${c.state}, cannot confirm`);
        c.state = 'confirmed';
        c.qq = qq;
        return { ok: true };
      }
      case 'POST /qr/expire':
        newestQr(state).state = 'expired';
        return { ok: true };
      case 'GET /requests':
        return Object.fromEntries(state.requestCounts);
      case 'GET /sent':
        return state.sent;
      case 'DELETE /sent':
        state.sent.length = 0;
        return { ok: true };
      case 'GET /send-attempts':
        return state.sendAttempts;
      case 'GET /violations':
        return state.violations;
      case 'DELETE /violations':
        state.violations.length = 0;
        return { ok: true };
      case 'GET /state':
        return {
          sessions: [...state.current.values()].map((s) => ({
            qq: s.qq,
            online: s.channelOnline && !s.dead,
            status: s.status,
            ptwebqq: s.ptwebqq,
            clientid: s.clientid,
            polls: s.polls,
            logins: s.logins,
            relinks: s.relinks,
          })),
        };
      case 'POST /scenario': {
        if (!Array.isArray(b.steps)) bad('"steps" must be an array');
        const steps = (b.steps as Body[]).map((st, i) => {
          if (!st.inject || typeof st.inject !== 'object') bad(`steps.${i}.inject missing`);
          return { afterMs: st.afterMs === undefined ? 0 : num(st.afterMs, `steps.${i}.afterMs`), inject: st.inject as Body };
        });
        play(steps, b.loop === true);
        return { ok: true, steps: steps.length };
      }
      case 'POST /down':
        webqq.down(num(b.ms, 'ms'));
        return { ok: true };
      default:
        throw Object.assign(new BadRequest(`unknown control endpoint ${key}`), { status: 404 });
    }
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (status: number, obj: unknown) => {
        const body = JSON.stringify(obj);
        res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
      };
      try {
        const u = new URL(req.url ?? '/', 'http://x');
        const text = Buffer.concat(chunks).toString('utf8');
        let b: Body = {};
        if (text.trim()) {
          try {
            b = JSON.parse(text) as Body;
          } catch {
            bad('request body is not JSON');
          }
          if (!b || typeof b !== 'object' || Array.isArray(b)) bad('request body must be a JSON object');
        }
        reply(200, handle(req.method ?? 'GET', u.pathname, u.searchParams, b));
      } catch (e) {
        const status = (e as { status?: number }).status ?? 400;
        reply(status, { error: (e as Error).message });
      }
    });
  });
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        stopScenario();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
