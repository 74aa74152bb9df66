/**
 * kill -9 of the bridge process while a real Synapse 1.67 keeps pushing transactions: the
 * homeserver marks the application service down and retries with its back-off; the bridge started
 * again on the same state takes every Matrix message once, in order, and its ghosts do not join
 * again (membership survives the restart). The bridge is `qqbridge run` in a child process, with
 * the WebQQ simulator as QQ. Skipped with one line where synapse.sh is missing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../src/log.js';
import { startSimulator, type RunningSimulator } from '../../../../src/simulator/index.js';
import { BridgeProcess, MEMBERS, outboxCounts, SimControl, tempDir, waitUntil, ACCOUNT, GROUP as GROUP_NUMBER } from '../../../e2e/harness.js';
import { numbersOf, range } from '../../../faults/support.js';
import { DOMAIN, Human, haveSynapse, startSynapse, type Homeserver } from './harness.js';

const TAG = 'crash-k';

describe.skipIf(!haveSynapse)('bridge killed -9 while Synapse pushes', () => {
  let hs: Homeserver;
  let sim: RunningSimulator;
  let qq: SimControl;
  let alice: Human;
  let room: string;
  let dir: string;
  let bridge: BridgeProcess;
  const stateDir = () => path.join(dir, 'state');
  const ghost = `@qq_${MEMBERS.robot}:${DOMAIN}`;

  beforeAll(async () => {
    dir = tempDir('qqbridge-synapse-crash-');
    [hs, sim] = await Promise.all([startSynapse(), startSimulator({ pollHoldMs: 300, log: silentLogger })]);
    qq = new SimControl(sim.controlUrl);
    alice = await Human.register(hs, 'alice');
    room = (await alice.api<{ room_id: string }>('POST', '/_matrix/client/v3/createRoom', { name: 'crash', preset: 'private_chat' })).room_id;
    fs.mkdirSync(stateDir(), { recursive: true });
    const file = path.join(dir, 'bridge.yaml');
    fs.writeFileSync(file, [
      `stateDir: ${JSON.stringify(stateDir())}`,
      'log: { level: warn }',
      'qq:',
      `  uin: ${ACCOUNT.qq}`,
      `  password: ${JSON.stringify(ACCOUNT.password)}`,
      `  endpoint: ${JSON.stringify(sim.url)}`,
      `  stateDir: ${JSON.stringify(path.join(stateDir(), 'qq'))}`,
      '  sendIntervalMs: 50',
      'matrix:',
      `  homeserverUrl: ${JSON.stringify(hs.url)}`,
      `  domain: ${DOMAIN}`,
      `  registration: ${JSON.stringify(path.join(hs.dir, 'registration.yaml'))}`,
      `  port: ${hs.bridgePort}`,
      `  admins: [${JSON.stringify(alice.userId)}]`,
      'media: { enabled: false }',
      'mappings:',
      `  - qq: { group: ${GROUP_NUMBER} }`,
      `    matrix: ${JSON.stringify(room)}`,
      '',
    ].join('\n'));
    bridge = new BridgeProcess(file);
  }, 180_000);

  afterAll(async () => {
    await bridge?.kill();
    await sim?.close();
    await hs?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Starts the bridge process; resolves once it is logged in to QQ and its appservice answers. */
  async function start(): Promise<void> {
    // A fresh login, or the stored WebQQ session resumed: either way its polls move on.
    const sig = async () => JSON.stringify((await qq.state()).sessions.map((x) => x.ptwebqq + x.relinks + x.polls));
    const before = await sig();
    bridge.start();
    await waitUntil(`the bridge process up\n${bridge.output}`, async () => {
      if (!bridge.running) throw new Error(`bridge exited:\n${bridge.output}`);
      if ((await sig()) === before || !(await qq.state()).sessions.some((x) => x.online)) return undefined;
      const res = await fetch(`http://127.0.0.1:${hs.bridgePort}/_matrix/app/v1/users/%40nobody%3A${DOMAIN}`).catch(() => undefined);
      return res ? true : undefined;
    }, 40_000, 100);
  }

  const toQq = async () => numbersOf((await qq.sent()).filter((s) => s.group === GROUP_NUMBER).map((s) => s.text), TAG);
  const say = (n: number) => alice.send(room, { msgtype: 'm.text', body: `${TAG} ${n}` });
  /** The ghost's member events (joins, name changes): each one a line in every Matrix client's timeline. */
  const ghostMemberEvents = async () => (await alice.timeline(room)).filter((e) => e.type === 'm.room.member' && e.state_key === ghost).map((e) => e.content);

  it('every Matrix message reaches QQ once, in order; the ghost is not joined or renamed again after it', async () => {
    await start();
    await alice.api('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/invite`, { user_id: `@qqbridge:${DOMAIN}` });
    await waitUntil('the bot in the room', async () => ((await alice.state<{ membership: string }>(room, 'm.room.member', `@qqbridge:${DOMAIN}`).catch(() => undefined))?.membership === 'join' ? true : undefined), 20_000);

    // A QQ member speaks: their ghost joins the room once.
    await qq.say('from QQ before the crash');
    await waitUntil('the QQ message in Matrix', async () => ((await alice.messages(room)).some((e) => e.sender === ghost && e.content.body === 'from QQ before the crash') ? true : undefined), 20_000);
    const memberEvents = await ghostMemberEvents();
    expect(memberEvents.at(-1)).toMatchObject({ membership: 'join' });

    for (const n of range(3)) await say(n);
    await waitUntil(`1-3 delivered to QQ and recorded\n${bridge.output}`, async () => {
      const c = outboxCounts(stateDir(), 'qq');
      return (await toQq()).length === 3 && c.pending === 0 && c.delivered >= 3 ? true : undefined;
    }, 30_000);

    // 4 is sent and the bridge dies as Synapse pushes it; 5 and 6 arrive while it is dead, so the
    // homeserver marks the service down and retries on its back-off (2 s, 4 s, …).
    await say(4);
    await bridge.kill('SIGKILL');
    await say(5);
    await say(6);
    // The homeserver did push into the dead process, and will push again.
    const hsLog = path.join(hs.dir, 'hs', 'homeserver.log');
    await waitUntil('Synapse failing a push to the dead bridge', () => (/push_bulk to \S+\/transactions\/\d+ threw exception/.test(fs.readFileSync(hsLog, 'utf8')) ? true : undefined), 10_000, 100);
    expect(await toQq()).toEqual([1, 2, 3]);

    await start();
    await say(7);
    await waitUntil(`1-7 in QQ\n${bridge.output}`, async () => ((await toQq()).length >= 7 ? true : undefined), 60_000, 200);
    await new Promise((r) => setTimeout(r, 1000)); // a late duplicate would show by now
    expect(await toQq()).toEqual(range(7));

    // QQ → Matrix after the restart: the ghost speaks without joining again.
    await qq.say('from QQ after the crash');
    await waitUntil('the QQ message after the restart', async () => ((await alice.messages(room)).some((e) => e.sender === ghost && e.content.body === 'from QQ after the crash') ? true : undefined), 20_000);
    expect(await ghostMemberEvents()).toEqual(memberEvents);
    expect((await qq.violations()).length).toBe(0);
  }, 150_000);
});
