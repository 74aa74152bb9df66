/**
 * Added latency of the Matrix connector against a real Synapse (../shared/tools/synapse), both
 * ways, N messages one at a time: the bridge (Relay + Matrix connector + SQLite) in this process,
 * a loopback QQ side, and a human on Matrix (client API, /sync long-poll) as the other end.
 * Run alone with `npx tsx bench/matrix-synapse.ts` (N=50 by default); `run.ts` adds its rows.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { LoopbackNetwork } from '../test/support/loopback.js';
import { memoryMedia } from '../test/support/memory-media.js';
import { GROUP, Human, haveSynapse, SYNAPSE_SH, startBridge, startSynapse } from '../test/connectors/matrix/synapse/harness.js';
import { spread, type Spread } from './lib.js';

export interface MatrixSynapseResult {
  toMatrix: Spread;
  fromMatrix: Spread;
  /** Synapse alone: Alice sends, Bob's /sync sees it (what any Matrix message costs). */
  direct: Spread;
  rssMb: number;
}

export { haveSynapse, SYNAPSE_SH };

export async function benchMatrixSynapse(n = 50): Promise<MatrixSynapseResult> {
  if (!haveSynapse) throw new Error(`no ${SYNAPSE_SH}`);
  const hs = await startSynapse();
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-bench-matrix-'));
  const remote = new LoopbackNetwork();
  let bridge: Awaited<ReturnType<typeof startBridge>> | undefined;
  try {
    const alice = await Human.register(hs, 'alice');
    const room = (await alice.api<{ room_id: string }>('POST', '/_matrix/client/v3/createRoom', { preset: 'private_chat' })).room_id;
    bridge = await startBridge(hs, stateDir, [room], remote, memoryMedia(), [alice.userId]);
    await alice.api('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/invite`, { user_id: bridge.matrix.botUserId });
    await until(async () => (await alice.state<{ membership: string }>(room, 'm.room.member', bridge!.matrix.botUserId).catch(() => ({ membership: '' }))).membership === 'join');

    const bob = await Human.register(hs, 'bob');
    await alice.api('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/invite`, { user_id: bob.userId });
    await bob.api('POST', `/_matrix/client/v3/join/${encodeURIComponent(room)}`, {});
    // Each human's client: a /sync long-poll noting when each message body first reaches them.
    let syncing = true;
    const follow = async (who: Human, seen: Map<string, number>) => {
      let since = (await who.api<{ next_batch: string }>('GET', '/_matrix/client/v3/sync?timeout=0')).next_batch;
      while (syncing) {
        const r = await who.api<{ next_batch: string; rooms?: { join?: Record<string, { timeline: { events: { type: string; content: { body?: string } }[] } }> } }>(
          'GET', `/_matrix/client/v3/sync?timeout=2000&since=${encodeURIComponent(since)}`);
        const now = Date.now();
        since = r.next_batch;
        for (const ev of r.rooms?.join?.[room]?.timeline.events ?? []) if (ev.type === 'm.room.message' && ev.content.body) seen.set(ev.content.body, seen.get(ev.content.body) ?? now);
      }
    };
    const seen = new Map<string, number>();
    const bobSaw = new Map<string, number>();
    const loops = Promise.all([follow(alice, seen), follow(bob, bobSaw)]);

    // Warm-up both ways (ghost registration and join, first transaction), not counted.
    await bridge.qq.inject(GROUP, { sender: { id: '10001', displayName: 'Bench', puppet: true }, text: 'warm-up q' });
    await until(() => seen.has('warm-up q'));
    await alice.send(room, { msgtype: 'm.text', body: 'warm-up m' });
    await until(() => remote.texts(GROUP).includes('warm-up m'));

    const toMatrix: number[] = [];
    for (let i = 0; i < n; i++) {
      const body = `q${i}`;
      const t0 = Date.now();
      await bridge.qq.inject(GROUP, { sender: { id: '10001', displayName: 'Bench', puppet: true }, text: body });
      await until(() => seen.has(body));
      toMatrix.push(seen.get(body)! - t0);
    }
    const fromMatrix: number[] = [];
    for (let i = 0; i < n; i++) {
      const body = `m${i}`;
      const t0 = Date.now();
      await alice.send(room, { msgtype: 'm.text', body });
      await until(() => remote.texts(GROUP).includes(body));
      fromMatrix.push(remote.sent(GROUP).find((s) => s.delivery.message.parts.some((p) => p.type === 'text' && p.text === body))!.at - t0);
    }
    const direct: number[] = [];
    for (let i = 0; i < n; i++) {
      const body = `d${i}`;
      const t0 = Date.now();
      await alice.send(room, { msgtype: 'm.text', body });
      await until(() => bobSaw.has(body));
      direct.push(bobSaw.get(body)! - t0);
    }
    syncing = false;
    await loops.catch(() => undefined);
    return { toMatrix: spread(toMatrix), fromMatrix: spread(fromMatrix), direct: spread(direct), rssMb: process.memoryUsage().rss / 1024 / 1024 };
  } finally {
    await bridge?.stop();
    await hs.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const n = Number(process.env.N ?? 50);
  const r = await benchMatrixSynapse(n);
  const f = (s: Spread) => `p50 ${s.p50.toFixed(1)} ms, p90 ${s.p90.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms, max ${s.max.toFixed(1)} ms (n=${s.n})`;
  console.log(`QQ → Matrix (Synapse): ${f(r.toMatrix)}`);
  console.log(`Matrix (Synapse) → QQ: ${f(r.fromMatrix)}`);
  console.log(`Synapse alone, Matrix user → Matrix user: ${f(r.direct)}`);
}
