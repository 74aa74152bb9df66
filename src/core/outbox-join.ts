/**
 * Which queued items of one room go out as one message, for a connector that joins a backlog
 * (Connector.join). Kept out of the outbox's loop so that loop only asks "which items does this
 * send carry?". The choice is recorded in the store before the send: a retry or a restart after a
 * crash then sends exactly the same items together, never a different mix.
 */
import type { OutboxItem, OutboxStore, StoreTarget } from '../store/store.js';
import type { Connector, Delivery } from './connector.js';

/** Deliveries offered to one `plan` call at most (a joined message is short anyway). */
export const JOIN_LOOKAHEAD = 50;

export interface JoinedSend {
  items: OutboxItem[];
  deliveries: Delivery[];
}

/**
 * The items (the head first) that the next send of `head` carries, with their deliveries, or
 * undefined when the head goes alone through Connector.send. What waits behind the head is read
 * afresh: a backlog that built up while the last send was paced is what joining is for.
 */
export async function joinedSend(args: {
  conn: Connector;
  store: Pick<OutboxStore, 'markCarries' | 'nextPending'>;
  target: StoreTarget;
  head: OutboxItem;
  headDelivery: Delivery;
  /** The delivery of a queued item, or undefined when its payload cannot be read. */
  prepare(item: OutboxItem): Promise<Delivery | undefined>;
}): Promise<JoinedSend | undefined> {
  const { conn, head } = args;
  if (!conn.join) return undefined;
  await conn.join.ready?.(args.target.room);
  const fresh = await args.store.nextPending(args.target, JOIN_LOOKAHEAD + 1);
  // Items before the head may be delivered with their marks not yet committed: only later seqs count.
  const rest = fresh.filter((i) => i.seq > head.seq);
  // What the store says now wins over the worker's copy (a rejected join marks its items alone).
  head.carries ??= fresh.find((i) => i.seq === head.seq)?.carries;
  if (head.carries) {
    // Planned before (by this run or one that crashed): exactly those, whatever arrived since.
    const wanted = new Set(head.carries);
    const items = [head, ...rest.filter((i) => wanted.has(i.seq))];
    if (items.length < 2) return undefined;
    const deliveries = [args.headDelivery];
    for (const item of items.slice(1)) {
      const d = await args.prepare(item);
      if (!d) return undefined;
      deliveries.push(d);
    }
    return { items, deliveries };
  }
  if (rest.length === 0) return undefined;
  const items = [head];
  const deliveries = [args.headDelivery];
  for (const item of rest.slice(0, JOIN_LOOKAHEAD - 1)) {
    const d = await args.prepare(item);
    if (!d) break;
    items.push(item);
    deliveries.push(d);
  }
  const n = Math.max(1, Math.min(items.length, Math.floor(await conn.join.plan(deliveries))));
  head.carries = items.slice(0, n).map((i) => i.seq);
  await args.store.markCarries(head.seq, head.carries);
  if (n < 2) return undefined;
  return { items: items.slice(0, n), deliveries: deliveries.slice(0, n) };
}
