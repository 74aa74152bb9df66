/**
 * Per-account login sessions: the cookies ptlogin issued, the channel binding (clientid ↔
 * psessionid), the session-scoped ids, the poll queue and the faults waiting for the next poll
 * or send. One `Session` is one ptlogin success (password, QR or pt4_auth); login2 binds a
 * channel to it and relink rebinds it.
 */
import { randomBytes, randomInt, type KeyObject } from 'node:crypto';
import type { HashVersion } from '../connectors/qq/webqq/protocol-crypto.js';
import type { Logger } from '../log.js';
import type { World, WorldAccount } from './world.js';

export type Era = 'A' | 'C';

export interface SimulatorConfig {
  hashVersion: HashVersion;
  pollHoldMs: number;
  requireWarmup: boolean;
  qrLifetimeMs: number;
  /**
   * SmartQQ password login (Era B): the private key whose public half the client encrypts MD5(pwd)
   * to. Without it the RSA block cannot be opened (Tencent's key) and only its size is checked;
   * the TEA layer around it proves the password either way.
   */
  smartqqRsaKey?: KeyObject | undefined;
  log: Logger;
}

export interface Violation {
  host: string;
  path: string;
  rule: string;
  detail: string;
  at: number;
}

export interface SentRecord {
  endpoint: 'send_qun_msg2' | 'send_discu_msg2' | 'send_buddy_msg2' | 'send_sess_msg2';
  account: number;
  group?: number;
  discussion?: string;
  buddy?: number;
  /** send_sess_msg2: the member written to (through `group` or `discussion`). */
  sess?: number;
  msg_id: number;
  content: unknown[];
  text: string;
  faces: number[];
  images: string[];
  at: number;
}

export interface PollEvent {
  poll_type: string;
  value: Record<string, unknown>;
}

export type PollFault =
  | { kind: 'retcode'; retcode: number; p?: string }
  | { kind: 'http'; status: number }
  | { kind: 'body'; body: string };

export interface StoredImage {
  data: Buffer;
  mime: string;
  /** group pictures: `<session serial>:<group code | did>` that may download it */
  owner?: string;
}

// ---------------------------------------------------------------- random helpers

export function randomHex(n: number, upper = false): string {
  const s = randomBytes(Math.ceil(n / 2)).toString('hex').slice(0, n);
  return upper ? s.toUpperCase() : s;
}
export function randomFrom(alphabet: string, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}
export const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** ptlogin-style token characters (qrsig, ptsigx-like values, verifysession). */
export const PT_ALPHABET = `${ALNUM}*-_`;

/** skey as the real server made it: "@" + 9 characters. */
export function newSkey(): string {
  return `@${randomFrom(ALNUM, 9)}`;
}

/**
 * psessionid as the real server made it (§0.2): hex of an Erlang `term_to_binary` of
 * {Pid, Uin, Skey, Vfwebqq}; the seed's values decode exactly this way.
 */
export function erlangPsessionid(uin: number, skey: string, vfwebqq: string): string {
  const node = Buffer.from(`connserver_webqq@10.133.${randomInt(1, 255)}.${randomInt(1, 255)}`, 'latin1');
  const parts: Buffer[] = [Buffer.from([0x83, 0x68, 0x04, 0x67, 0x64]), u16(node.length), node];
  parts.push(u32(randomInt(0, 0x7fff)), u32(randomInt(0, 0xfff)), Buffer.from([randomInt(0, 4)]));
  if (uin <= 0x7fffffff) parts.push(Buffer.from([0x62]), u32(uin));
  else {
    const le = Buffer.alloc(4);
    le.writeUInt32LE(uin >>> 0);
    parts.push(Buffer.from([0x6e, 0x04, 0x00]), le);
  }
  const sk = Buffer.from(skey, 'latin1');
  parts.push(Buffer.from([0x6d]), u32(sk.length), sk);
  const vf = Buffer.from(vfwebqq, 'hex');
  parts.push(Buffer.from([0x6d]), u32(vf.length), vf);
  return Buffer.concat(parts).toString('hex');
}
function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

// ---------------------------------------------------------------- session-scoped ids

/**
 * The opaque ids of one login. The own account's uin is its QQ number (login2 answers it so);
 * everything else gets a fresh random 32-bit value, as the real server did at every login.
 */
export class IdMap {
  private used = new Set<number>();
  private uinByQq = new Map<number, number>();
  private qqByUin = new Map<number, number>();
  private gidByNumber = new Map<number, { gid: number; code: number }>();
  private numberByGid = new Map<number, number>();
  private numberByCode = new Map<number, number>();
  private didByName = new Map<string, number>();
  private nameByDid = new Map<number, string>();

