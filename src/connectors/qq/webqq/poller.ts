/**
 * The poll2 loop (protocol reference §2.1, §3.3, §5). Exactly one poll is in flight; the events of
 * a batch are handed to an async handler that is awaited before the next poll, so the caller can
 * queue them durably first. Every retcode of §3.3 is handled as the table says.
 */
import { backoffDelay } from '../../../core/backoff.js';
import type { Logger } from '../../../log.js';
import type { PollResult } from './api.js';
import { parsePollBody, type PollParse } from './events.js';
import { contentText } from './content.js';
import { LoginError, TransportError } from './errors.js';
import { EventDeduper, type KickEvent, type QqEvent } from './events.js';

/** Where an event came from and who sent it: enough to find it in QQ, without its text. */
export function describeEvent(e: QqEvent): Record<string, unknown> {
  const out: Record<string, unknown> = { poll_type: e.pollType, msg_id: e.msgId };
  if (e.time) out.time = e.time;
  switch (e.type) {
    case 'group_message':
      if (e.groupNumber !== undefined) out.group = e.groupNumber;
      else out.gid = e.gid;
      if (e.groupName !== undefined) out.groupName = e.groupName;
      out.sender = e.senderQq ?? `uin:${e.sendUin}`;
      if (e.senderName !== undefined) out.senderName = e.senderName;
      break;
    case 'discu_message':
      if (e.discussionName !== undefined) out.discussion = e.discussionName;
      else out.did = e.did;
      out.sender = e.senderQq ?? `uin:${e.sendUin}`;
      if (e.senderName !== undefined) out.senderName = e.senderName;
      break;
    case 'message':
    case 'sess_message':
      out.sender = e.senderQq ?? `uin:${e.fromUin}`;
      if (e.senderName !== undefined) out.senderName = e.senderName;
      break;
    case 'sys_g_msg':
      out.subType = e.subType;
      if (e.groupNumber !== undefined) out.group = e.groupNumber;
      else if (e.gcode !== undefined) out.gcode = e.gcode;
      if (e.memberQq !== undefined) out.member = e.memberQq;
      break;
    default:
      out.from = `uin:${e.fromUin}`;
  }
  return out;
}

export interface PollerTuning {
  /** Network-error backoff bounds (exponential with jitter). */
  backoffMinMs: number;
  backoffMaxMs: number;
  /** Pause after an answer that carries nothing (502/504/404, empty or non-JSON body). */
  noiseDelayMs: number;
  /** Pause after a retcode the table says to ignore (100012, 1202, 10000). */
  ignoreDelayMs: number;
  /** 100001/100003 (and unknown retcodes): back off this many times, then relogin. */
  transientLimit: number;
  /** Tries for the event handler before a batch is logged as lost. */
  handlerTries: number;
}

export const DEFAULT_POLLER_TUNING: PollerTuning = {
  backoffMinMs: 1000,
  backoffMaxMs: 60_000,
  noiseDelayMs: 1000,
  ignoreDelayMs: 1000,
  transientLimit: 3,
  handlerTries: 3,
};

/**
 * Where poll answers that carry events are kept durably until their events are handed over, so a
 * process killed in between loses nothing: the next start replays what was kept.
 */
export interface PollJournal {
  /** Keeps a raw poll answer; resolves with its id once it is durable. */
  append(raw: string): Promise<string>;
  /** The answer's events were handed over (or reported lost): it need not be replayed. */
  done(id: string): Promise<void>;
  /** Answers kept but never marked done, oldest first. */
  pending(): Promise<{ id: string; raw: string }[]>;
}

