/** PostgreSQL stopped for 2 minutes under the whole bridge, lighter traffic four ways; see store-outage-pg.ts. */
import { afterAll, beforeAll, it } from 'vitest';
import { runOutage, startOutageWorld, type OutageWorld } from './store-outage-pg.js';

let w: OutageWorld;
beforeAll(async () => {
  w = await startOutageWorld('pg120');
}, 90_000);
afterAll(async () => {
  await w?.close();
});

it('PostgreSQL down for 2 minutes while QQ, IRC, Telegram and Matrix talk: held, announced, and all relayed once, in order, with no restart', async () => {
  const r = await runOutage(w, { outageMs: 120_000, everyMs: 2_500, beforeMs: 3_000, afterMs: 3_000, tag: 'pg120' });
  if (process.env.QQBRIDGE_FAULT_LOG) console.log({ ...r, reports: Object.fromEntries(Object.entries(r.reports).map(([k, v]) => [k, { missing: v.missing.length, duplicates: v.duplicates }])) });
}, 240_000);
