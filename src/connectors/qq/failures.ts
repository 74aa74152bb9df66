/**
 * What a failed QQ send means for the outbox, for every backend, in one place: the backend says
 * what its implementation answered (a QqFailure), this decides whether it is retried.
 */
import { DeliveryError, isDeliveryError } from '../../core/errors.js';
import { QqSendError, type QqFailure } from './backend.js';

const KIND: Record<QqFailure, 'retryable' | 'rejected'> = {
  // The implementation refused this very message: sending it again gets the same answer.
  'bad-request': 'rejected',
  'not-in-room': 'rejected',
  // The account or the connection: the message waits in the outbox until QQ takes it again.
  offline: 'retryable',
  refused: 'retryable',
  transient: 'retryable',
};

export function deliveryErrorFor(e: unknown): DeliveryError {
  if (isDeliveryError(e)) return e;
  if (e instanceof QqSendError) return new DeliveryError(KIND[e.failure], e.message, { cause: e });
  return new DeliveryError('retryable', `QQ send failed: ${(e as Error).message}`, { cause: e });
}

/** The remote ids a failed send already created (a split message), so a retry sends only the rest. */
export function sentBeforeFailure(e: unknown, alreadySent: readonly string[]): readonly string[] {
  return e instanceof QqSendError && e.sentIds.length >= alreadySent.length ? e.sentIds : alreadySent;
}