export interface PollerDeps {
  /** Keeps event-carrying answers durably before they are handled (optional). */
  journal?: PollJournal;
  log: Logger;
  /** One poll2 request. May throw on network errors. */
  poll(signal: AbortSignal): Promise<PollResult>;
  /** Receives each (deduplicated, ordered) batch; awaited before the next poll. */
  onEvents(events: QqEvent[]): Promise<void>;
  /** 116: store the new ptwebqq in the cookie jar, the session and the hash input. */
  rotatePtwebqq(p: string): void | Promise<void>;
  /** Relink with the current cookies (§1.4); resolves false when it did not work. */
  relink(): Promise<boolean>;
  /** Full relogin (§1.4); throws when it failed. */
  relogin(reason: string): Promise<void>;
  /** The session was taken over (kick_message): polling has stopped. */
  onKicked(reason: string): void;
  /** A relogin failed for good (a LoginError that is not retryable, e.g. wrong password): polling has stopped. */
  onGiveUp?(error: unknown): void;
  /** Events of a batch the handler already accepted (not reported as lost when the batch is dropped). */
  wasDelivered?(e: QqEvent): boolean;
  /** Own echoes (§5.5) are dropped before the handler sees them. */
  isSelfEcho?(e: QqEvent): Promise<boolean>;
  tuning?: Partial<PollerTuning>;
  /** For tests and metrics: called with every retcode/condition handled. */
  onCondition?(what: string): void;
}

const RELINK_CODES = new Set([103, 108, 120, 121]);
const RELOGIN_CODES = new Set([100, 114, 122, 109, 110, 100006, 100000]);
const IGNORED_CODES = new Set([100012, 1202, 10000]);
const TRANSIENT_CODES = new Set([100001, 100003]);

export class Poller {
  private readonly tuning: PollerTuning;
  private readonly deduper = new EventDeduper(5000);
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  /** Consecutive network failures: the exponent of the next backoff. */
  private backoffAttempt = 0;
  private transient = 0;
  private gaveUp = false;
  /** A relogin asked for from outside the loop (send failures): done by the loop, between polls. */
  private pendingRelogin: string | undefined;
  private pollAbort: AbortController | undefined;

  constructor(private readonly deps: PollerDeps) {
    this.tuning = { ...DEFAULT_POLLER_TUNING, ...deps.tuning };
  }

  get running(): boolean {
    return this.loop !== undefined;
  }

  start(): void {
    if (this.loop) return;
    this.gaveUp = false;
    const abort = new AbortController();
    this.abort = abort;
    this.loop = this.run(abort.signal).finally(() => {
      if (this.abort === abort) {
        this.abort = undefined;
        this.loop = undefined;
      }
    });
  }

  /**
   * Relogin at the loop's next step, abandoning the poll in flight. Relogins only ever run inside
   * the loop, so no poll is built while the session is half replaced.
   */
  requestRelogin(reason: string): void {
    if (!this.loop) return;
    this.pendingRelogin ??= reason;
    this.pollAbort?.abort(new Error(`relogin requested: ${reason}`));
  }

