/**
 * The request plumbing every WebQQ endpoint module shares (session subset, headers per era, the
 * retcode envelope and field readers), apart so that api.ts and api-pictures.ts both use it.
 */
import type { HttpResponse, RequestOptions, Transport } from './transport.js';
import { ProtocolError, RetcodeError } from './errors.js';
import { hostsFor, type Era } from './hosts.js';

/**
 * What the endpoints need from the login session; auth's `Session` extends it (it lives here so
 * that auth imports nothing of the endpoints).
 */
export interface ApiSession {
  /** The channel the session lives on: 'password' = WebQQ's (Era A), 'qrcode' = SmartQQ's (Eras B and C). */
  era: Era;
  /** Own QQ number (login2 `uin`). */
  uin: number;
  /** WebQQ: 8-digit string; SmartQQ: the number 53999199. Same value for the whole session. */
  clientid: string | number;
  ptwebqq: string;
  vfwebqq: string;
  psessionid: string;
}

export interface ApiContext {
  transport: Transport;
  session: ApiSession;
  /** Aborts in-flight requests on stop. */
  signal?: AbortSignal;
}

export type Json = Record<string, unknown>;

/** SmartQQ sends the constant clientid as a JSON number, WebQQ an 8-digit string (§0.2). */
export function clientidValue(s: ApiSession): string | number {
  return s.era === 'qrcode' ? Number(s.clientid) : String(s.clientid);
}

export function baseOpts(ctx: ApiContext, host: 'd' | 's' | 'web', extra: RequestOptions = {}): RequestOptions {
  const h = hostsFor(ctx.session.era);
  const referer = host === 'd' ? h.dReferer : host === 's' ? h.sReferer : h.webReferer;
  const origin = host === 'd' ? h.dOrigin : host === 's' ? h.sOrigin : h.webOrigin;
  const o: RequestOptions = { referer, origin, ...extra };
  if (ctx.signal) o.signal = ctx.signal;
  return o;
}

export function asObject(endpoint: string, v: unknown, what: string, res?: HttpResponse): Json {
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    throw new ProtocolError(endpoint, `${what} is not an object`, res ? res.text() : JSON.stringify(v) ?? '');
  }
  return v as Json;
}

export function num(endpoint: string, o: Json, key: string, res: HttpResponse): number {
  const v = o[key];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) return Number(v);
  throw new ProtocolError(endpoint, `field ${key} missing or not a number`, res.text());
}

export function optNum(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) return Number(v);
  return undefined;
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** Parses `{"retcode":0,"result":…}`; anything else throws with the endpoint's name. */
export function envelope(endpoint: string, res: HttpResponse): { retcode: number; result: unknown; body: Json } {
  if (res.status !== 200) throw new ProtocolError(endpoint, `HTTP ${res.status}`, res.text());
  const body = asObject(endpoint, res.json(), 'answer', res);
  const retcode = optNum(body.retcode);
  if (retcode === undefined) throw new ProtocolError(endpoint, 'no numeric retcode', res.text());
  return { retcode, result: body.result, body };
}

export function ok(endpoint: string, res: HttpResponse): unknown {
  const { retcode, result, body } = envelope(endpoint, res);
  if (retcode !== 0) throw new RetcodeError(endpoint, retcode, str(body.errmsg) ?? '');
  return result;
}

/** Form for a POST with `r`; WebQQ-era clients duplicated clientid/psessionid as fields (§0.3). */
export function rForm(ctx: ApiContext, r: Json, withSessionFields: boolean): Record<string, string> {
  const form: Record<string, string> = { r: JSON.stringify(r) };
  if (withSessionFields && ctx.session.era === 'password') {
    form.clientid = String(ctx.session.clientid);
    form.psessionid = ctx.session.psessionid;
  }
  return form;
}

export const sessionQuery = (ctx: ApiContext) => ({ clientid: String(ctx.session.clientid), psessionid: ctx.session.psessionid });
