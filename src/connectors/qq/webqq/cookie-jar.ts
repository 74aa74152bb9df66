/**
 * The WebQQ client's cookie jar: the part of RFC 6265 a browser used against qq.com (Set-Cookie
 * parsing, Domain and host-only matching, Path, Expires/Max-Age, Secure), in memory, with a JSON
 * form for the session file. It replaced tough-cookie, whose public-suffix list alone cost
 * ~5 MB of idle RSS; its saved jars (`CookieJar.toJSON()`) still load, and ours keeps that shape.
 *
 * Not implemented, because the client never needs it: SameSite (every request is first-party),
 * cookie prefixes, the full public-suffix list (see `isPublicSuffix`), non-HTTP access.
 */
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';

export interface Cookie {
  name: string;
  value: string;
  /** Canonical (lower-case, ASCII) host or domain, no leading dot. */
  domain: string;
  /** true: sent to `domain` only (no Domain attribute); false: to it and its subdomains. */
  hostOnly: boolean;
  path: string;
  secure: boolean;
  httpOnly: boolean;
  /** Epoch ms; undefined for a session cookie (kept until cleared, and saved with the session). */
  expires?: number;
  /** Epoch ms; orders cookies of equal path length, as RFC 6265 §5.4 asks. */
  creation: number;
}

/** What a Set-Cookie line says, before the jar applies it to a request URL (RFC 6265 §5.2). */
export interface ParsedSetCookie {
  name: string;
  value: string;
  expires?: number;
  /** Seconds; takes precedence over `expires`. */
  maxAge?: number;
  /** Lower-cased, leading dot removed. */
  domain?: string;
  path?: string;
  secure: boolean;
  httpOnly: boolean;
}

/** Why a Set-Cookie was not stored (the transport logs it with the cookie's name only). */
export class CookieRejected extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'CookieRejected';
  }
}

/** The session file's `jar` was not a jar at all (individual bad cookies are skipped instead). */
export class CookieJarFormatError extends Error {
  constructor(reason: string) {
    super(`stored cookie jar is unreadable: ${reason}`);
    this.name = 'CookieJarFormatError';
  }
}

// Browsers' limits (RFC 6265 §6.1 asks for at least these): a hostile or broken server cannot grow
// the jar, and so the session file, without bound.
export const MAX_COOKIE_BYTES = 4096;
export const MAX_COOKIES_PER_DOMAIN = 50;
export const MAX_COOKIES = 1000;
/** RFC 6265bis §5.6.1/5.6.2: no cookie lives longer than 400 days. */
export const MAX_LIFETIME_MS = 400 * 24 * 3600 * 1000;

const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * RFC 6265 §5.1.1 cookie-date: the first time, day, month and year tokens found, in any order,
 * which is how browsers read `Expires` (so `Wed, 09-Jun-2021 10:18:14 GMT` and the RFC 1123 form
 * both work). undefined when the date is not a valid one.
 */
export function parseCookieDate(text: string): number | undefined {
  let time: [number, number, number] | undefined;
  let day: number | undefined;
  let month: number | undefined;
  let year: number | undefined;
  for (const token of text.split(/[\x09\x20-\x2f\x3b-\x40\x5b-\x60\x7b-\x7e]+/)) {
    if (!token) continue;
    const t = /^(\d{1,2}):(\d{1,2}):(\d{1,2})(?:[^\d]|$)/.exec(token);
    if (time === undefined && t) {
      time = [Number(t[1]), Number(t[2]), Number(t[3])];
      continue;
    }
    const d = /^(\d{1,2})(?:[^\d]|$)/.exec(token);
    if (day === undefined && d) {
      day = Number(d[1]);
      continue;
    }
    const m = MONTHS.indexOf(token.slice(0, 3).toLowerCase());
    if (month === undefined && m >= 0) {
      month = m;
      continue;
    }
    const y = /^(\d{2,4})(?:[^\d]|$)/.exec(token);
    if (year === undefined && y) {
      year = Number(y[1]);
      if (year >= 70 && year <= 99) year += 1900;
      else if (year >= 0 && year <= 69) year += 2000;
    }
  }
  if (time === undefined || day === undefined || month === undefined || year === undefined) return undefined;
  const [h, mi, s] = time;
  if (day < 1 || day > 31 || year < 1601 || h > 23 || mi > 59 || s > 59) return undefined;
  const ms = Date.UTC(year, month, day, h, mi, s);
  // 31 February and the like: Date.UTC rolls over; the RFC says the date is invalid.
  if (new Date(ms).getUTCDate() !== day) return undefined;
  return ms;
}