  constructor(self: number) {
    this.used.add(self);
    this.uinByQq.set(self, self);
    this.qqByUin.set(self, self);
  }

  private fresh(): number {
    for (;;) {
      const n = randomInt(100_000_000, 0xffffffff);
      if (!this.used.has(n)) {
        this.used.add(n);
        return n;
      }
    }
  }
  uin(qq: number): number {
    let u = this.uinByQq.get(qq);
    if (u === undefined) {
      u = this.fresh();
      this.uinByQq.set(qq, u);
      this.qqByUin.set(u, qq);
    }
    return u;
  }
  qqOfUin(uin: number): number | undefined {
    return this.qqByUin.get(uin);
  }
  group(number: number): { gid: number; code: number } {
    let g = this.gidByNumber.get(number);
    if (!g) {
      g = { gid: this.fresh(), code: this.fresh() };
      this.gidByNumber.set(number, g);
      this.numberByGid.set(g.gid, number);
      this.numberByCode.set(g.code, number);
    }
    return g;
  }
  groupByGid(gid: number): number | undefined {
    return this.numberByGid.get(gid);
  }
  groupByCode(code: number): number | undefined {
    return this.numberByCode.get(code);
  }
  did(name: string): number {
    let d = this.didByName.get(name);
    if (d === undefined) {
      d = this.fresh();
      this.didByName.set(name, d);
      this.nameByDid.set(d, name);
    }
    return d;
  }
  discussionByDid(did: number): string | undefined {
    return this.nameByDid.get(did);
  }
  /** An id that is nobody's (self-echo sender, §5.5). */
  unknown(): number {
    return this.fresh();
  }
}

// ---------------------------------------------------------------- the session

export interface PollWaiter {
  answer: () => boolean;
  /** Answers the held poll at once (default 103: the session it belonged to is gone). */
  cancel: (retcode?: number) => void;
}

let serial = 0;

export class Session {
  readonly serial = ++serial;
  readonly ids: IdMap;
  readonly createdAt = Date.now();
  era: Era;
  // cookies issued by ptlogin / check_sig
  skey = newSkey();
  ptwebqq = randomHex(64);
  superkey = randomFrom(PT_ALPHABET, 44);
  supertoken = String(randomInt(100_000_000, 2_000_000_000));
  ptcz = randomHex(64);
  rk = randomFrom(ALNUM, 10);
  pSkey = randomFrom(PT_ALPHABET, 44);
  pt4Token = randomFrom(PT_ALPHABET, 24);
  /** The one-shot check_sig URL signature; null once used. */
  ptsigx: string | null = randomHex(128);
  checkSigDone = false;
  /** Security-check page (§1.3.4): the token its mibao_res link carries, and where it leads next. */
  mibaoToken: string | null = null;
  mibaoNext = '';
  // channel
  vfwebqq: string | null = null;
  clientid: string | null = null;
  psessionid: string | null = null;
  psessionValid = false;
  channelOnline = false;
  /** The D host login2 was called on; every channel call must use it. */
  dHost: string | null = null;
  /** The virtual sender of self-echoed group/discussion messages (not in any member list). */
  echoUin: number;
  /** Set by kick, fault 100, logout: only a new ptlogin login helps. */
  dead = false;
  warmedUp = false;
  status = 'online';
  lastMsgId: number | null = null;
  polls = 0;
  logins = 0;
  relinks = 0;
  queue: PollEvent[] = [];
  faults: PollFault[] = [];
  batchMods = { duplicate: false, outOfOrder: false };
  /** What the next sends meet: a retcode, or (not delivered) an HTTP error page or a non-JSON body. */
  /** `after`: sends to let through untouched first (to fail the 2nd piece of a split message). */
  sendFaults: ({ times: number; after?: number } & ({ retcode: number } | { http: number } | { body: string }))[] = [];
  waiter: PollWaiter | null = null;
  /** cface names this session uploaded (md5 name → size). */
  uploads = new Map<string, number>();
  /** get_c2cmsg_sig2 answers: sig → whom it lets this session write to, through which room. */
  c2cSigs = new Map<string, { to: number; group?: number; discussion?: string }>();
  gface = { key: randomFrom(ALNUM, 16), sig: randomHex(96) };
  private nextMsgId = randomInt(10_000, 60_000);
  private groupSeq = new Map<number, number>();

  constructor(
    readonly account: WorldAccount,
    era: Era,
  ) {
    this.ids = new IdMap(account.qq);
    this.era = era;
    this.echoUin = this.ids.unknown();
  }

