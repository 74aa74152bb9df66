/**
 * matrix-appservice's AppService with these answers changed, keeping its body parsing:
 *
 * - A transaction is acknowledged only once every event in it has been handled: the library
 *   answers 200 before its asynchronous listeners finish, and a homeserver never resends a
 *   transaction it got 200 for, so a crash in between would lose those events. When handling
 *   fails, the answer is 500 and the homeserver retries the same transaction later.
 * - An alias query the bridge does not serve answers 404 `M_NOT_FOUND` (the library answers 200
 *   even when the handler throws, and the homeserver then looks the alias up and finds nothing).
 * - A transaction id says nothing about replays: homeservers start their ids again at 1 after a
 *   restart, so "same id as the last one" would drop a new transaction for good. Replays are
 *   recognised by their events (the connector drops event ids already handled, the relay those
 *   already stored); here the id only joins a resend to the same transaction still in progress.
 * - The legacy paths (`/transactions/{txnId}`, `/users/{userId}`, `/rooms/{alias}`), which Synapse
 *   before 1.81 uses and the library answers with a 308 redirect that a homeserver does not follow
 *   on PUT, are served as their `/_matrix/app/v1/...` twins (`appserviceListener`), with the same
 *   hs_token check, from the `Authorization` header or the `access_token` query parameter.
 *
 * The library binds its route handlers in its constructor (`this.onTransaction.bind(this)`), so
 * overriding the methods in a subclass replaces them. Its typings mark them private, hence the
 * loosely typed base below.
 */
import type http from 'node:http';
// The bot SDK under matrix-appservice-bridge is no longer loaded (matrix-appservice alone serves
// the appservice API); should anything load it again, it finds the crypto stand-in first.
import './crypto-stand-in.js';
import { AppService } from 'matrix-appservice';
import { secretMatches } from '../../core/secrets.js';

/** The slice of express's request and response the handlers use. */
interface Req {
  params: Record<string, string | undefined>;
  body?: { events?: unknown; 'de.sorunome.msc2409.ephemeral'?: unknown } | undefined;
}
interface Res {
  status(code: number): Res;
  send(body: unknown): unknown;
}

/** The library's own members this subclass relies on (present in matrix-appservice 2.x). */
interface LibraryInternals {
  isInvalidToken(req: Req, res: Res): boolean;
  config: { homeserverToken: string };
  emit(event: string, ...args: unknown[]): boolean;
}

/** Thrown by an alias-query handler: the alias is not one the bridge serves. */
/** True when the error (or one it wraps) says the bridge's store is unavailable. */
function isStorePause(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e.name === 'InputPausedError' || e.name === 'StoreError') return true;
  }
  return false;
}

export class AliasNotFound extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AliasNotFound';
  }
}

export interface DurableAppServiceHooks {
  /** Handles a transaction's events; resolves once each is durably handed on. Rejecting makes the homeserver retry. */
  onTransaction(txnId: string, events: Record<string, unknown>[]): Promise<void>;
  /** Creates/serves the room for `alias`; throw AliasNotFound when the bridge does not serve it. */
  onAliasQuery(alias: string): Promise<void>;
  /** A transaction or alias query failed; the homeserver gets a non-2xx answer. */
  onError(what: string, err: unknown): void;
}

const Base = AppService as unknown as new (config: { homeserverToken: string; httpMaxSizeBytes?: number }) => LibraryInternals;

class DurableAppService extends Base {
  hooks: DurableAppServiceHooks | undefined;
  /** Transactions being handled, so a resend of one still in progress waits for the same outcome. */
  private readonly inflight = new Map<string, Promise<void>>();

  /** The library compares the hs_token with `!==`; this check takes the same time whatever was sent. */
  override isInvalidToken(req: Req & { headers?: Record<string, string | string[] | undefined>; query?: Record<string, unknown> }, res: Res): boolean {
    const auth = req.headers?.authorization;
    const bearer = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice('Bearer '.length) : undefined;
    const query = req.query?.access_token;
    const given = bearer ?? (typeof query === 'string' ? query : undefined);
    if (secretMatches(given, this.config.homeserverToken)) return false;
    res.status(403).send({ errcode: 'M_FORBIDDEN', error: 'Bad token supplied' });
    return true;
  }

