/**
 * Recovery after a PostgreSQL outage (issue 15): the relay on a real PostgreSQL with traffic
 * flowing (one message every 50 ms), PostgreSQL stopped for 3 s (`pg_ctl -m fast`) and started
 * again, five times. Reports, per outage, the messages held and the time from PostgreSQL being up
 * (`pg_ctl start -w` returned) until the store is available to the relay again and until the held
 * messages are all delivered; then the medians.
 *
 *   npx tsx bench/store-outage.ts
 */
import { Relay } from '../src/core/relay.js';
import { StaticRoutes } from '../src/core/routes.js';
import { silentLogger } from '../src/log.js';
import { openStore } from '../src/store/store.js';
import { LoopbackConnector, LoopbackNetwork } from '../test/support/loopback.js';
import { startPostgres } from '../test/support/postgres.js';

const OUTAGES = Number(process.env.OUTAGES ?? 5);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const pg = await startPostgres();
  try {
    const store = await openStore({ url: await pg.createDatabase(), stateDir: '/unused' }, silentLogger);
    const remote = new LoopbackNetwork();
    const src = new LoopbackConnector('src');
    const dst = new LoopbackConnector('dst', { remote });
    const relay = new Relay({ store, routes: new StaticRoutes([[{ network: 'src', room: 'a' }, { network: 'dst', room: 'b' }]]), log: silentLogger, pruneIntervalMs: 0 });
    relay.register(src);
    relay.register(dst);
    await relay.start();
    let n = 0;
    let flowing = true;
    const traffic = (async () => {
      while (flowing) {
        void src.inject('a', { id: ++n, text: `m ${n}` }).catch(() => undefined);
        await sleep(50);
      }
    })();
    const rows: Array<{ held: number; availableMs: number; drainedMs: number }> = [];
    for (let i = 0; i < OUTAGES; i++) {
      await sleep(500);
      await pg.stopServer();
      await sleep(3_000);
      const held = relay.storeStatus().held;
      const said = n;
      await pg.startServer();
      const t0 = Date.now();
      while (relay.storeStatus().state !== 'available') await sleep(5);
      const availableMs = Date.now() - t0;
      while (remote.sent('b').length < said) await sleep(5);
      rows.push({ held, availableMs, drainedMs: Date.now() - t0 });
    }
    flowing = false;
    await traffic;
    await relay.stop();
    await store.close();
    console.log('| outage | held | store available after | held delivered after |');
    console.log('|---|---|---|---|');
    rows.forEach((r, i) => console.log(`| ${i + 1} | ${r.held} | ${r.availableMs} ms | ${r.drainedMs} ms |`));
    console.log(`| median | ${median(rows.map((r) => r.held))} | ${median(rows.map((r) => r.availableMs))} ms | ${median(rows.map((r) => r.drainedMs))} ms |`);
  } finally {
    await pg.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
