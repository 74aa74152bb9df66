/**
 * PostgreSQL stops (`pg_ctl -m fast`, as a routine restart or failover does) under the whole
 * bridge while numbered messages flow four ways at once: QQ → IRC (WebQQ simulator), IRC → QQ
 * (real ngircd), Telegram → QQ (the fake Bot API) and Matrix → QQ (the fake homeserver, which
 * retries a transaction the bridge answered with 503, as a homeserver does). The bridge runs
 * in this process as `qqbridge run` does (`startService`: metrics, /health, status notices).
 *
 * What is asserted (issue 15), with no restart and no help:
 * - while the store is away, /health's first problem names the store ("store: unavailable
 *   since …, N messages held"), not a network;
 * - the linked rooms are told "the bridge's database is unavailable; N messages are held" and
 *   "… available again";
 * - every message of each direction arrives, in order; a repeat only within the outbox's
 *   window per room (a delivery whose "delivered" mark could not be stored is sent again; the
 *   README's bound is the pipeline window, 16);
 * - after the outage both ways still relay.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { buildRegistration, writeRegistration } from '../../src/connectors/matrix/registration.js';
import { parseConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { startService, type Service } from '../../src/ops/service.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index.js';
import { FakeHomeserver } from '../fakes/homeserver.js';
import { FakeTelegram } from '../fakes/telegram.js';
import { freePort, startNgircd, TestIrcClient, type Ngircd } from '../support/ngircd.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { ChannelView, configYaml, GROUP, HUMAN_NICK, SimControl, telegramYaml, tempDir, waitForBotInChannel, waitUntil } from '../e2e/harness.js';
import { analyse, capturedLogger, numbersOf, range, sleep, type StreamReport } from './support.js';

const TOKEN = '123456:AAstoreOutageTOKEN-xyz';
const CHAT = -1007788;
const TG_USER = { id: 5151, first_name: 'Tina' };
const DOMAIN = 'test.hs';
const MX_USER = '@mara:test.hs';
/** The README's duplicate bound per target room: the outbox's pipeline window. */
const WINDOW = 16;

export interface OutageScenario {
  /** How long PostgreSQL stays down. */
  outageMs: number;
  /** One numbered message per direction this often. */
  everyMs: number;
  /** Traffic before the stop and after the start. */
  beforeMs: number;
  afterMs: number;
  tag: string;
}

export interface OutageWorld {
  pg: TestPostgres;
  ircd: Ngircd;
  sim: RunningSimulator;
  qq: SimControl;
  human: TestIrcClient;
  irc: ChannelView;
  tg: FakeTelegram;
  hs: FakeHomeserver;
  room: string;
  service: Service;
  healthUrl: string;
  logs: ReturnType<typeof capturedLogger>;
  close(): Promise<void>;
}