  onTransaction(req: Req, res: Res): void {
    if (this.isInvalidToken(req, res)) return;
    const txnId = req.params.txnId;
    if (!txnId) {
      res.status(400).send({ errcode: 'M_UNKNOWN', error: 'Missing transaction ID.' });
      return;
    }
    if (!req.body || typeof req.body !== 'object') {
      res.status(400).send({ errcode: 'M_NOT_JSON', error: 'Missing body.' });
      return;
    }
    const events = Array.isArray(req.body.events) ? (req.body.events as Record<string, unknown>[]) : [];
    // The id alone may repeat after a homeserver restart; with the event ids it names one transaction.
    const key = `${txnId}\0${events.map((e) => String(e.event_id)).join('\0')}`;
    let work = this.inflight.get(key);
    if (!work) {
      const ephemeral = Array.isArray(req.body['de.sorunome.msc2409.ephemeral']) ? (req.body['de.sorunome.msc2409.ephemeral'] as Record<string, unknown>[]) : [];
      const hooks = this.hooks;
      work = (async () => {
        if (!hooks) throw new Error('the bridge is not ready for transactions');
        await hooks.onTransaction(txnId, events);
        // Ephemeral events (typing, receipts) carry nothing to keep; they are passed on as the library does.
        for (const ev of ephemeral) {
          this.emit('ephemeral', ev);
          if (typeof ev.type === 'string') this.emit(`ephemeral_type:${ev.type}`, ev);
        }
      })();
      const mine = work;
      this.inflight.set(key, mine);
      const clear = () => {
        if (this.inflight.get(key) === mine) this.inflight.delete(key);
      };
      mine.then(clear, clear);
    }
    work.then(
      () => res.send({}),
      (err: unknown) => {
        this.hooks?.onError(`transaction ${txnId}`, err);
        // The bridge's store is unavailable (input paused): 503, the homeserver retries later.
        const paused = isStorePause(err);
        res.status(paused ? 503 : 500).send({ errcode: 'M_UNKNOWN', error: 'The bridge could not take this transaction yet; retry it later.' });
      },
    );
  }

  onGetRoomAlias(req: Req, res: Res): void {
    if (this.isInvalidToken(req, res)) return;
    const alias = req.params.alias ?? '';
    const hooks = this.hooks;
    if (!hooks) {
      res.status(503).send({ errcode: 'M_UNKNOWN', error: 'The bridge is starting.' });
      return;
    }
    hooks.onAliasQuery(alias).then(
      () => res.send({}),
      (err: unknown) => {
        if (err instanceof AliasNotFound) {
          res.status(404).send({ errcode: 'M_NOT_FOUND', error: err.message });
          return;
        }
        hooks.onError(`alias query ${alias}`, err);
        res.status(500).send({ errcode: 'M_UNKNOWN', error: 'The bridge could not create this room.' });
      },
    );
  }
}

const LEGACY_PATH = /^\/(transactions|users|rooms)\//;

/**
 * The HTTP handler for the appservice API: the library's express app, with the legacy paths of
 * older homeservers served as the `/_matrix/app/v1/` ones (the library would redirect them).
 */
export function appserviceListener(as: AppService): http.RequestListener {
  const app = as.expressApp as unknown as http.RequestListener;
  return (req, res) => {
    if (req.url && LEGACY_PATH.test(req.url)) req.url = `/_matrix/app/v1${req.url}`;
    app(req, res);
  };
}

/** An AppService whose transaction and alias-query answers follow `hooks` (see the module comment). */
export function createDurableAppService(homeserverToken: string, hooks: DurableAppServiceHooks): AppService {
  const as = new DurableAppService({ homeserverToken });
  as.hooks = hooks;
  return as as unknown as AppService;
}
