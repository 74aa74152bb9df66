/**
 * Outgoing messages (protocol reference §2.6, §4.3–§4.6): one send at a time through a FIFO queue,
 * at least `intervalMs` apart; long text split at 720 bytes; msg_id strictly increasing from the
 * web client's seed. Every caller is told the outcome: resolved with the msg_ids sent, or rejected
 * with a SendError naming the retcode.
 *
 * Jobs are queued by stable ids (group number, discussion name, buddy QQ number): the session ids
 * (gid/code, did, uin) change at every login, so they are looked up right before each request,
 * while the session gate is open, and the request is built in the same synchronous step. A send
 * the server refuses because the session changed under it is sent again in the new session.
 */
import type { Logger } from '../../../log.js';
import { sendMessage, type ApiContext, type GfaceSig, type SendTarget } from './api.js';
import { encodeContent, splitContent, type OutgoingItem } from './content.js';
import type { SessionGate } from './session-gate.js';
import { NotReadyError, SendError, TransportError, UnknownTargetError } from './errors.js';

export { SendError } from './errors.js';

/** The official mq.js seed: `floor(now/1000) % 10000 * 10000`, then `++seed` per send. */
export function msgIdSeed(nowMs = Date.now()): number {
  return (Math.floor(nowMs / 1000) % 10000) * 10000;
}

/** Retcodes that mean the session is gone: worth retrying after the client relinks. */
const SESSION_CODES = new Set([103, 108, 100, 121, 120, 122, 100000]);
/** "Unknown target": a session id from another login, when the session changed meanwhile. */
const STALE_TARGET_CODE = 100001;

/** Where a message goes, by the ids that survive a relogin. */
export type StableTarget =
  | { kind: 'group'; number: number }
  | { kind: 'discussion'; name: string }
  | { kind: 'buddy'; qq: number }
  /** A member written to through a group or discussion both are in (temporary session). */
  | { kind: 'sess'; qq: number; via: { group: number } | { discussion: string } };

export interface SenderDeps {
  ctx(): ApiContext;
  log: Logger;
  intervalMs: number;
  /** Open while the session is complete; its epoch changes with every session change. */
  gate: SessionGate;
  /** Session ids of a target in the current session; throws UnknownTargetError when there is none. */
  resolve(target: StableTarget): Promise<SendTarget>;
  /** The group-picture key/sig, fetched once per session. */
  gfaceSig(): Promise<GfaceSig>;
  /** After 5 consecutive hard failures (Mojo): the client should relogin. */
  onHardFailures(count: number): void;
  /** Avatar id for the `face` field. */
  face?(): number;
  maxBytes?: number;
  /** Notified of 1202 answers (delivered, maybe): not resent, per §4.6. */
  onUncertain?(target: SendTarget, msgId: number): void;
  /**
   * Told of every piece right before it goes out (its echo can come back through poll before the
   * send is answered), so the client can recognise the echo by its content.
   */
  onSending?(target: SendTarget, piece: OutgoingItem[], msgId: number): void;
  /** How long a job waits for the session to come back before failing as retryable; default 60 s. */
  holdMs?: number;
  /** How long a session-error answer waits for the client to notice the session change; default 3 s. */
  staleWaitMs?: number;
}

/** The items of a job, or a function making them in the current session (picture uploads). */
export type JobItems = OutgoingItem[] | (() => Promise<OutgoingItem[]>);

interface Job {
  target: StableTarget;
  items: JobItems;
  /** msg_ids of the first pieces, sent by an earlier attempt of the same delivery: not sent again. */
  alreadySent: number[];
  /** Told the msg_ids sent so far between pieces (SendOptions.onPiece). */
  onPiece?: ((sentMsgIds: readonly number[]) => Promise<void>) | undefined;
  resolve(ids: number[]): void;
  reject(e: unknown): void;
}

export const HARD_FAILURE_LIMIT = 5;
/** Sessions a single job may outlive before it is handed back as retryable. */
const SESSION_RETRIES = 5;

export class Sender {
  private seq: number;
  private readonly queue: Job[] = [];
  private draining = false;
  private lastSendAt = 0;
  private hardFailures = 0;
  private closed = false;
  private closing = new AbortController();

