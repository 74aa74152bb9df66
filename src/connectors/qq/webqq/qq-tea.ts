/**
 * SmartQQ's 2014-12 → 2015-09 password scheme "RSA then TEA" (reference §1.2.1), and QQ-TEA
 * ("OICQ TEA": 16 rounds, big-endian words, QQ's own padding and block chaining). Pure: the
 * random bytes come in as a parameter so the reference's deterministic vector can pin it.
 * Re-exported by protocol-crypto.ts, the one client module the simulator may import.
 */
import { createHash, createPublicKey, constants, publicEncrypt, randomBytes } from 'node:crypto';

const DELTA = 0x9e3779b9;
const ROUNDS = 16;

/** Tencent's 1024-bit public key of c_login/mq_comm.js (e = 3). */
export const SMARTQQ_RSA_MODULUS =
  'F20CE00BAE5361F8FA3AE9CEFA495362FF7DA1BA628F64A347F0A8C012BF0B254A30CD92ABFFE7A6EE0DC424CB6166F8819EFA5BCCB20EDFB4AD02E412CCF579B1CA711D55B8B0B3AEB60153D5E0693A2A86F3167D7847A0CB8B00004716A9095D9BADC977CBB804DBDCBA6029A9710869A453F27DFDDF83C016D928B3CBF4C7';
export const SMARTQQ_RSA_EXPONENT = 3;

export class QqTeaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QqTeaError';
  }
}

function keyWords(key: Uint8Array): [number, number, number, number] {
  if (key.length !== 16) throw new QqTeaError(`QQ-TEA key must be 16 bytes, got ${key.length}`);
  const v = Buffer.from(key);
  return [v.readUInt32BE(0), v.readUInt32BE(4), v.readUInt32BE(8), v.readUInt32BE(12)];
}

function encipher(block: Buffer, k: readonly number[]): Buffer {
  let y = block.readUInt32BE(0);
  let z = block.readUInt32BE(4);
  let sum = 0;
  for (let i = 0; i < ROUNDS; i++) {
    sum = (sum + DELTA) >>> 0;
    y = (y + ((((z << 4) >>> 0) + k[0]!) ^ (z + sum) ^ ((z >>> 5) + k[1]!))) >>> 0;
    z = (z + ((((y << 4) >>> 0) + k[2]!) ^ (y + sum) ^ ((y >>> 5) + k[3]!))) >>> 0;
  }
  const out = Buffer.alloc(8);
  out.writeUInt32BE(y, 0);
  out.writeUInt32BE(z, 4);
  return out;
}

function decipher(block: Buffer, k: readonly number[]): Buffer {
  let y = block.readUInt32BE(0);
  let z = block.readUInt32BE(4);
  let sum = (DELTA * ROUNDS) >>> 0;
  for (let i = 0; i < ROUNDS; i++) {
    z = (z - ((((y << 4) >>> 0) + k[2]!) ^ (y + sum) ^ ((y >>> 5) + k[3]!))) >>> 0;
    y = (y - ((((z << 4) >>> 0) + k[0]!) ^ (z + sum) ^ ((z >>> 5) + k[1]!))) >>> 0;
    sum = (sum - DELTA) >>> 0;
  }
  const out = Buffer.alloc(8);
  out.writeUInt32BE(y, 0);
  out.writeUInt32BE(z, 4);
  return out;
}

