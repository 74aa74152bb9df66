/**
 * Milky's API half: `POST {url}/api/:endpoint`, a JSON body (`{}` when empty), the Bearer token,
 * and the `{status, retcode, data | message}` envelope. Node's fetch keeps connections alive;
 * each call has its own timeout and at most `maxInFlight` calls are on the wire at once.
 */
import type { z } from 'zod';
import { MilkyError, kindOfRetcode } from './errors.js';
import { MILKY_APIS, isMilkyEndpoint, type MilkyEndpoint, type MilkyInput, type MilkyOutput } from './protocol.js';

export interface MilkyApiOptions {
  /** The implementation's base URL, e.g. http://127.0.0.1:3000 (API at {url}/api/:endpoint). */
  url: string;
  accessToken?: string;
  /** Per-call timeout, ms. */
  timeoutMs?: number;
  /** Calls on the wire at once; more wait their turn. */
  maxInFlight?: number;
  /** Check parameters against the protocol's schema before sending (a mismatch is a bad request). */
  validateRequests?: boolean;
}

interface Envelope {
  status: 'ok' | 'failed';
  retcode: number;
  data?: unknown;
  message?: string;
}

function isEnvelope(v: unknown): v is Envelope {
  const e = v as Envelope | null;
  return typeof e === 'object' && e !== null && (e.status === 'ok' || e.status === 'failed') && typeof e.retcode === 'number';
}

/** Segments of one message kept at most; the rest of a hostile array is cut before the schema check. */
export const MAX_SEGMENTS = 2000;

/** Cuts huge segment arrays in messages an answer carries (history, get_message, forwards). */
function capSegments(data: unknown): void {
  const d = data as { messages?: unknown; message?: unknown } | null;
  if (!d || typeof d !== 'object') return;
  const list = Array.isArray(d.messages) ? d.messages : d.message ? [d.message] : [];
  for (const m of list as Array<{ segments?: unknown } | null>) {
    if (m && typeof m === 'object' && Array.isArray(m.segments) && m.segments.length > MAX_SEGMENTS) m.segments = m.segments.slice(0, MAX_SEGMENTS);
  }
}

/** A counting semaphore: FIFO, so no caller starves. */
class Gate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly max: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((r) => this.waiting.push(r));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
  get inFlight(): number {
    return this.active;
  }
}

export class MilkyApi {
  readonly baseUrl: string;
  private readonly gate: Gate;
  private readonly timeoutMs: number;
  private readonly validate: boolean;

  constructor(private readonly opts: MilkyApiOptions) {
    this.baseUrl = opts.url.replace(/\/+$/, '');
    this.gate = new Gate(Math.max(1, opts.maxInFlight ?? 8));
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    this.validate = opts.validateRequests ?? true;
  }

  get inFlight(): number {
    return this.gate.inFlight;
  }

  /** Calls one endpoint; resolves with its `data` checked against the protocol's schema. */
  async call<E extends MilkyEndpoint>(endpoint: E, params?: MilkyInput<E>): Promise<MilkyOutput<E>> {
    // An endpoint the package does not know (an implementation's extension) goes out unchecked.
    const spec = isMilkyEndpoint(endpoint) ? MILKY_APIS[endpoint] : { requestSchema: null, responseSchema: null };
    const body = params ?? {};
    if (this.validate && spec.requestSchema) {
      const r = (spec.requestSchema as z.ZodType).safeParse(body);
      if (!r.success) throw new MilkyError('bad_request', endpoint, `parameters do not match the protocol: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    const data = await this.gate.run(() => this.post(endpoint, body));
    if (!spec.responseSchema) return (isMilkyEndpoint(endpoint) ? {} : data) as MilkyOutput<E>;
    capSegments(data);
    const r = (spec.responseSchema as z.ZodType).safeParse(data);
    if (!r.success) throw new MilkyError('protocol', endpoint, `answer does not match the protocol: ${r.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    return r.data as MilkyOutput<E>;
  }

  private async post(endpoint: string, body: unknown): Promise<unknown> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.opts.accessToken) headers.authorization = `Bearer ${this.opts.accessToken}`;
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${this.baseUrl}/api/${endpoint}`, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(this.timeoutMs) });
      text = await res.text();
    } catch (e) {
      const err = e as Error;
      if (err.name === 'TimeoutError' || err.name === 'AbortError') throw new MilkyError('timeout', endpoint, `no answer within ${this.timeoutMs} ms`, { cause: e });
      throw new MilkyError('network', endpoint, (err.cause as Error | undefined)?.message ?? err.message, { cause: e });
    }
    if (res.status === 401) throw new MilkyError('unauthorized', endpoint, 'the access token was refused (HTTP 401)', { httpStatus: 401 });
    if (res.status === 404) throw new MilkyError('not_found', endpoint, 'the implementation has no such API (HTTP 404)', { httpStatus: 404 });
    if (res.status === 415) throw new MilkyError('unsupported_media_type', endpoint, 'the implementation refused the Content-Type (HTTP 415)', { httpStatus: 415 });
    if (res.status !== 200) throw new MilkyError('network', endpoint, `HTTP ${res.status}`, { httpStatus: res.status });
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new MilkyError('protocol', endpoint, `answer is not JSON: ${JSON.stringify(text.slice(0, 80))}`, { httpStatus: 200 });
    }
    if (!isEnvelope(json)) throw new MilkyError('protocol', endpoint, 'answer is not a {status, retcode} envelope', { httpStatus: 200 });
    if (json.status === 'failed' || json.retcode !== 0) {
      throw new MilkyError(kindOfRetcode(json.retcode), endpoint, `retcode ${json.retcode}: ${json.message ?? ''}`.trim(), { retcode: json.retcode, httpStatus: 200 });
    }
    return json.data ?? {};
  }
}