/**
 * One Set-Cookie header line. A pair without `=` is a cookie with an empty name, as browsers
 * (RFC 6265bis) and tough-cookie's loose mode read it. undefined when nothing usable is there.
 */
export function parseSetCookie(line: string): ParsedSetCookie | undefined {
  const [pair = '', ...attrs] = line.split(';');
  const trimmed = pair.trim();
  const eq = trimmed.indexOf('=');
  const name = eq < 0 ? '' : trimmed.slice(0, eq).trim();
  const value = (eq < 0 ? trimmed : trimmed.slice(eq + 1)).trim();
  if (!name && !value) return undefined;
  if (CONTROL.test(name) || CONTROL.test(value)) return undefined;
  const c: ParsedSetCookie = { name, value, secure: false, httpOnly: false };
  for (const attr of attrs) {
    const i = attr.indexOf('=');
    const key = (i < 0 ? attr : attr.slice(0, i)).trim().toLowerCase();
    const v = i < 0 ? '' : attr.slice(i + 1).trim();
    if (key === 'expires') {
      const at = parseCookieDate(v);
      if (at !== undefined) c.expires = at;
    } else if (key === 'max-age') {
      if (/^-?\d+$/.test(v)) c.maxAge = Number(v);
    } else if (key === 'domain') {
      // An empty Domain is ignored, not a reset (RFC 6265 §5.2.3).
      const d = v.replace(/^\./, '').toLowerCase();
      if (d) c.domain = d;
    } else if (key === 'path') {
      if (v.startsWith('/')) c.path = v;
      else delete c.path;
    } else if (key === 'secure') {
      c.secure = true;
    } else if (key === 'httponly') {
      c.httpOnly = true;
    }
  }
  return c;
}

/** Lower-case ASCII (punycode) host, no brackets; undefined if it is not a valid host name. */
export function canonicalHost(host: string): string | undefined {
  const h = host.trim().replace(/^\[|\]$/g, '').toLowerCase();
  if (!h) return undefined;
  if (isIP(h)) return h;
  if (/^[\x21-\x7e]+$/.test(h)) return h;
  return domainToASCII(h) || undefined;
}

/** RFC 6265 §5.1.3 domain-match: the host itself, or a subdomain of it (never for IP addresses). */
export function domainMatches(host: string, domain: string): boolean {
  if (host === domain) return true;
  return host.endsWith(`.${domain}`) && isIP(host) === 0;
}

/** RFC 6265 §5.1.4 default-path of a request path. */
export function defaultPath(requestPath: string): string {
  if (!requestPath.startsWith('/')) return '/';
  const slash = requestPath.lastIndexOf('/');
  return slash <= 0 ? '/' : requestPath.slice(0, slash);
}

/** RFC 6265 §5.1.4 path-match. */
export function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

/**
 * Without the public-suffix list, a cautious stand-in: a single label (`com`, `localhost`) or a
 * generic second level under a country code (`com.cn`, `co.uk`) may not carry a Domain cookie.
 * Over-blocking errs toward privacy; the client only ever talks to qq.com hosts.
 */
export function isPublicSuffix(domain: string): boolean {
  if (isIP(domain)) return false;
  const labels = domain.split('.');
  if (labels.length === 1) return true;
  return labels.length === 2 && labels[1]!.length === 2 && /^(com|net|org|gov|edu|ac|co|or|ne|go|mil)$/.test(labels[0]!);
}

export interface CookieJarOptions {
  /** The clock for expiry and creation times (tests). */
  now?: () => number;
}

/** The JSON form, tough-cookie's `CookieJar.toJSON()` shape (which this also reads). */
export interface SerializedJar {
  version: string;
  storeType: 'MemoryCookieStore';
  rejectPublicSuffixes: true;
  cookies: SerializedCookie[];
}

interface SerializedCookie {
  key: string;
  value: string;
  domain: string;
  path: string;
  hostOnly: boolean;
  secure?: true;
  httpOnly?: true;
  /** ISO 8601; absent for a session cookie. */
  expires?: string;
  creation: string;
}

export const JAR_VERSION = 'qqbridge-cookie-jar@1';

export class CookieJar {
  /** Keyed `domain;path;name`, which RFC 6265 §5.3 step 11 makes unique. */
  private readonly cookies = new Map<string, Cookie>();
  private readonly now: () => number;