  constructor(private readonly deps: SenderDeps) {
    this.seq = msgIdSeed();
  }

  /** Next msg_id; strictly increasing for the life of this sender (§4.3). */
  nextMsgId(): number {
    return ++this.seq;
  }

  get pending(): number {
    return this.queue.length;
  }

  /**
   * Queues a message. `alreadySent` (msg_ids an earlier attempt of this same message got out, from
   * its SendError.sentMsgIds) resumes after those pieces; the result then lists them first.
   */
  send(target: StableTarget, items: JobItems, alreadySent: readonly number[] = [], onPiece?: (sentMsgIds: readonly number[]) => Promise<void>): Promise<number[]> {
    if (this.closed) return Promise.reject(new SendError('send', undefined, 'WebQQ client is stopped', [...alreadySent], true));
    return new Promise<number[]>((resolve, reject) => {
      this.queue.push({ target, items, alreadySent: [...alreadySent], onPiece, resolve, reject });
      void this.drain();
    });
  }

  /** Accepts sends again after close() (client restart). msg_ids keep increasing. */
  reopen(): void {
    this.closed = false;
    this.closing = new AbortController();
  }

  /** Rejects everything still queued, and the job waiting for the session (client stop). */
  close(): void {
    this.closed = true;
    this.closing.abort(new SendError('send', undefined, 'WebQQ client stopped before sending', [], true));
    for (const job of this.queue.splice(0)) job.reject(new SendError('send', undefined, 'WebQQ client stopped before sending', job.alreadySent, true));
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length) {
        const job = this.queue.shift()!;
        try {
          job.resolve(await this.sendJob(job));
        } catch (e) {
          job.reject(e);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private async pace(): Promise<void> {
    const wait = this.lastSendAt + this.deps.intervalMs - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }

  private endpointOf(t: StableTarget): string {
    return t.kind === 'buddy' ? 'send_buddy_msg2' : t.kind === 'sess' ? 'send_sess_msg2' : t.kind === 'group' ? 'send_qun_msg2' : 'send_discu_msg2';
  }

  /** Waits until the session may be used; a stop or a session that stays away fails the job as retryable. */
  private async ready(ep: string, sent: number[]): Promise<void> {
    const holdMs = this.deps.holdMs ?? 60_000;
    try {
      await this.deps.gate.ready(this.closing.signal, holdMs);
    } catch (e) {
      if (e instanceof SendError) throw new SendError(ep, undefined, e.message, sent, true);
      throw new SendError(ep, undefined, `not sent: ${(e as Error).message}`, sent, true, e);
    }
  }

  private async sendJob(job: Job): Promise<number[]> {
    const ep = this.endpointOf(job.target);
    const { gate } = this.deps;
    // Pieces go out from sent.length on: a resumed job starts after what went out before.
    const sent: number[] = [...job.alreadySent];
    for (let session = 0; ; session++) {
      if (session > SESSION_RETRIES) throw new SendError(ep, undefined, `${ep}: the session kept changing; not sent`, sent, true);
      await this.ready(ep, sent);
      const epoch = gate.epoch;
      const stale = () => !gate.isOpen || gate.epoch !== epoch;
      // Everything below belongs to this session: redo it all when the session changes.
      let target: SendTarget;
      let pieces: OutgoingItem[][];
      let gface: GfaceSig | undefined;
      try {
        target = await this.deps.resolve(job.target);
        const items = typeof job.items === 'function' ? await job.items() : job.items;
        pieces = splitContent(items, this.deps.maxBytes ?? 720);
        if (items.some((i) => i.type === 'cface') && (job.target.kind === 'group' || job.target.kind === 'discussion')) {
          try {
            gface = await this.deps.gfaceSig();
          } catch (e) {
            throw new SendError('get_gface_sig2', undefined, `cannot send a picture: ${(e as Error).message}`, sent, true, e);
          }
        }
      } catch (e) {
        if (stale()) continue;
        if (e instanceof SendError || e instanceof UnknownTargetError || e instanceof NotReadyError) throw e;
        throw new SendError(ep, undefined, `cannot prepare the send: ${(e as Error).message}`, sent, true, e);
      }
      if (stale()) continue;
      const done = await this.sendPieces(ep, job, target, pieces, gface, sent, epoch);
      if (done) return sent;
    }
  }

  /** Between two pieces: the caller records what went out before the next one goes. */
  private async progress(ep: string, job: Job, sent: number[], i: number, count: number): Promise<void> {
    if (!job.onPiece || i >= count - 1) return;
    try {
      await job.onPiece([...sent]);
    } catch (e) {
      throw new SendError(ep, undefined, `stopped after piece ${i + 1}/${count}: its progress could not be recorded (${(e as Error).message})`, sent, true, e);
    }
  }

  /**
   * Sends the pieces not sent yet. Returns false when the session changed before or under a piece
   * (the caller starts over in the new session), throws on a real failure.
   */
  private async sendPieces(ep: string, job: Job, target: SendTarget, pieces: OutgoingItem[][], gface: GfaceSig | undefined, sent: number[], epoch: number): Promise<boolean> {
    const { gate } = this.deps;
    for (let i = sent.length; i < pieces.length; i++) {
      const piece = pieces[i]!;
      await this.pace();
      if (!gate.isOpen || gate.epoch !== epoch) return false;
      const msgId = this.nextMsgId();
      const withPic = gface && piece.some((it) => it.type === 'cface') ? { gface } : {};
      const face = this.deps.face?.() ?? 0;
      let answer;
      try {
        this.deps.onSending?.(target, piece, msgId);
        // ctx(), the cookies and the target are read in this synchronous step: one session.
        answer = await sendMessage(this.deps.ctx(), target, encodeContent(piece), msgId, { face, ...withPic });
      } catch (e) {
        this.lastSendAt = Date.now();
        if (e instanceof TransportError && gate.epoch !== epoch) return false;
        // An unreachable server says nothing about the session: a relogin would only replace a
        // session that is still good (and lose what the server holds for it). The poller backs
        // off on the same outage and relinks if the session really died.
        if (!(e instanceof TransportError)) this.hardFailure();
        // No answer we could read (network error, HTTP 502/503, a garbled body): the server has not
        // refused this message, so it is worth sending again. Only a retcode refuses it (below).
        throw new SendError(ep, undefined, `${ep} failed on piece ${i + 1}/${pieces.length}: ${(e as Error).message}`, sent, true, e);
      }
      this.lastSendAt = Date.now();
      const rc = answer.retcode;
      if (rc === 0 || rc === 100100) {
        this.hardFailures = 0;
        sent.push(msgId);
        await this.progress(ep, job, sent, i, pieces.length);
        continue;
      }
      if (rc === 1202) {
        // Often delivered anyway; resending would duplicate at the receiver (§4.6).
        this.deps.log.warn({ endpoint: ep, msgId }, 'send answered 1202: probably delivered, not resent');
        this.deps.onUncertain?.(target, msgId);
        this.hardFailures = 0;
        sent.push(msgId);
        await this.progress(ep, job, sent, i, pieces.length);
        continue;
      }
      const what = `${ep} answered retcode ${rc}${answer.errmsg ? ` (${answer.errmsg})` : ''} on piece ${i + 1}/${pieces.length}`;
      if (SESSION_CODES.has(rc) || rc === STALE_TARGET_CODE) {
        // The poll that tells the client about a dead session usually lands at about the same time
        // as this answer: give it a moment before calling the refusal real.
        if (await gate.changedSince(epoch, this.deps.staleWaitMs ?? 3000, this.closing.signal)) {
          this.deps.log.info({ endpoint: ep, retcode: rc }, 'send refused by a session that was being replaced; sending again in the new one');
          return false;
        }
      }
      this.hardFailure();
      throw new SendError(ep, rc, what, sent, SESSION_CODES.has(rc));
    }
    return true;
  }

  private hardFailure(): void {
    this.hardFailures++;
    if (this.hardFailures >= HARD_FAILURE_LIMIT) {
      const n = this.hardFailures;
      this.hardFailures = 0;
      this.deps.log.warn({ failures: n }, 'consecutive send failures; asking for a relogin');
      this.deps.onHardFailures(n);
    }
  }
}
