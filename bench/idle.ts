/**
 * Idle RSS per configured network set (issue 12): QQ + IRC with one mapped group, and all four
 * networks (QQ, IRC, Telegram against the fake Bot API, Matrix against the fake homeserver) with
 * one link each, beside a bare `node`. The bridge child runs the compiled product on plain node;
 * RSS after start-up, 1 s idle and a forced GC.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRegistration, writeRegistration } from '../src/connectors/matrix/registration.js';
import { freePort } from '../src/demo/ngircd.js';
import { startSimulator } from '../src/simulator/index.js';
import { FakeHomeserver } from '../test/fakes/homeserver.js';
import { FakeTelegram } from '../test/fakes/telegram.js';
import { bridgeConfig, channelName, sleep, startChildBridge, worldWithGroups, type Ircd, type Memory } from './lib.js';
import { benchBaseline } from './memory.js';

const TG_TOKEN = '424242:BenchTOKEN_value-abc';
const DOMAIN = 'bench.hs';

export interface IdleResult {
  set: string;
  memory: Memory;
  startMs: number;
  connectedMs: number;
}

async function idleOnce(ircd: Ircd, all: boolean): Promise<IdleResult> {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  try {
    const dir = mkdtempSync(join(tmpdir(), 'bench-idle-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const sim = await startSimulator({ world: worldWithGroups(1), pollHoldMs: 30_000 });
    cleanups.push(() => sim.close());
    let yaml = bridgeConfig({ dir, simUrl: sim.url, ircd, nick: all ? 'bridgeidle4' : 'bridgeidle2', links: 1 });
    if (all) {
      const tg = await new FakeTelegram({ token: TG_TOKEN }).start();
      cleanups.push(() => tg.stop());
      const reg = buildRegistration({ id: 'qqbridge', url: '', domain: DOMAIN, userPrefix: 'qq_', senderLocalpart: 'qqbridge' });
      const regFile = join(dir, 'registration.yaml');
      writeRegistration(regFile, reg);
      const hs = new FakeHomeserver({
        domain: DOMAIN, asToken: reg.as_token, hsToken: reg.hs_token, senderLocalpart: 'qqbridge',
        userNamespace: reg.namespaces.users[0]!.regex, aliasNamespace: reg.namespaces.aliases[0]!.regex,
      });
      await hs.start();
      cleanups.push(() => hs.stop());
      const room = hs.createRoomAs(`@alice:${DOMAIN}`, { name: 'idle room' });
      const port = await freePort();
      yaml = yaml
        .replace(`irc: "${channelName(0)}" }`, `irc: "${channelName(0)}", telegram: -1001000000, matrix: ${JSON.stringify(room)} }`)
        .replace('mappings:', [
          'telegram:', `  token: ${JSON.stringify(TG_TOKEN)}`, `  apiRoot: ${JSON.stringify(tg.apiRoot)}`,
          'matrix:', `  homeserverUrl: ${JSON.stringify(hs.url)}`, `  domain: ${DOMAIN}`, `  registration: ${JSON.stringify(regFile)}`, `  port: ${port}`,
          'mappings:',
        ].join('\n'));
      hs.setAppserviceUrl(`http://127.0.0.1:${port}`);
    }
    const bridge = await startChildBridge(yaml);
    cleanups.unshift(() => bridge.stop());
    await sleep(1000);
    return { set: all ? 'QQ + IRC + Telegram + Matrix' : 'QQ + IRC', memory: await bridge.memory(true), startMs: bridge.startMs, connectedMs: bridge.connectedMs };
  } finally {
    for (const c of cleanups.reverse()) await Promise.resolve().then(c).catch(() => undefined);
  }
}

/** Each set once, and bare node, in the same run. */
export async function benchIdle(ircd: Ircd): Promise<{ bare: Memory; sets: IdleResult[] }> {
  const bare = await benchBaseline();
  const sets = [await idleOnce(ircd, false), await idleOnce(ircd, true)];
  return { bare, sets };
}

/** `npx tsx bench/idle.ts`: these rows alone (builds the product into bench/.build first). */
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const { buildProduct, removeBuild, startIrcd } = await import('./lib.js');
  buildProduct();
  const ircd = await startIrcd();
  try {
    const r = await benchIdle(ircd);
    const mb = (b: number) => (b / 1048576).toFixed(1);
    console.log(`bare node ${mb(r.bare.rss)} MB`);
    for (const s of r.sets) {
      console.log(`${s.set}: RSS ${mb(s.memory.rss)} MB, heap ${mb(s.memory.heapUsed)} MB, start ${s.startMs.toFixed(0)} ms, connected ${s.connectedMs.toFixed(0)} ms`);
      if (process.env.BENCH_MEM_DETAIL) console.log(JSON.stringify(Object.fromEntries(Object.entries(s.memory).map(([k, v]) => [k, mb(v as number)]))));
    }
  } finally {
    await ircd.stop();
    removeBuild();
  }
}
