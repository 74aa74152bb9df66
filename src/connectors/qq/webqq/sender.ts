/**
 * Outgoing messages (protocol reference §2.6, §4.3–§4.6): one send at a time through a FIFO queue,
 * at least `intervalMs` apart; long text split at 720 bytes; msg_id strictly increasing from the
 * web client's seed. Every caller is told the outcome: resolved with the msg_ids sent, or rejected
 * with a SendError naming the retcode.
 */
import type { Logger } from '../../../log.js';
import { DeliveryError } from '../../../core/errors.js';
import { sendMessage, type ApiContext, type GfaceSig, type SendTarget } from './api.js';
import { encodeContent, splitContent, type OutgoingItem } from './content.js';
import { TransportError } from './transport.js';

/** The official mq.js seed: `floor(now/1000) % 10000 * 10000`, then `++seed` per send. */
export function msgIdSeed(nowMs = Date.now()): number {
  return (Math.floor(nowMs / 1000) % 10000) * 10000;
}

/** Retcodes that mean the session is gone: worth retrying after the client relinks. */
const SESSION_CODES = new Set([103, 108, 100, 121, 120, 122, 100000]);

export class SendError extends DeliveryError {
  constructor(
    readonly endpoint: string,
    readonly retcode: number | undefined,
    message: string,
    /** msg_ids of the pieces that went out before the failure. */
    readonly sentMsgIds: number[],
    kind: 'retryable' | 'rejected' | 'fatal',
    cause?: unknown,
  ) {
    super(kind, message, { cause });
    this.name = 'SendError';
  }
}

export interface SenderDeps {
  ctx(): ApiContext;
  log: Logger;
  intervalMs: number;
  /** The group-picture key/sig, fetched once per session. */
  gfaceSig(): Promise<GfaceSig>;
  /** After 5 consecutive hard failures (Mojo): the client should relogin. */
  onHardFailures(count: number): void;
  /** Avatar id for the `face` field. */
  face?(): number;
  maxBytes?: number;
  /** Notified of 1202 answers (delivered, maybe): not resent, per §4.6. */
  onUncertain?(target: SendTarget, msgId: number): void;
}

interface Job {
  target: SendTarget;
  items: OutgoingItem[];
  resolve(ids: number[]): void;
  reject(e: unknown): void;
}

export const HARD_FAILURE_LIMIT = 5;

export class Sender {
  private seq: number;
  private readonly queue: Job[] = [];
  private draining = false;
  private lastSendAt = 0;
  private hardFailures = 0;
  private closed = false;

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

  send(target: SendTarget, items: OutgoingItem[]): Promise<number[]> {
    if (this.closed) return Promise.reject(new SendError('send', undefined, 'WebQQ client is stopped', [], 'retryable'));
    return new Promise<number[]>((resolve, reject) => {
      this.queue.push({ target, items, resolve, reject });
      void this.drain();
    });
  }

  /** Accepts sends again after close() (client restart). msg_ids keep increasing. */
  reopen(): void {
    this.closed = false;
  }

  /** Rejects everything still queued (client stop). */
  close(): void {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new SendError('send', undefined, 'WebQQ client stopped before sending', [], 'retryable'));
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

  private endpointOf(t: SendTarget): string {
    return t.kind === 'buddy' ? 'send_buddy_msg2' : t.kind === 'group' ? 'send_qun_msg2' : 'send_discu_msg2';
  }

  private async sendJob(job: Job): Promise<number[]> {
    const ep = this.endpointOf(job.target);
    const pieces = splitContent(job.items, this.deps.maxBytes ?? 720);
    const hasPicture = job.items.some((i) => i.type === 'cface');
    let gface: GfaceSig | undefined;
    if (hasPicture && job.target.kind !== 'buddy') {
      try {
        gface = await this.deps.gfaceSig();
      } catch (e) {
        throw new SendError('get_gface_sig2', undefined, `cannot send a picture: ${(e as Error).message}`, [], 'retryable', e);
      }
    }
    const sent: number[] = [];
    for (const [i, piece] of pieces.entries()) {
      await this.pace();
      const msgId = this.nextMsgId();
      const withPic = gface && piece.some((it) => it.type === 'cface') ? { gface } : {};
      const face = this.deps.face?.() ?? 0;
      let answer;
      try {
        answer = await sendMessage(this.deps.ctx(), job.target, encodeContent(piece), msgId, { face, ...withPic });
      } catch (e) {
        this.lastSendAt = Date.now();
        this.hardFailure();
        const kind = e instanceof TransportError ? 'retryable' : 'rejected';
        throw new SendError(ep, undefined, `${ep} failed on piece ${i + 1}/${pieces.length}: ${(e as Error).message}`, sent, kind, e);
      }
      this.lastSendAt = Date.now();
      const rc = answer.retcode;
      if (rc === 0 || rc === 100100) {
        this.hardFailures = 0;
        sent.push(msgId);
        continue;
      }
      if (rc === 1202) {
        // Often delivered anyway; resending would duplicate at the receiver (§4.6).
        this.deps.log.warn({ endpoint: ep, msgId }, 'send answered 1202: probably delivered, not resent');
        this.deps.onUncertain?.(job.target, msgId);
        this.hardFailures = 0;
        sent.push(msgId);
        continue;
      }
      this.hardFailure();
      const kind = SESSION_CODES.has(rc) ? 'retryable' : 'rejected';
      throw new SendError(
        ep,
        rc,
        `${ep} answered retcode ${rc}${answer.errmsg ? ` (${answer.errmsg})` : ''} on piece ${i + 1}/${pieces.length}`,
        sent,
        kind,
      );
    }
    return sent;
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
