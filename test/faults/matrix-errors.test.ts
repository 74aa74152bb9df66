/**
 * The Matrix homeserver answers 5xx and then 429 (M_LIMIT_EXCEEDED, retry_after_ms) to sends
 * while QQ messages stream to a linked room: every message appears in the room once, in order.
 * Bound: exactly once — a refused send stored nothing, and a retried send reuses its txnId (the
 * homeserver would answer a repeat with the first event).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildRegistration, writeRegistration } from '../../src/connectors/matrix/registration.js';
import type { RunningBridge } from '../../src/bridge.js';
import { startHarness, tempDir, waitUntil, type Harness } from '../e2e/harness.js';
import { FakeHomeserver } from '../fakes/homeserver.js';
import { expectExactlyOnce, numbersOf, range, sleep, stream } from './support.js';
import { rmSync } from 'node:fs';

const DOMAIN = 'test.hs';
const ALICE = '@alice:test.hs';

let h: Harness;
let hs: FakeHomeserver;
let room: string;
let regDir: string;
beforeAll(async () => {
  regDir = tempDir('qqbridge-fault-mx-');
  const reg = buildRegistration({ id: 'qqbridge', url: '', domain: DOMAIN, userPrefix: 'qq_', senderLocalpart: 'qqbridge' });
  const regFile = join(regDir, 'registration.yaml');
  writeRegistration(regFile, reg);
  hs = new FakeHomeserver({
    domain: DOMAIN, asToken: reg.as_token, hsToken: reg.hs_token, senderLocalpart: 'qqbridge',
    userNamespace: reg.namespaces.users[0]!.regex, aliasNamespace: reg.namespaces.aliases[0]!.regex,
  });
  await hs.start();
  room = hs.createRoomAs(ALICE, { name: 'bridged' });
  // The appservice listens on a port chosen at start: point the homeserver at it, and have Alice
  // invite the bridge's bot into her room (it joins on invite), as someone bridging a room would.
  const connect = async (b: RunningBridge) => {
    const matrix = b.connectors.find((c) => c.network === 'matrix') as unknown as { port: number };
    hs.setAppserviceUrl(`http://127.0.0.1:${matrix.port}`);
    if (hs.membership(room, hs.botUserId) !== 'join') hs.inviteAs(ALICE, room, hs.botUserId);
    await waitUntil('the bot to join the room', () => (hs.membership(room, hs.botUserId) === 'join' ? true : undefined), 10_000);
  };
  h = await startHarness({
    channel: '#qq-mx',
    extraYaml: {
      top: ['matrix:', `  homeserverUrl: ${JSON.stringify(hs.url)}`, `  domain: ${DOMAIN}`, `  registration: ${JSON.stringify(regFile)}`, '  port: 0'],
      link: [`    matrix: ${JSON.stringify(room)}`],
    },
    onBridgeStarted: connect,
  });
});
afterAll(async () => {
  await h?.close();
  await hs?.stop();
  if (regDir) rmSync(regDir, { recursive: true, force: true });
});

const received = () => numbersOf(hs.messages(room).map((e) => String(e.content.body ?? '')), 'mx-q');

it('QQ -> Matrix through homeserver 5xx and 429: every message once, in order', async () => {
  const N = 30;
  const refusedBefore = hs.requests.filter((r) => r.path.includes('/send/') && r.status >= 429).length;
  // Each fault waits until the previous one has been worked through, so each hits a different
  // message: the outbox's backoff grows per message (1 s doubling), and seven failures in a row on
  // one message would push its next try a minute away (see the report).
  const upTo = (k: number) => waitUntil(`message ${k} in the room`, () => (received().includes(k) ? true : undefined), 20_000);
  await stream(range(N), 40, (n) => h.qq.say(`mx-q ${n}`), async (n) => {
    if (n === 5) hs.failNext(2, { status: 502, errcode: 'M_UNKNOWN' });
    if (n === 15) {
      await upTo(5);
      hs.failNext(4, { status: 429, errcode: 'M_LIMIT_EXCEEDED', retryAfterMs: 300 });
    }
    if (n === 25) {
      await upTo(15);
      hs.failNext(1, { status: 500, errcode: 'M_UNKNOWN' });
    }
  });
  const deadline = Date.now() + 40_000;
  while (!received().includes(N) && Date.now() < deadline) await sleep(50);
  await sleep(500);
  expectExactlyOnce(received(), range(N), 'QQ -> Matrix');
  // The faults were really met.
  expect(hs.requests.filter((r) => r.path.includes('/send/') && r.status >= 429).length - refusedBefore).toBe(7);
  expectExactlyOnce(numbersOf(h.irc.texts(), 'mx-q'), range(N), 'QQ -> IRC alongside');
}, 60_000);