  /** Stops after the in-flight poll is aborted and the handler (if running) returned. */
  async stop(): Promise<void> {
    const loop = this.loop;
    this.abort?.abort(new Error('poller stopped'));
    await loop?.catch(() => undefined);
  }

  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (ms <= 0 || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private nextBackoff(): number {
    const { backoffMinMs, backoffMaxMs } = this.tuning;
    // Equal jitter (the upper half of the step) keeps many clients from retrying in lockstep.
    return backoffDelay(this.backoffAttempt++, { minMs: backoffMinMs, maxMs: backoffMaxMs, jitter: 0.5 });
  }

  private async run(signal: AbortSignal): Promise<void> {
    const { log } = this.deps;
    if (await this.replayJournal(signal)) return;
    while (!signal.aborted) {
      if (this.pendingRelogin !== undefined) {
        const reason = this.pendingRelogin;
        this.pendingRelogin = undefined;
        await this.relogin(reason, signal);
        this.transient = 0;
        if (signal.aborted || this.gaveUp) return;
        continue;
      }
      let res: PollResult;
      const pollAbort = new AbortController();
      const onStop = () => pollAbort.abort(signal.reason);
      signal.addEventListener('abort', onStop, { once: true });
      this.pollAbort = pollAbort;
      try {
        res = await this.deps.poll(pollAbort.signal);
      } catch (e) {
        if (signal.aborted) return;
        if (this.pendingRelogin !== undefined) continue;
        if (e instanceof TransportError && e.timedOut) {
          // The server held longer than our timeout: same as "no message" (§3.3, HTTP-level).
          this.deps.onCondition?.('timeout');
          log.debug('poll2 timed out; re-polling');
          continue;
        }
        const wait = this.nextBackoff();
        this.deps.onCondition?.('network');
        log.warn({ err: e, retryInMs: wait }, 'poll2 failed; backing off');
        await this.sleep(wait, signal);
        continue;
      } finally {
        signal.removeEventListener('abort', onStop);
        this.pollAbort = undefined;
      }
      if (signal.aborted) return;
      this.backoffAttempt = 0;
      const p = res.parse;
      // The session is about to be replaced anyway: a retcode about the old one means nothing.
      if (this.pendingRelogin !== undefined && p.kind !== 'events') continue;
      if (p.kind === 'malformed') {
        // 502/504/404, empty and non-JSON answers are normal long-poll noise (§2.1, §5.10).
        this.deps.onCondition?.('noise');
        log.debug({ status: res.httpStatus, reason: p.reason }, 'poll2 answered nothing usable; re-polling');
        await this.sleep(this.tuning.noiseDelayMs, signal);
        continue;
      }
      if (p.kind === 'retcode') {
        const stop = await this.handleRetcode(p.retcode, p.p, signal);
        if (stop) return;
        continue;
      }
      this.transient = 0;
      this.deps.onCondition?.('events');
      let journalId: string | undefined;
      if (this.deps.journal && res.raw !== undefined) {
        try {
          journalId = await this.deps.journal.append(res.raw);
        } catch (e) {
          log.error({ err: e }, 'poll answer could not be journaled; relaying it anyway (a crash now would lose it)');
        }
      }
      const kicked = await this.handleEvents(p, signal, journalId);
      if (kicked) return;
    }
  }

  /** Answers the journal kept from a run that died before handing them over: handled first. */
  private async replayJournal(signal: AbortSignal): Promise<boolean> {
    const journal = this.deps.journal;
    if (!journal) return false;
    let pending: { id: string; raw: string }[];
    try {
      pending = await journal.pending();
    } catch (e) {
      this.deps.log.error({ err: e }, 'poll journal could not be read; its answers are not replayed');
      return false;
    }
    for (const entry of pending) {
      if (signal.aborted) return true;
      const p = parsePollBody(entry.raw);
      this.deps.log.info({ id: entry.id, events: p.kind === 'events' ? p.events.length : 0 }, 'replaying a poll answer kept before the last stop');
      if (p.kind !== 'events') {
        await journal.done(entry.id).catch(() => undefined);
        continue;
      }
      if (await this.handleEvents(p, signal, entry.id)) return true;
    }
    return false;
  }

  /** Dedupe, own echoes, hand-over, then the journal entry is done. True when the batch was a kick. */
  private async handleEvents(p: Extract<PollParse, { kind: 'events' }>, signal: AbortSignal, journalId: string | undefined): Promise<boolean> {
    const { log } = this.deps;
    for (const w of p.warnings) log.warn({ pollType: w.pollType, index: w.index, reason: w.reason }, 'poll event skipped');
    if (p.skipped > p.warnings.length) log.warn({ skipped: p.skipped - p.warnings.length }, 'more poll events skipped');
    const fresh = this.deduper.filter(p.events);
    const kick = fresh.find((e): e is KickEvent => e.type === 'kick_message');
    const deliver: QqEvent[] = [];
    for (const e of fresh) {
      if (e.type === 'kick_message') continue;
      if (this.deps.isSelfEcho && (await this.deps.isSelfEcho(e))) {
        log.debug({ pollType: e.pollType, msgId: e.msgId }, 'own echo dropped');
        continue;
      }
      deliver.push(e);
    }
    const finished = deliver.length ? await this.deliver(deliver, signal) : true;
    // Stopped in the middle of a hand-over: the journal keeps the answer for the next start.
    if (finished && journalId !== undefined) {
      await this.deps.journal!.done(journalId).catch((e: unknown) => log.warn({ err: e }, 'poll journal entry could not be closed; it will be replayed'));
    }
    if (kick) {
      log.warn({ reason: kick.reason }, 'kicked off WebQQ; polling stopped (no automatic relogin)');
      this.deps.onKicked(kick.reason || 'kicked');
      return true;
    }
    return false;
  }

  /** False when a stop interrupted the hand-over (the batch may be handed over again after a restart). */
  private async deliver(events: QqEvent[], signal: AbortSignal): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.deps.onEvents(events);
        return true;
      } catch (e) {
        if (attempt >= this.tuning.handlerTries || signal.aborted) {
          this.logDropped(events, e);
          return !signal.aborted;
        }
        this.deps.log.warn({ err: e, attempt }, 'event handler failed; retrying');
        await this.sleep(this.tuning.backoffMinMs * attempt, signal);
      }
    }
  }

  /** Names every event a dropped batch lost, so an operator knows what to look for; texts only at debug. */
  private logDropped(events: QqEvent[], err: unknown): void {
    const { log } = this.deps;
    const lost = events.filter((e) => !this.deps.wasDelivered?.(e));
    log.error({ err, events: events.length, lost: lost.length }, 'event handler failed; batch dropped');
    for (const e of lost) {
      const what = describeEvent(e);
      log.error(what, 'QQ event lost (handler failed)');
      if ('content' in e) log.debug({ ...what, text: contentText(e.content.items) }, 'text of the lost QQ event');
    }
  }

  /** Returns true when polling must stop. */
  private async handleRetcode(retcode: number, p: string | undefined, signal: AbortSignal): Promise<boolean> {
    const { log } = this.deps;
    this.deps.onCondition?.(`retcode:${retcode}`);
    if (retcode === 102) {
      this.transient = 0;
      return false;
    }
    if (retcode === 116) {
      if (p) {
        await this.deps.rotatePtwebqq(p);
        log.info('ptwebqq rotated (poll 116)');
      } else log.warn('poll 116 without p; ignored');
      return false;
    }
    if (IGNORED_CODES.has(retcode)) {
      log.debug({ retcode }, 'poll retcode ignored');
      await this.sleep(this.tuning.ignoreDelayMs, signal);
      return false;
    }
    if (RELINK_CODES.has(retcode)) {
      log.info({ retcode }, 'session lost; relinking');
      let relinked = false;
      try {
        relinked = await this.deps.relink();
      } catch (e) {
        log.warn({ err: e }, 'relink failed');
      }
      if (signal.aborted) return true;
      if (!relinked) await this.relogin(`retcode ${retcode}, relink failed`, signal);
      this.transient = 0;
      return signal.aborted || this.gaveUp;
    }
    if (RELOGIN_CODES.has(retcode)) {
      await this.relogin(`poll retcode ${retcode}`, signal);
      this.transient = 0;
      return signal.aborted || this.gaveUp;
    }
    // 100001/100003 and unknown retcodes: back off, relogin after a few in a row (Mojo: > 3).
    this.transient++;
    if (!TRANSIENT_CODES.has(retcode)) log.warn({ retcode }, 'unknown poll retcode');
    if (this.transient > this.tuning.transientLimit) {
      this.transient = 0;
      await this.relogin(`poll retcode ${retcode} ${this.tuning.transientLimit + 1} times in a row`, signal);
      return signal.aborted || this.gaveUp;
    }
    await this.sleep(this.nextBackoff(), signal);
    return false;
  }

  /**
   * Keeps trying a full relogin with backoff until it works or the poller is stopped. An error that
   * says it is not retryable (wrong password, frozen account) stops polling: retrying those in a
   * loop is what gets accounts locked.
   */
  private async relogin(reason: string, signal: AbortSignal): Promise<void> {
    for (;;) {
      if (signal.aborted) return;
      try {
        this.deps.log.info({ reason }, 'relogging in');
        await this.deps.relogin(reason);
        this.backoffAttempt = 0;
        return;
      } catch (e) {
        if (signal.aborted) return;
        if (e instanceof LoginError && !e.retryable) {
          this.deps.log.error({ err: e }, 'relogin failed for good; polling stopped');
          this.gaveUp = true;
          this.deps.onGiveUp?.(e);
          return;
        }
        const wait = this.nextBackoff();
        this.deps.log.error({ err: e, retryInMs: wait }, 'relogin failed');
        await this.sleep(wait, signal);
      }
    }
  }
}
