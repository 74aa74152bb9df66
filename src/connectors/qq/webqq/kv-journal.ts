/**
 * The WebQQ poll journal on the bridge's store: the raw answers waiting to be handed over, as one
 * JSON list under one key-value entry. One poller writes it, one answer at a time, so the list
 * stays short (usually empty or one answer) and a read-modify-write is safe.
 */
import type { PollJournal } from './poller.js';

export interface KvStore {
  kvGet(key: string): Promise<string | undefined>;
  kvSet(key: string, value: string): Promise<void>;
}

interface Entry {
  id: string;
  raw: string;
  at: number;
}

export const POLL_JOURNAL_KEY = 'qq.webqq.poll-journal';

export function kvPollJournal(store: KvStore, key = POLL_JOURNAL_KEY): PollJournal {
  let seq = 0;
  // Serialised: an append and a done never interleave their read-modify-write.
  let chain: Promise<unknown> = Promise.resolve();
  const read = async (): Promise<Entry[]> => {
    const v = await store.kvGet(key);
    if (!v) return [];
    try {
      const list = JSON.parse(v) as unknown;
      return Array.isArray(list) ? (list as Entry[]).filter((e) => typeof e?.id === 'string' && typeof e.raw === 'string') : [];
    } catch {
      return [];
    }
  };
  const locked = <T>(f: () => Promise<T>): Promise<T> => {
    const next = chain.then(f, f);
    chain = next.catch(() => undefined);
    return next;
  };
  return {
    append: (raw) =>
      locked(async () => {
        const list = await read();
        const id = `${Date.now().toString(36)}-${(seq++).toString(36)}`;
        list.push({ id, raw, at: Date.now() });
        await store.kvSet(key, JSON.stringify(list));
        return id;
      }),
    done: (id) =>
      locked(async () => {
        const list = await read();
        const rest = list.filter((e) => e.id !== id);
        if (rest.length !== list.length) await store.kvSet(key, JSON.stringify(rest));
      }),
    pending: () => locked(async () => (await read()).map(({ id, raw }) => ({ id, raw }))),
  };
}