function xor8(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(8);
  for (let i = 0; i < 8; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/**
 * QQ-TEA encryption: `[(r & 0xF8) | pad]`, `pad` random bytes, 2 random bytes, the plaintext,
 * 7 zero bytes; each block `C = TEA(P ^ prevC) ^ prevX`.
 */
export function qqTeaEncrypt(key: Uint8Array, plain: Uint8Array, random: (n: number) => Uint8Array = randomBytes): Buffer {
  const k = keyWords(key);
  let pad = (plain.length + 10) % 8;
  if (pad) pad = 8 - pad;
  const head = Buffer.from(random(1 + pad + 2));
  head[0] = (head[0]! & 0xf8) | pad;
  const stream = Buffer.concat([head, Buffer.from(plain), Buffer.alloc(7)]);
  const out = Buffer.alloc(stream.length);
  let prevC: Buffer = Buffer.alloc(8);
  let prevX: Buffer = Buffer.alloc(8);
  for (let off = 0; off < stream.length; off += 8) {
    const x = xor8(stream.subarray(off, off + 8), prevC);
    const c = xor8(encipher(x, k), prevX);
    c.copy(out, off);
    prevC = c;
    prevX = x;
  }
  return out;
}

/** The inverse of qqTeaEncrypt; a wrong key or a damaged text fails its padding or zero tail. */
export function qqTeaDecrypt(key: Uint8Array, cipher: Uint8Array): Buffer {
  const k = keyWords(key);
  if (cipher.length < 16 || cipher.length % 8 !== 0) throw new QqTeaError(`QQ-TEA text must be a multiple of 8 bytes, at least 16, got ${cipher.length}`);
  const c = Buffer.from(cipher);
  const stream = Buffer.alloc(c.length);
  let prevC: Buffer = Buffer.alloc(8);
  let prevX: Buffer = Buffer.alloc(8);
  for (let off = 0; off < c.length; off += 8) {
    const block = c.subarray(off, off + 8);
    const x = decipher(xor8(block, prevX), k);
    xor8(x, prevC).copy(stream, off);
    prevC = Buffer.from(block);
    prevX = x;
  }
  const pad = stream[0]! & 7;
  const start = 1 + pad + 2;
  const end = stream.length - 7;
  if (end < start || stream.subarray(end).some((b) => b !== 0)) throw new QqTeaError('QQ-TEA text does not decrypt with this key (its zero tail is wrong)');
  return stream.subarray(start, end);
}

function md5(data: Uint8Array): Buffer {
  return createHash('md5').update(data).digest();
}

/** Tencent's JS md5 hashes the low byte of every UTF-16 code unit (as in the md5 scheme). */
function jsLowBytes(s: string): Buffer {
  const out = Buffer.alloc(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/** Steps 1-2 of §1.2.1: `h1 = MD5(password)` and the TEA key `bytes(HEX(MD5(h1 ‖ salt)))`. */
export function rsaTeaKeys(password: string, salt: Uint8Array): { h1: Buffer; teaKey: Buffer } {
  if (salt.length !== 8) throw new QqTeaError(`ptlogin salt must be 8 bytes, got ${salt.length}`);
  const h1 = md5(jsLowBytes(password));
  return { h1, teaKey: md5(Buffer.concat([h1, Buffer.from(salt)])) };
}

/** ptlogin's query-safe base64: `/`→`-`, `+`→`*`, `=`→`_`. */
export function ptBase64(data: Uint8Array): string {
  return Buffer.from(data).toString('base64').replace(/\//g, '-').replace(/\+/g, '*').replace(/=/g, '_');
}

export function fromPtBase64(text: string): Buffer {
  if (!/^[A-Za-z0-9*_-]*$/.test(text)) throw new QqTeaError('not ptlogin base64 (A-Z a-z 0-9 * - _)');
  return Buffer.from(text.replace(/-/g, '/').replace(/\*/g, '+').replace(/_/g, '='), 'base64');
}

export interface RsaTeaOptions {
  /** Hex modulus of the RSA key (default Tencent's); a simulator hands out its own. */
  modulusHex?: string;
  exponent?: number;
  /** Random bytes for the TEA padding (RSA padding always uses the system's). */
  random?: (n: number) => Uint8Array;
}

function rsaEncrypt(data: Uint8Array, modulusHex: string, exponent: number): Buffer {
  const b64url = (b: Buffer) => b.toString('base64url');
  let eHex = exponent.toString(16);
  if (eHex.length % 2) eHex = `0${eHex}`;
  const e = Buffer.from(eHex, 'hex');
  const key = createPublicKey({ key: { kty: 'RSA', n: b64url(Buffer.from(modulusHex, 'hex')), e: b64url(e) }, format: 'jwk' });
  return publicEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, data);
}

/** The TEA plaintext of §1.2.1 step 5: u16(len rsa) ‖ rsa ‖ salt ‖ u16(len vc) ‖ vc. */
export function rsaTeaPlaintext(rsaH1: Uint8Array, salt: Uint8Array, verifyCode: string): Buffer {
  const vc = Buffer.from(verifyCode.toUpperCase(), 'utf8');
  const u16 = (n: number) => {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(n);
    return b;
  };
  return Buffer.concat([u16(rsaH1.length), Buffer.from(rsaH1), Buffer.from(salt), u16(vc.length), vc]);
}

/** Era B `p` (§1.2.1): TEA(key, RSA(MD5(pwd)) ‖ salt ‖ UPPER(vc)) in ptlogin base64. */
export function rsaTeaPassword(password: string, salt: Uint8Array, verifyCode: string, opts: RsaTeaOptions = {}): string {
  const { h1, teaKey } = rsaTeaKeys(password, salt);
  const rsaH1 = rsaEncrypt(h1, opts.modulusHex ?? SMARTQQ_RSA_MODULUS, opts.exponent ?? SMARTQQ_RSA_EXPONENT);
  return ptBase64(qqTeaEncrypt(teaKey, rsaTeaPlaintext(rsaH1, salt, verifyCode), opts.random));
}

/**
 * What a server holding the plain password reads out of an Era B `p`: the RSA block (only the
 * key's owner can open it), the salt and the verify code. Throws QqTeaError when `p` was not made
 * with this password and salt.
 */
export function openRsaTeaPassword(p: string, password: string, salt: Uint8Array): { rsaH1: Buffer; salt: Buffer; verifyCode: string } {
  const { teaKey } = rsaTeaKeys(password, salt);
  const plain = qqTeaDecrypt(teaKey, fromPtBase64(p));
  if (plain.length < 2) throw new QqTeaError('Era B password block too short');
  const rsaLen = plain.readUInt16BE(0);
  const saltAt = 2 + rsaLen;
  if (plain.length < saltAt + 8 + 2) throw new QqTeaError('Era B password block too short for its RSA part');
  const vcLen = plain.readUInt16BE(saltAt + 8);
  if (plain.length !== saltAt + 8 + 2 + vcLen) throw new QqTeaError('Era B password block has the wrong length');
  return {
    rsaH1: plain.subarray(2, saltAt),
    salt: plain.subarray(saltAt, saltAt + 8),
    verifyCode: plain.subarray(saltAt + 10).toString('utf8'),
  };
}
