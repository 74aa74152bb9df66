/**
 * The protocol code the client and the simulator share: WebQQ's password scheme, list hashes and
 * small token hashes (reference §1.1.3, §1.3.3, §1.3.8, §2.13). Pure functions, pinned by the
 * reference's test vectors (protocol-crypto.test.ts). It is the only client module the simulator
 * may import; everything else the simulator does it reads from the reference on its own, so a
 * client bug is not mirrored by the server.
 */
import { createHash } from 'node:crypto';

export {
  openRsaTeaPassword, qqTeaDecrypt, qqTeaEncrypt, QqTeaError, rsaTeaKeys, rsaTeaPassword, SMARTQQ_RSA_EXPONENT, SMARTQQ_RSA_MODULUS,
  type RsaTeaOptions,
} from './qq-tea.js';

const HEX = '0123456789ABCDEF';

/**
 * Tencent's JS md5 hashes the low byte of every UTF-16 code unit (not UTF-8); matching it makes
 * non-ASCII passwords give the same `p` as the browser did.
 */
function jsLowBytes(s: string): Buffer {
  const out = Buffer.alloc(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

function md5(data: Uint8Array): Buffer {
  return createHash('md5').update(data).digest();
}

/** `ptui_checkVC` arg 3 (`\x00\x00\x00\x00\xa5\x13\xed\x18`) → its 8 bytes. */
export function parseSalt(escaped: string): Uint8Array {
  const m = /^(?:\\x[0-9a-fA-F]{2}){8}$/.exec(escaped.trim());
  if (!m) throw new Error(`invalid ptlogin salt (expected 8 \\xHH escapes): ${JSON.stringify(escaped.slice(0, 40))}`);
  const out = new Uint8Array(8);
  for (let i = 0; i < 8; i++) out[i] = parseInt(escaped.trim().slice(i * 4 + 2, i * 4 + 4), 16);
  return out;
}

/** The usual salt: the QQ number as an 8-byte big-endian integer. */
export function saltFromUin(uin: number): Uint8Array {
  if (!Number.isSafeInteger(uin) || uin < 0) throw new Error(`invalid QQ number for salt: ${uin}`);
  const out = new Uint8Array(8);
  let v = BigInt(uin);
  for (let i = 7; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** The same salt in the escaped form ptlogin writes it (for the simulator and for logs). */
export function formatSalt(salt: Uint8Array): string {
  return Array.from(salt, (b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');
}

/** Era A `p` (§1.1.3): HEX(MD5(HEX(MD5(MD5raw(pwd) ‖ salt)) + UPPER(vc))). */
export function md5Password(password: string, salt: Uint8Array, verifyCode: string): string {
  if (salt.length !== 8) throw new Error(`ptlogin salt must be 8 bytes, got ${salt.length}`);
  const h1 = md5(jsLowBytes(password));
  const h2 = md5(Buffer.concat([h1, Buffer.from(salt)])).toString('hex').toUpperCase();
  return md5(jsLowBytes(h2 + verifyCode.toUpperCase())).toString('hex').toUpperCase();
}

function hexBytes(bytes: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]! & 0xff;
    s += HEX[b >> 4]! + HEX[b & 15]!;
  }
  return s;
}

function uinBytes(uin: number): [number, number, number, number] {
  const u = uin >>> 0;
  return [(u >>> 24) & 255, (u >>> 16) & 255, (u >>> 8) & 255, u & 255];
}

/** hashP "EC/OK" (2012-07 → 2014-05 and 2015-03 → 2019). */
export function hashP(uin: number, ptwebqq: string): string {
  const n = [0, 0, 0, 0];
  for (let i = 0; i < ptwebqq.length; i++) n[i % 4]! ^= ptwebqq.charCodeAt(i);
  const ec = 'ECOK';
  const u = uinBytes(uin);
  const v = u.map((b, i) => b ^ ec.charCodeAt(i));
  const out: number[] = [];
  for (let i = 0; i < 4; i++) out.push(n[i]!, v[i]!);
  return hexBytes(out);
}

/** hashO "password error" (2012-04 → 2012-07 and 2014-06 → 2015-03). */
export function hashO(uin: number, ptwebqq: string): string {
  const a = ptwebqq + 'password error';
  const digits = String(uin >>> 0);
  let s = '';
  while (s.length < a.length) s += digits;
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) out.push(s.charCodeAt(i) ^ a.charCodeAt(i));
  return hexBytes(out);
}

/** hashQ "quicksort" (2014-05 → 2014-06): the sort's step counts drive a 4-byte state. */
export function hashQ(uin: number, ptwebqq: string): string {
  const j = uinBytes(uin);
  const a: number[] = [];
  for (let i = 0; i < ptwebqq.length; i++) a.push(ptwebqq.charCodeAt(i));
  const stack: Array<{ s: number; e: number }> = [{ s: 0, e: a.length - 1 }];
  while (stack.length > 0) {
    const r = stack.pop()!;
    if (r.s >= r.e || r.s < 0 || r.e >= a.length) continue;
    if (r.s + 1 === r.e) {
      if (a[r.s]! > a[r.e]!) {
        const t = a[r.s]!;
        a[r.s] = a[r.e]!;
        a[r.e] = t;
      }
      continue;
    }
    const lo0 = r.s;
    const hi0 = r.e;
    let lo = r.s;
    let hi = r.e;
    const pivot = a[lo]!;
    while (lo < hi) {
      while (lo < hi && a[hi]! >= pivot) {
        hi--;
        j[0] = (j[0] + 3) & 255;
      }
      if (lo < hi) {
        a[lo] = a[hi]!;
        lo++;
        j[1] = (j[1] * 13 + 43) & 255;
      }
      while (lo < hi && a[lo]! <= pivot) {
        lo++;
        j[2] = (j[2] - 3) & 255;
      }
      if (lo < hi) {
        a[hi] = a[lo]!;
        hi--;
        j[3] = (j[0] ^ j[1] ^ j[2] ^ (j[3] + 1)) & 255;
      }
    }
    a[lo] = pivot;
    stack.push({ s: lo0, e: lo - 1 });
    stack.push({ s: lo + 1, e: hi0 });
  }
  return hexBytes(j);
}

/** hashN "window XOR" (≤ 2012-04; reconstructed from the lwqq port). */
export function hashN(uin: number, ptwebqq: string): string {
  const len = ptwebqq.length;
  if (len === 0) throw new Error('hashN is undefined for an empty ptwebqq');
  // JS `NaN & 255` is 0: characters past the end count as zero bytes.
  const at = (i: number) => (i >= 0 && i < len ? ptwebqq.charCodeAt(i) & 255 : 0);
  let k = 0xffffffff;
  let b = 0;
  for (const ch of String(uin >>> 0)) {
    b = (b + Number(ch)) % len;
    let f = 0;
    if (b + 4 > len) {
      const g = 4 + b - len;
      for (let h = 0; h < 4; h++) f = (f << 8) | (h < g ? at(b + h) : at(h - g));
    } else {
      for (let h = 0; h < 4; h++) f = (f << 8) | at(b + h);
    }
    k = (k ^ f) >>> 0;
  }
  return hexBytes(uinBytes(k));
}

export type HashVersion = 'P' | 'O' | 'Q' | 'N';
/** The order a client tries hash versions in when a list call answers retcode 50. */
export const HASH_VERSIONS: readonly HashVersion[] = ['P', 'O', 'Q', 'N'];

export function listHash(version: HashVersion, uin: number, ptwebqq: string): string {
  switch (version) {
    case 'P':
      return hashP(uin, ptwebqq);
    case 'O':
      return hashO(uin, ptwebqq);
    case 'Q':
      return hashQ(uin, ptwebqq);
    case 'N':
      return hashN(uin, ptwebqq);
    default:
      throw new Error(`unknown list hash version: ${String(version)}`);
  }
}

/** ptqrtoken = hash33(qrsig) (§1.3.3). */
export function hash33(s: string): number {
  let e = 0;
  for (let i = 0; i < s.length; i++) e = (e * 33 + s.charCodeAt(i)) >>> 0;
  return e & 0x7fffffff;
}

/** pt4_auth auth_token = time33(supertoken) (§1.3.8): like hash33 without the 31-bit mask. */
export function time33(s: string): number {
  let e = 0;
  for (let i = 0; i < s.length; i++) e = (Math.imul(e, 33) + s.charCodeAt(i)) >>> 0;
  return e;
}

/** bkn / g_tk of an skey (§2.13.4), for qun.qq.com helper APIs. */
export function bkn(skey: string): number {
  let e = 5381;
  for (let i = 0; i < skey.length; i++) e = (Math.imul(e, 33) + skey.charCodeAt(i)) >>> 0;
  return e & 0x7fffffff;
}