  constructor(opts: CookieJarOptions = {}) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * Applies a Set-Cookie line received from `url` (RFC 6265 §5.3). Throws CookieRejected with
   * the reason when the cookie is ignored; an already-expired cookie deletes its namesake.
   */
  setFromHeader(line: string, url: URL | string): void {
    const u = typeof url === 'string' ? new URL(url) : url;
    const parsed = parseSetCookie(line);
    if (!parsed) throw new CookieRejected('not a cookie');
    const host = canonicalHost(u.hostname);
    if (!host) throw new CookieRejected('request URL has no host');
    // RFC 6265bis: only a secure origin may set a Secure cookie (tough-cookie enforced it too).
    if (parsed.secure && !isSecure(u)) throw new CookieRejected('Secure cookie from a non-secure URL');
    const now = this.now();
    let expires: number | undefined;
    if (parsed.maxAge !== undefined) expires = parsed.maxAge <= 0 ? -Infinity : now + parsed.maxAge * 1000;
    else if (parsed.expires !== undefined) expires = parsed.expires;
    // RFC 6265bis caps a lifetime at 400 days; an uncapped Max-Age of 1e20 s is no valid date and
    // would make every later save of the session file throw.
    if (expires !== undefined) expires = Math.min(expires, now + MAX_LIFETIME_MS);

    let domain = host;
    let hostOnly = true;
    if (parsed.domain !== undefined) {
      const d = canonicalHost(parsed.domain);
      if (!d) throw new CookieRejected('Domain is not a host name');
      if (isPublicSuffix(d)) {
        if (d !== host) throw new CookieRejected(`Domain ${d} is a public suffix`);
      } else {
        if (!domainMatches(host, d)) throw new CookieRejected(`Domain ${d} does not cover ${host}`);
        domain = d;
        hostOnly = false;
      }
    }
    this.store({
      name: parsed.name,
      value: parsed.value,
      domain,
      hostOnly,
      path: parsed.path ?? defaultPath(u.pathname),
      secure: parsed.secure,
      httpOnly: parsed.httpOnly,
      ...(expires !== undefined ? { expires } : {}),
      creation: now,
    });
  }

  /** Stores a cookie as if a server in `domain` had sent it with `Domain=<domain>` (no expiry). */
  set(name: string, value: string, domain: string, path = '/'): void {
    const d = canonicalHost(domain.replace(/^\./, ''));
    if (!d || isPublicSuffix(d)) throw new CookieRejected(`Domain ${domain} cannot carry cookies`);
    this.store({ name, value, domain: d, hostOnly: false, path, secure: false, httpOnly: false, creation: this.now() });
  }

  /** The cookies a request to `url` carries, in RFC 6265 §5.4 order (longest path, then oldest). */
  get(url: URL | string): Cookie[] {
    const u = typeof url === 'string' ? new URL(url) : url;
    const host = canonicalHost(u.hostname);
    if (!host) return [];
    const secure = isSecure(u);
    const path = u.pathname || '/';
    const now = this.now();
    const out: Cookie[] = [];
    for (const [key, c] of this.cookies) {
      if (c.expires !== undefined && c.expires <= now) {
        this.cookies.delete(key);
        continue;
      }
      if (c.hostOnly ? c.domain !== host : !domainMatches(host, c.domain)) continue;
      if (!pathMatches(path, c.path)) continue;
      if (c.secure && !secure) continue;
      out.push(c);
    }
    return out.sort((a, b) => b.path.length - a.path.length || a.creation - b.creation);
  }

  /** The `Cookie` request header for `url`, or '' when none applies. */
  header(url: URL | string): string {
    return this.get(url).map((c) => (c.name ? `${c.name}=${c.value}` : c.value)).join('; ');
  }

  /** The value the jar would send for `name` to `url` (the most specific path wins). */
  value(name: string, url: URL | string): string | undefined {
    return this.get(url).find((c) => c.name === name)?.value;
  }

  /** Every stored cookie that has not expired. */
  all(): Cookie[] {
    const now = this.now();
    return [...this.cookies.values()].filter((c) => c.expires === undefined || c.expires > now);
  }

  clear(): void {
    this.cookies.clear();
  }

  toJSON(): SerializedJar {
    return {
      version: JAR_VERSION,
      storeType: 'MemoryCookieStore',
      rejectPublicSuffixes: true,
      cookies: this.all().map((c) => ({
        key: c.name,
        value: c.value,
        domain: c.domain,
        path: c.path,
        hostOnly: c.hostOnly,
        ...(c.secure ? { secure: true as const } : {}),
        ...(c.httpOnly ? { httpOnly: true as const } : {}),
        ...(c.expires !== undefined ? { expires: new Date(c.expires).toISOString() } : {}),
        creation: new Date(c.creation).toISOString(),
      })),
    };
  }