  get qq(): number {
    return this.account.qq;
  }
  msgIds(): { msg_id: number; msg_id2: number } {
    this.nextMsgId += 1;
    return { msg_id: this.nextMsgId, msg_id2: randomInt(100_000, 999_999) };
  }
  seqFor(group: number): number {
    const s = (this.groupSeq.get(group) ?? randomInt(1, 50)) + 1;
    this.groupSeq.set(group, s);
    return s;
  }
  /** Wakes a held poll so it can deliver what just arrived. */
  wake(): void {
    const w = this.waiter;
    if (w) setImmediate(() => this.waiter === w && w.answer());
  }
}

// ---------------------------------------------------------------- simulator state

export interface PendingCheck {
  qq: number;
  vc: string;
  salt: Uint8Array;
  captcha: boolean;
  /** 'B': SmartQQ's password login (appid 501004106, pt_tea=1); 'A': WebQQ's. */
  era: 'A' | 'B';
  capCd: string;
  /** verifysession cookie bound to the latest captcha image; null until getimage is fetched. */
  verifysession: string | null;
  used: boolean;
  at: number;
}

export interface QrCode {
  qrsig: string;
  state: 'created' | 'scanned' | 'confirmed' | 'used' | 'expired';
  qq: number | null;
  createdAt: number;
}

export class SimState {
  readonly violations: Violation[] = [];
  readonly sent: SentRecord[] = [];
  /**
   * Risk control: until this time (ms since the epoch) per account, every send is answered 1202 and
   * not delivered — how WebQQ answered a blocked account (protocol reference §4.6).
   */
  readonly refusingUntil = new Map<number, number>();
  /** Requests answered, by path (tests and benchmarks count what a client asks, e.g. at login). */
  readonly requestCounts = new Map<string, number>();
  /** Every send attempt and its outcome, in order (tests count attempts during a refusal window). */
  readonly sendAttempts: { account: number; at: number; outcome: 'accepted' | 'refused' | 'fault' }[] = [];
  /** skey cookie → session (current and replaced ones; replaced are `dead`). */
  readonly bySkey = new Map<string, Session>();
  /** account QQ → current session */
  readonly current = new Map<number, Session>();
  /** ptvfsession cookie → pending check */
  readonly checks = new Map<string, PendingCheck>();
  readonly captchaRequired = new Set<number>();
  readonly loginSigs = new Set<string>();
  readonly qrcodes: QrCode[] = [];
  readonly images = new Map<string, StoredImage>();
  selfEcho = false;
  /**
   * What the next calls to one s.web2 API endpoint (last path segment) meet, for every account or
   * one; kept here rather than on a session so a fault can be set before the login that meets it.
   */
  readonly apiFaults: ({ endpoint: string; times: number; account?: number } & ({ retcode: number } | { http: number }))[] = [];
  private discuSeq = new Map<string, number>();

  constructor(
    public world: World,
    readonly cfg: SimulatorConfig,
  ) {}

  violation(host: string, path: string, rule: string, detail: string): void {
    this.violations.push({ host, path, rule, detail, at: Date.now() });
    this.cfg.log.warn({ host, path, rule }, `webqq simulator: protocol violation: ${detail}`);
  }

  /** A discussion's member-list version (get_discu_info info_seq, discu_message info_seq). */
  discussionSeq(name: string): number {
    return this.discuSeq.get(name) ?? 2;
  }

  account(qq: number): WorldAccount | undefined {
    return this.world.accounts.find((a) => a.qq === qq);
  }

  /** A ptlogin success: a fresh session replaces the account's previous one. */
  newSession(account: WorldAccount, era: Era): Session {
    const old = this.current.get(account.qq);
    if (old) this.retire(old);
    const s = new Session(account, era);
    this.current.set(account.qq, s);
    this.bySkey.set(s.skey, s);
    return s;
  }

  retire(s: Session): void {
    s.dead = true;
    s.channelOnline = false;
    s.psessionValid = false;
    s.waiter?.cancel();
  }

  /** Session for `to` (or the only logged-in account); throws a message for the control API. */
  target(to: unknown): Session {
    if (to !== undefined && to !== null) {
      const s = this.current.get(Number(to));
      if (!s || s.dead) throw new Error(`account ${String(to)} has no live session`);
      return s;
    }
    const live = [...this.current.values()].filter((s) => !s.dead);
    if (live.length === 1) return live[0]!;
    if (!live.length) throw new Error('no account is logged in');
    throw new Error(`several accounts are logged in (${live.map((s) => s.qq).join(', ')}): give "to"`);
  }
}
