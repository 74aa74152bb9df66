/**
 * A small client for the parts of the Matrix client-server API the bridge uses, authenticated as
 * the application service (`as_token`) and masquerading as a ghost with `?user_id=`.
 */
import { DeliveryError } from '../../core/errors.js';

/** An error answer (`{errcode, error}`) or a failure to reach the homeserver (status 0). */
export class MatrixError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'MatrixError';
  }
}

/** What the outbox should do with a failed homeserver call. */
export function toDeliveryError(e: unknown, what: string): DeliveryError {
  if (!(e instanceof MatrixError)) return new DeliveryError('retryable', `${what}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  const msg = `${what}: ${e.status || 'network'} ${e.errcode}: ${e.message}`;
  if (e.status === 429 || e.errcode === 'M_LIMIT_EXCEEDED') {
    return new DeliveryError('retryable', msg, { cause: e, ...(e.retryAfterMs !== undefined ? { retryAfterMs: e.retryAfterMs } : {}) });
  }
  if (e.status === 0 || e.status >= 500) return new DeliveryError('retryable', msg, { cause: e });
  if (e.errcode === 'M_UNKNOWN_TOKEN' || e.errcode === 'M_MISSING_TOKEN' || e.status === 401) return new DeliveryError('fatal', msg, { cause: e });
  return new DeliveryError('rejected', msg, { cause: e });
}

export interface RequestOptions {
  body?: unknown;
  /** Raw bytes (media upload) with their content type. */
  raw?: { data: Uint8Array; type: string };
  query?: Record<string, string | undefined>;
  /** Masquerade as this user (must be in the registration's namespace). */
  userId?: string;
  /** Return the raw response body instead of JSON. */
  binary?: boolean;
}

const enc = encodeURIComponent;

export class MatrixClient {
  constructor(
    private readonly baseUrl: string,
    private readonly asToken: string,
    private readonly timeoutMs = 30_000,
  ) {}

  async request<T = Record<string, unknown>>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    const url = new URL(this.baseUrl.replace(/\/+$/, '') + path);
    for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    if (o.userId) url.searchParams.set('user_id', o.userId);
    const headers: Record<string, string> = { Authorization: `Bearer ${this.asToken}` };
    let body: RequestInit['body'];
    if (o.raw) {
      headers['Content-Type'] = o.raw.type;
      body = o.raw.data as unknown as RequestInit['body'];
    } else if (o.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(o.body);
    }
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (e) {
      // The URL may carry user_id only; the token travels in a header and never in this message.
      throw new MatrixError(0, 'M_NETWORK', `${method} ${url.pathname}: ${(e as Error).message}`);
    }
    if (res.ok && o.binary) {
      const data = new Uint8Array(await res.arrayBuffer());
      return { data, type: res.headers.get('content-type') ?? 'application/octet-stream' } as T;
    }
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      if (res.ok) throw new MatrixError(res.status, 'M_BAD_JSON', `${method} ${url.pathname}: answer is not JSON`);
    }
    if (!res.ok) {
      const retryHeader = Number(res.headers.get('retry-after'));
      const retryAfterMs = typeof json.retry_after_ms === 'number' ? json.retry_after_ms : Number.isFinite(retryHeader) && retryHeader > 0 ? retryHeader * 1000 : undefined;
      throw new MatrixError(res.status, typeof json.errcode === 'string' ? json.errcode : 'M_UNKNOWN', `${method} ${url.pathname}: ${typeof json.error === 'string' ? json.error : res.statusText}`, retryAfterMs);
    }
    return json as T;
  }

  register(localpart: string): Promise<unknown> {
    return this.request('POST', '/_matrix/client/v3/register', { body: { type: 'm.login.application_service', username: localpart } });
  }

  join(roomIdOrAlias: string, userId?: string): Promise<{ room_id: string }> {
    return this.request('POST', `/_matrix/client/v3/join/${enc(roomIdOrAlias)}`, { body: {}, userId });
  }

  leave(roomId: string, userId?: string): Promise<unknown> {
    return this.request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, { body: {}, userId });
  }

  invite(roomId: string, invitee: string, userId?: string): Promise<unknown> {
    return this.request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { body: { user_id: invitee }, userId });
  }

  async sendEvent(roomId: string, type: string, txnId: string, content: unknown, userId?: string): Promise<string> {
    const r = await this.request<{ event_id: string }>('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/${enc(type)}/${enc(txnId)}`, { body: content, userId });
    return r.event_id;
  }

  /** Redacts an event; idempotent per txnId. Returns the redaction's event id. */
  async redact(roomId: string, eventId: string, txnId: string, userId?: string, reason?: string): Promise<string> {
    const r = await this.request<{ event_id: string }>('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/redact/${enc(eventId)}/${enc(txnId)}`, { body: reason ? { reason } : {}, userId });
    return r.event_id;
  }

  getEvent<T = Record<string, unknown>>(roomId: string, eventId: string, userId?: string): Promise<T> {
    return this.request<T>('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/event/${enc(eventId)}`, { userId });
  }

  getState<T = Record<string, unknown>>(roomId: string, type: string, stateKey = '', userId?: string): Promise<T> {
    return this.request<T>('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`, { userId });
  }

  async putState(roomId: string, type: string, stateKey: string, content: unknown, userId?: string): Promise<string> {
    const r = await this.request<{ event_id: string }>('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`, { body: content, userId });
    return r.event_id;
  }

  /** Per-room account data of a user (the bot's own notes about a room, kept by the homeserver). */
  getRoomAccountData<T = Record<string, unknown>>(userId: string, roomId: string, type: string): Promise<T> {
    return this.request<T>('GET', `/_matrix/client/v3/user/${enc(userId)}/rooms/${enc(roomId)}/account_data/${enc(type)}`, { userId });
  }

  putRoomAccountData(userId: string, roomId: string, type: string, content: unknown): Promise<unknown> {
    return this.request('PUT', `/_matrix/client/v3/user/${enc(userId)}/rooms/${enc(roomId)}/account_data/${enc(type)}`, { body: content, userId });
  }

  /** The user's global display name; undefined when none is set. */
  async getDisplayName(userId: string): Promise<string | undefined> {
    try {
      const r = await this.request<{ displayname?: unknown }>('GET', `/_matrix/client/v3/profile/${enc(userId)}/displayname`);
      return typeof r.displayname === 'string' ? r.displayname : undefined;
    } catch (e) {
      if (e instanceof MatrixError && e.errcode === 'M_NOT_FOUND') return undefined;
      throw e;
    }
  }

  setDisplayName(userId: string, name: string): Promise<unknown> {
    return this.request('PUT', `/_matrix/client/v3/profile/${enc(userId)}/displayname`, { body: { displayname: name }, userId });
  }

  setAvatarUrl(userId: string, mxc: string): Promise<unknown> {
    return this.request('PUT', `/_matrix/client/v3/profile/${enc(userId)}/avatar_url`, { body: { avatar_url: mxc }, userId });
  }

  async upload(data: Uint8Array, type: string, filename?: string): Promise<string> {
    const r = await this.request<{ content_uri: string }>('POST', '/_matrix/media/v3/upload', { raw: { data, type }, query: { filename } });
    return r.content_uri;
  }

  /** Downloads media, authenticated (v1) first, the legacy v3 endpoint for older homeservers. */
  async download(server: string, mediaId: string): Promise<{ data: Uint8Array; type: string }> {
    try {
      return await this.request('GET', `/_matrix/client/v1/media/download/${enc(server)}/${enc(mediaId)}`, { binary: true });
    } catch (e) {
      if (!(e instanceof MatrixError) || (e.status !== 404 && e.errcode !== 'M_UNRECOGNIZED') || e.errcode === 'M_NOT_FOUND') throw e;
      return this.request('GET', `/_matrix/media/v3/download/${enc(server)}/${enc(mediaId)}`, { binary: true });
    }
  }

  createRoom(body: Record<string, unknown>): Promise<{ room_id: string }> {
    return this.request('POST', '/_matrix/client/v3/createRoom', { body });
  }
}
