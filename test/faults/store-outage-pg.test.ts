/** PostgreSQL stopped for 10 s under the whole bridge, four directions flowing; see store-outage-pg.ts. */
import { afterAll, beforeAll, it } from 'vitest';
import { runOutage, startOutageWorld, type OutageWorld } from './store-outage-pg.js';

let w: OutageWorld;
beforeAll(async () => {
  w = await startOutageWorld('pg10');
}, 90_000);
afterAll(async () => {
  await w?.close();
});

it('PostgreSQL down for 10 s while QQ, IRC, Telegram and Matrix talk: the bridge pauses, says so, and relays every message once, in order, afterwards', async () => {
  const r = await runOutage(w, { outageMs: 10_000, everyMs: 250, beforeMs: 2_000, afterMs: 3_000, tag: 'pg10' });
  if (process.env.QQBRIDGE_FAULT_LOG) console.log({ ...r, reports: Object.fromEntries(Object.entries(r.reports).map(([k, v]) => [k, { missing: v.missing.length, duplicates: v.duplicates }])) });
}, 150_000);