/** PostgreSQL, ngircd, the WebQQ simulator, the Telegram and Matrix fakes, and the bridge as a service on them. */
export async function startOutageWorld(tag: string): Promise<OutageWorld> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const dir = tempDir(`qqbridge-pg-outage-${tag}-`);
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const pg = await startPostgres();
    cleanups.push(() => pg.stop());
    const url = await pg.createDatabase();
    const ircd = await startNgircd();
    cleanups.push(() => ircd.stop());
    const sim = await startSimulator({ pollHoldMs: 300, log: silentLogger });
    cleanups.push(() => sim.close());
    const channel = `#qq-${tag}`;
    const human = await TestIrcClient.connect(ircd.host, ircd.port, HUMAN_NICK);
    cleanups.push(() => human.close());
    await human.join(channel);
    const tg = await new FakeTelegram({ token: TOKEN }).start();
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
    const room = hs.createRoomAs(MX_USER, { name: 'bridged' });

    const metricsPort = await freePort();
    const tgYaml = telegramYaml(tg.apiRoot, TOKEN, CHAT);
    const yaml = configYaml({
      stateDir: join(dir, 'state'),
      simUrl: sim.url,
      ircHost: ircd.host,
      ircPort: ircd.port,
      channel,
      mediaPort: await freePort(),
      logLevel: 'info',
      extraYaml: {
        top: [
          ...tgYaml.top!,
          'matrix:', `  homeserverUrl: ${JSON.stringify(hs.url)}`, `  domain: ${DOMAIN}`, `  registration: ${JSON.stringify(regFile)}`, '  port: 0',
          'store:', `  url: ${JSON.stringify(url)}`,
          'metrics:', '  enabled: true', '  bindAddress: 127.0.0.1', `  port: ${metricsPort}`,
        ],
        link: [...tgYaml.link!, `    matrix: ${JSON.stringify(room)}`],
      },
    });
    const file = join(dir, 'bridge.yaml');
    writeFileSync(file, yaml);
    const logs = capturedLogger('info');
    const service = await startService(file, parseConfig(yaml, file), logs.log);
    cleanups.push(() => service.shutdown());

    const matrix = service.bridge.connectors.find((c) => c.network === 'matrix') as unknown as { port: number };
    hs.setAppserviceUrl(`http://127.0.0.1:${matrix.port}`);
    hs.inviteAs(MX_USER, room, hs.botUserId);
    await waitUntil('the Matrix bot to join the room', () => (hs.membership(room, hs.botUserId) === 'join' ? true : undefined), 15_000);
    await waitForBotInChannel(human, channel, 20_000);
    await waitUntil(`every network connected\n${logs.text()}`, () => (service.bridge.connectors.every((c) => c.isConnected()) ? true : undefined), 20_000);
    return {
      pg, ircd, sim, qq: new SimControl(sim.controlUrl), human, irc: new ChannelView(human, channel), tg, hs, room, service,
      healthUrl: `${service.server!.url}/health`, logs, close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

interface Health {
  status: string;
  problems: string[];
  store?: { state: string; held: number; since?: string };
}

export async function runOutage(w: OutageWorld, s: OutageScenario): Promise<{ recoveryMs: number; drainMs: number; heldMax: number; reports: Record<string, StreamReport>; said: number }> {
  const t = {
    qq: `${s.tag}-q`, // QQ → IRC
    irc: `${s.tag}-i`, // IRC → QQ
    tg: `${s.tag}-t`, // Telegram → QQ
    mx: `${s.tag}-m`, // Matrix → QQ
  };
  const health = async () => (await (await fetch(w.healthUrl)).json()) as Health;
  const qqTexts = async () => (await w.qq.sent()).filter((x) => x.group === GROUP).map((x) => x.text);

  // The homeserver keeps what the bridge refused with 503 and sends it again, in order (as
  // Synapse's appservice sender does, with its own backoff).
  let hsRetrying = true;
  const hsRetry = (async () => {
    while (hsRetrying) {
      await sleep(500);
      if (w.hs.unacknowledged.length > 0) await w.hs.resendFailed().catch(() => undefined);
    }
  })();

  let n = 0;
  let flowing = true;
  const sayErrors: unknown[] = [];
  const traffic = (async () => {
    while (flowing) {
      const k = ++n;
      await w.qq.say(`${t.qq} ${k}`).catch((e: unknown) => sayErrors.push(e));
      w.human.say(w.irc.channel, `${t.irc} ${k}`);
      w.tg.message(CHAT, TG_USER, { text: `${t.tg} ${k}` });
      w.hs.sendAs(MX_USER, w.room, { msgtype: 'm.text', body: `${t.mx} ${k}` });
      await sleep(s.everyMs);
    }
  })();

  // (Telegram's copy is HTML, where the apostrophe may be an entity.)
  // Never "0 messages are held": from the pause on, everything said is held.
  const downNotice = /database is unavailable; (messages are|1 message is|[1-9]\d* messages are) held and will be relayed when it is back/;
  const up = /database is available again/;
  const noticesIn = {
    IRC: () => w.irc.texts(),
    Telegram: () => w.tg.sentTo(CHAT).map((m) => m.text ?? ''),
    Matrix: () => w.hs.messages(w.room).map((e) => String(e.content.body ?? '')),
  };
  const noticeTexts = () => Object.fromEntries(Object.entries(noticesIn).map(([k, f]) => [k, f().filter((x) => /database/.test(x))]));
  let heldMax = 0;
  let recoveryMs = 0;
  let drainMs = 0;
  try {
    await sleep(s.beforeMs);
    await w.pg.stopServer();
    const stoppedAt = Date.now();
    // The next write finds the store gone; /health then names the store, first.
    const down = await waitUntil(
      `/health to name the store\n${w.logs.text()}`,
      async () => {
        const h = await health();
        return h.store?.state === 'unavailable' ? h : undefined;
      },
      15_000,
      100,
    );
    expect(down.status).toBe('not ready');
    expect(down.problems[0]).toMatch(/^store: unavailable since \d{4}-\d\d-\d\dT[^,]+Z, \d+ messages? held \(PostgreSQL store/);
    // Input is paused at the sources that can hold it: WebQQ is no longer polled, Telegram's
    // getUpdates no longer called (what is said there stays there), Matrix answered 503.
    const polls = async () => (await w.qq.state()).sessions.reduce((a, x) => a + x.polls, 0);
    const getUpdates = () => w.tg.calls.filter((c) => c === 'getUpdates').length;
    await sleep(1_000);
    const paused = { polls: await polls(), getUpdates: getUpdates(), refused: w.hs.pushed.filter((p) => p.status === 503).length };
    while (Date.now() - stoppedAt < s.outageMs) {
      const h = await health();
      expect(h.store?.state, 'the store stays unavailable while PostgreSQL is down').toBe('unavailable');
      expect(h.problems[0]).toMatch(/^store: unavailable since /);
      heldMax = Math.max(heldMax, h.store!.held);
      await sleep(Math.min(1_000, Math.max(0, s.outageMs - (Date.now() - stoppedAt))));
    }
    for (const [net, texts] of Object.entries(noticesIn)) {
      expect(texts().some((x) => downNotice.test(x)), `the "unavailable" notice in ${net} during the outage: ${JSON.stringify(noticeTexts())}`).toBe(true);
    }
    expect(await polls(), 'WebQQ polled while the store was away').toBe(paused.polls);
    expect(getUpdates(), 'getUpdates called while the store was away').toBe(paused.getUpdates);
    expect(w.hs.pushed.filter((p) => p.status === 503).length, 'Matrix transactions refused with 503 while the store was away').toBeGreaterThan(paused.refused);
    expect(heldMax, 'IRC lines held in memory').toBeGreaterThan(0);
    await w.pg.startServer();
    const back = Date.now();
    await waitUntil(`the store available again\n${w.logs.text()}`, async () => ((await health()).store?.state === 'available' ? true : undefined), 30_000, 20);
    recoveryMs = Date.now() - back;
    await sleep(s.afterMs);
  } finally {
    flowing = false;
    await traffic;
    await w.pg.startServer().catch(() => undefined);
  }
  const said = n;
  const trafficEnd = Date.now();
  expect(sayErrors).toEqual([]);

  // Everything arrives, with no restart and no help.
  const all = range(said);
  const seenQq = async () => ({
    irc: numbersOf(await qqTexts(), t.irc),
    tg: numbersOf(await qqTexts(), t.tg),
    mx: numbersOf(await qqTexts(), t.mx),
  });
  try {
    await waitUntil('every message delivered', async () => {
      const q = await seenQq();
      const ircSide = numbersOf(w.irc.texts(), t.qq);
      return [q.irc, q.tg, q.mx, ircSide].every((seen) => all.every((k) => seen.includes(k))) ? true : undefined;
    }, 90_000, 250);
  } finally {
    drainMs = Date.now() - trafficEnd;
    hsRetrying = false;
    await hsRetry;
  }
  await sleep(1_000); // repeats, if any, would come now
  const q = await seenQq();
  const reports: Record<string, StreamReport> = {
    'QQ -> IRC': analyse(numbersOf(w.irc.texts(), t.qq), all),
    'IRC -> QQ': analyse(q.irc, all),
    'Telegram -> QQ': analyse(q.tg, all),
    'Matrix -> QQ': analyse(q.mx, all),
  };
  for (const [what, r] of Object.entries(reports)) {
    expect(r.missing, `${what}: nothing lost`).toEqual([]);
    expect(r.firstSeen, `${what}: in order`).toEqual(all);
    expect(r.duplicates, `${what}: repeats within the outbox window`).toBeLessThanOrEqual(WINDOW);
  }
  expect(w.logs.lines().filter((l) => /batch dropped|relay refused/.test(String(l.msg))), 'nothing dropped or refused for good').toEqual([]);
  expect(w.service.bridge.relay.storeStatus()).toMatchObject({ state: 'available', held: 0, dropped: 0 });

  // The rooms were told, on every network that takes notices: "unavailable" during the outage
  // (sent directly, as the outbox cannot be written), "available again" after it.
  for (const [net, texts] of Object.entries(noticesIn)) {
    await waitUntil(`the store notices in ${net}: ${JSON.stringify(noticeTexts())}`, () => {
      const x = texts();
      const i = x.findIndex((y) => downNotice.test(y));
      return i >= 0 && x.slice(i + 1).some((y) => up.test(y)) ? true : undefined;
    }, 15_000);
  }

  // Afterwards, both ways relay at once.
  await w.qq.say(`${t.qq} after`);
  w.human.say(w.irc.channel, `${t.irc} after`);
  await w.irc.waitForText((x) => x.endsWith(`${t.qq} after`), 10_000);
  await waitUntil('IRC -> QQ after the outage', async () => ((await qqTexts()).some((x) => x.endsWith(`${t.irc} after`)) ? true : undefined), 10_000);
  expect(await w.qq.violations()).toEqual([]);
  if (process.env.QQBRIDGE_FAULT_LOG) console.log(noticeTexts());
  return { recoveryMs, drainMs, heldMax, reports, said };
}
