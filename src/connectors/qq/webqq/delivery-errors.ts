/**
 * The one place WebQQ client errors become delivery outcomes. The client says whether trying again
 * can work; the outbox wants retryable / rejected / fatal.
 */
import { DeliveryError, isDeliveryError } from '../../../core/errors.js';
import { LoginError, SendError, UnknownTargetError, WebQqError } from './errors.js';

/** msg_ids of the pieces a failed send got out; undefined when the error says nothing about pieces. */
export function sentPieces(e: unknown): number[] | undefined {
  return e instanceof SendError ? e.sentMsgIds : undefined;
}

export function toDeliveryError(e: unknown): DeliveryError {
  if (isDeliveryError(e)) return e;
  if (e instanceof UnknownTargetError) return new DeliveryError('rejected', e.message, { cause: e });
  // A login that cannot work without the operator (wrong password, frozen account): nothing sends.
  if (e instanceof LoginError && !e.retryable) return new DeliveryError('fatal', `QQ login failed: ${e.message}`, { cause: e });
  if (e instanceof WebQqError) return new DeliveryError(e.retryable ? 'retryable' : 'rejected', e.message, { cause: e });
  return new DeliveryError('retryable', `QQ send failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}