  /**
   * A jar from `toJSON()`, or from tough-cookie's `serializeSync()` (session files written before
   * qqbridge had its own jar). Cookies that cannot be read, or have expired, are left out and
   * counted in `skipped`; input that is no jar at all throws CookieJarFormatError.
   */
  static fromJSON(data: unknown, opts: CookieJarOptions = {}): { jar: CookieJar; skipped: number } {
    const obj = typeof data === 'string' ? parseJson(data) : data;
    if (!isRecord(obj) || !Array.isArray(obj.cookies)) throw new CookieJarFormatError('no cookies array');
    const jar = new CookieJar(opts);
    const now = jar.now();
    let skipped = 0;
    for (const raw of obj.cookies) {
      const c = readStoredCookie(raw, now);
      if (!c || (c.expires !== undefined && c.expires <= now)) skipped++;
      else {
        try {
          jar.store(c);
        } catch (e) {
          if (!(e instanceof CookieRejected)) throw e;
          skipped++;
        }
      }
    }
    return { jar, skipped };
  }

  private store(c: Cookie): void {
    const key = `${c.domain};${c.path};${c.name}`;
    const old = this.cookies.get(key);
    if (c.expires !== undefined && c.expires <= this.now()) {
      // How a server deletes a cookie: the same name, domain and path, already expired.
      this.cookies.delete(key);
      return;
    }
    if (Buffer.byteLength(c.name) + Buffer.byteLength(c.value) > MAX_COOKIE_BYTES) {
      throw new CookieRejected(`larger than ${MAX_COOKIE_BYTES} bytes`);
    }
    // A replaced cookie keeps its creation time (§5.3 step 11.3), so its place in the header.
    if (old) c.creation = old.creation;
    this.cookies.delete(key);
    this.cookies.set(key, c);
    if (!old) this.evict(c.domain);
  }

  /** Past a limit, the oldest cookies go first (Map order is insertion order). */
  private evict(domain: string): void {
    const sameDomain = [...this.cookies].filter(([, c]) => c.domain === domain);
    for (const [key] of sameDomain.slice(0, Math.max(0, sameDomain.length - MAX_COOKIES_PER_DOMAIN))) this.cookies.delete(key);
    for (const key of [...this.cookies.keys()].slice(0, Math.max(0, this.cookies.size - MAX_COOKIES))) this.cookies.delete(key);
  }
}

/** https and wss only: the jar sees the real WebQQ URLs, never a loopback one. */
function isSecure(u: URL): boolean {
  return u.protocol === 'https:' || u.protocol === 'wss:';
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CookieJarFormatError(`not JSON: ${(e as Error).message}`);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isoTime(v: unknown): number | undefined {
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  const t = new Date(v).getTime();
  return Number.isFinite(t) ? t : undefined;
}

/**
 * One cookie of either JSON form. tough-cookie wrote `expires: "Infinity"` or nothing for a session
 * cookie, and kept Max-Age as given (seconds, or "Infinity"/"-Infinity"), counted from its
 * `lastAccessed`; both become an absolute `expires` here.
 */
function readStoredCookie(raw: unknown, now: number): Cookie | undefined {
  if (!isRecord(raw)) return undefined;
  const name = raw.key ?? '';
  const value = raw.value ?? '';
  if (typeof name !== 'string' || typeof value !== 'string' || (!name && !value)) return undefined;
  if (CONTROL.test(name) || CONTROL.test(value)) return undefined;
  if (typeof raw.domain !== 'string') return undefined;
  const domain = canonicalHost(raw.domain.replace(/^\./, ''));
  if (!domain) return undefined;
  const path = typeof raw.path === 'string' && raw.path.startsWith('/') ? raw.path : '/';
  const creation = isoTime(raw.creation) ?? now;
  let expires: number | undefined;
  if (raw.maxAge !== undefined && raw.maxAge !== null) {
    if (raw.maxAge === '-Infinity') expires = -Infinity;
    else if (typeof raw.maxAge === 'number') {
      const from = isoTime(raw.lastAccessed) ?? creation;
      expires = raw.maxAge <= 0 ? -Infinity : from + raw.maxAge * 1000;
    } else if (raw.maxAge !== 'Infinity') return undefined;
  } else if (raw.expires !== undefined && raw.expires !== null && raw.expires !== 'Infinity') {
    expires = isoTime(raw.expires);
    if (expires === undefined) return undefined;
  }
  if (expires !== undefined) expires = Math.min(expires, now + MAX_LIFETIME_MS);
  return {
    name,
    value,
    domain,
    // tough-cookie matched a cookie with hostOnly null as a domain cookie.
    hostOnly: raw.hostOnly === true,
    path,
    secure: raw.secure === true,
    httpOnly: raw.httpOnly === true,
    ...(expires !== undefined ? { expires } : {}),
    creation,
  };
}
