/**
 * Our client-server calls (src/connectors/matrix/client.ts) against matrix-appservice-bridge's
 * Bridge/Intent, doing the same work against a real Synapse: register a ghost, join it to a room,
 * send N messages one at a time. Each side runs in its own child process (`MODE=own|intent`), so
 * the RSS figures compare only what each client loads and keeps (both children run under tsx,
 * which adds the same ~33 MB to each).
 * `npx tsx bench/matrix-clients.ts` prints both; `run.ts` adds the rows.
 */
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { MatrixClient } from '../src/connectors/matrix/client.js';
import type { Homeserver } from '../test/connectors/matrix/synapse/harness.js';
import { spread, type Spread } from './lib.js';

export interface ClientResult {
  mode: 'own' | 'intent';
  send: Spread;
  /** RSS after the work and a forced GC, and the heap used then. */
  rssMb: number;
  heapMb: number;
}

async function child(mode: 'own' | 'intent', hs: { url: string; reg: Homeserver['reg'] }, n: number): Promise<ClientResult> {
  const ghost = `@qq_${mode === 'own' ? 20001 : 20002}:localhost`;
  const bot = new MatrixClient(hs.url, hs.reg.as_token);
  const room = (await bot.createRoom({ preset: 'public_chat' })).room_id;
  const times: number[] = [];
  if (mode === 'own') {
    const c = new MatrixClient(hs.url, hs.reg.as_token);
    await c.register(ghost.slice(1, ghost.indexOf(':')));
    await c.join(room, ghost);
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await c.sendEvent(room, 'm.room.message', `b${i}`, { msgtype: 'm.text', body: `m${i}` }, ghost);
      times.push(performance.now() - t0);
    }
  } else {
    const { Bridge, AppServiceRegistration } = await import('matrix-appservice-bridge');
    const bridge = new Bridge({
      homeserverUrl: hs.url, domain: 'localhost', registration: AppServiceRegistration.fromObject(hs.reg as never),
      controller: { onEvent: () => undefined }, disableStores: true,
    });
    await bridge.initialise();
    const intent = bridge.getIntent(ghost);
    await intent.ensureRegistered();
    await intent.join(room);
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await intent.sendText(room, `m${i}`);
      times.push(performance.now() - t0);
    }
  }
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { mode, send: spread(times), rssMb: m.rss / 1024 / 1024, heapMb: m.heapUsed / 1024 / 1024 };
}

/** Starts one Synapse and runs both modes in child processes, one after the other. */
export async function benchMatrixClients(n = 50): Promise<ClientResult[]> {
  // Imported here, not at the top: a child must load only the client it measures.
  const { startSynapse } = await import('../test/connectors/matrix/synapse/harness.js');
  const hs = await startSynapse();
  try {
    const out: ClientResult[] = [];
    for (const mode of ['own', 'intent'] as const) {
      const stdout = execFileSync(process.execPath, [...process.execArgv, '--expose-gc', new URL(import.meta.url).pathname], {
        env: { ...process.env, MODE: mode, HS: JSON.stringify({ url: hs.url, reg: hs.reg }), N: String(n) }, encoding: 'utf8', timeout: 120_000,
      });
      out.push(JSON.parse(stdout.trim().split('\n').pop()!) as ClientResult);
    }
    return out;
  } finally {
    await hs.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const n = Number(process.env.N ?? 50);
  if (process.env.MODE === 'own' || process.env.MODE === 'intent') {
    console.log(JSON.stringify(await child(process.env.MODE, JSON.parse(process.env.HS!) as { url: string; reg: Homeserver['reg'] }, n)));
    process.exit(0); // the library's Bridge keeps timers and sockets open
  } else {
    for (const r of await benchMatrixClients(n)) {
      console.log(`${r.mode}: send p50 ${r.send.p50.toFixed(1)} ms, p99 ${r.send.p99.toFixed(1)} ms (n=${r.send.n}); RSS after GC ${r.rssMb.toFixed(1)} MB, heap ${r.heapMb.toFixed(1)} MB`);
    }
  }
}
