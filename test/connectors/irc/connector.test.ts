import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectorContext } from '../../../src/core/connector.js';
import { DeliveryError } from '../../../src/core/errors.js';
import type { BridgeMessage, Part } from '../../../src/core/message.js';
import { createLogger, silentLogger } from '../../../src/log.js';
import { IrcConnector, backoffDelay, type IrcConnectorOptions } from '../../../src/connectors/irc/connector.js';
import { ircConfigSchema, type IrcConfigInput } from '../../../src/connectors/irc/config.js';
import { ZWSP, antiPing, nickColor } from '../../../src/connectors/irc/format.js';
import { facePart } from '../../../src/connectors/qq/faces.js';
import { IrcLineProxy } from '../../support/irc-proxy.js';
import { startNgircd, TestIrcClient, type Ngircd } from '../../support/ngircd.js';
import { memoryMedia } from '../../support/memory-media.js';

const CHAN = '#bridge';
const two = (n: number) => String(n).padStart(2, '0');
const prefixOf = (name: string) => `[\x03${two(nickColor(name))}${antiPing(name)}\x03] `;

async function waitUntil(pred: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}


function context(received: BridgeMessage[], media = memoryMedia()): ConnectorContext {
  return {
    log: silentLogger,
    media,
    async receive(m) {
      received.push(m);
    },
    remoteIdsFor: async () => [],
    sourceIdFor: async () => undefined,
  };
}

function outgoing(parts: Part[], displayName = 'bob', kind: BridgeMessage['kind'] = 'message'): BridgeMessage {
  return {
    id: `qq:group:1:${Math.random()}`,
    origin: { network: 'qq', room: 'group:1', sender: { id: '10002', displayName } },
    kind,
    parts,
    time: Date.now(),
  };
}

let server: Ngircd;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  server = await startNgircd();
});
afterAll(async () => {
  await server?.stop();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(extra: Partial<IrcConfigInput> = {}) {
  const config = ircConfigSchema.parse({
    host: server.host,
    port: server.port,
    nick: 'qqbridge',
    reconnect: { minMs: 50, maxMs: 300 },
    ...extra,
  });
  const received: BridgeMessage[] = [];
  const media = memoryMedia();
  const conn = new IrcConnector(config, [CHAN]);
  const human = await TestIrcClient.connect(server.host, server.port, `alice${Math.floor(Math.random() * 1e6)}`);
  cleanups.push(() => human.close());
  await human.join(CHAN);
  await conn.start(context(received, media));
  cleanups.push(() => conn.stop());
  await waitUntil(() => conn.isConnected(), 'the connector to register and join');
  // The human sees the bridge join, so it is in the channel for real.
  await human.waitFor((l) => l.command === 'JOIN' && l.nick === conn.currentNick());
  return { conn, human, received, media };
}

describe('IrcConnector against ngircd', () => {
  it('joins its channels and relays a human message with sender, text and style', async () => {
    const { human, received } = await setup();
    human.say(CHAN, 'hello \x02bold\x02 \x0304red\x03 https://example.com/x [惊讶]');
    await waitUntil(() => received.length > 0, 'an inbound message');
    const m = received[0]!;
    expect(m.id).toMatch(/^irc:#bridge:.+/);
    expect(m.kind).toBe('message');
    expect(m.origin).toEqual({ network: 'irc', room: CHAN, sender: { id: human.nick, displayName: human.nick } });
    expect(m.parts).toEqual([
      { type: 'text', text: 'hello ' },
      { type: 'text', text: 'bold', style: { bold: true } },
      { type: 'text', text: ' ' },
      { type: 'text', text: 'red', style: { color: 'ff0000' } },
      { type: 'text', text: ' ' },
      { type: 'link', url: 'https://example.com/x' },
      // A QQ face name stays text here; the QQ side turns it into the face.
      { type: 'text', text: ' [惊讶]' },
    ]);

    human.say(CHAN, '\x01ACTION waves\x01');
    human.say(CHAN, 'second');
    await waitUntil(() => received.length >= 3, 'an action and a message');
    expect(received[1]).toMatchObject({ kind: 'action', parts: [{ type: 'text', text: 'waves' }] });
    expect(new Set(received.map((r) => r.id)).size).toBe(3);
  });

  it('ignores private messages, CTCP requests and channels it does not bridge', async () => {
    const { conn, human, received } = await setup();
    await human.join('#other');
    human.say(conn.currentNick()!, 'private hello');
    human.say('#other', 'not bridged');
    human.say(CHAN, '\x01PING 123\x01');
    human.say(CHAN, 'marker');
    await waitUntil(() => received.length > 0, 'the marker');
    await new Promise((r) => setTimeout(r, 50));
    expect(received.map((m) => m.parts)).toEqual([[{ type: 'text', text: 'marker' }]]);
  });

  it('delivers [nick] text lines the human sees, and returns one id per line', async () => {
    const { conn, human } = await setup();
    const mark = human.lines.length;
    const ids = await conn.send({
      room: CHAN,
      message: outgoing([{ type: 'text', text: 'hi ' }, { type: 'text', text: 'there', style: { bold: true } }, facePart(14)]),
    });
    expect(ids).toHaveLength(1);
    const line = await human.waitFor((l) => l.command === 'PRIVMSG' && l.params[0] === CHAN, 5000, mark);
    expect(line.nick).toBe(conn.currentNick());
    expect(line.params[1]).toBe(`${prefixOf('bob')}hi \x02there\x0F🙂`);
    expect(line.params[1]).toContain(`b${ZWSP}ob`);

    const mark2 = human.lines.length;
    const ids2 = await conn.send({ room: CHAN, message: outgoing([{ type: 'text', text: 'line one\nline two' }]) });
    expect(ids2).toHaveLength(2);
    expect(new Set([...ids, ...ids2]).size).toBe(3);
    await human.waitFor((l) => l.command === 'PRIVMSG' && l.params[1]?.endsWith('line two') === true, 5000, mark2);
    expect(human.messages(CHAN).slice(-2).map((l) => l.params[1])).toEqual([`${prefixOf('bob')}line one`, `${prefixOf('bob')}line two`]);
  });

  it('links the full text of a long message through the media store', async () => {
    const { conn, human, media } = await setup();
    const mark = human.lines.length;
    const thirty = Array.from({ length: 30 }, (_, i) => `row ${i}`).join('\n');
    const ids = await conn.send({ room: CHAN, message: outgoing([{ type: 'text', text: thirty }]) });
    expect(ids).toHaveLength(5);
    await human.waitFor((l) => l.command === 'PRIVMSG' && l.params[1]?.includes('full message') === true, 5000, mark);
    const got = human.lines.slice(mark).filter((l) => l.command === 'PRIVMSG').map((l) => l.params[1]);
    expect(got).toHaveLength(5);
    expect(got[4]).toBe(`${prefixOf('bob')}… full message: http://media.test/m1`);
    const stored = media.items.get('m1')!;
    expect(stored.mime).toMatch(/^text\/plain/);
    expect(new TextDecoder().decode(stored.data)).toContain('row 29');
  });

  it('lets no CR/LF/NUL injection run a command: the human sees one line and the bridge stays', async () => {
    const { conn, human } = await setup();
    const mark = human.lines.length;
    await conn.send({
      room: CHAN,
      message: outgoing([{ type: 'text', text: 'hi\rQUIT :pwned\x00 JOIN #evil\x01' }], 'mal\r\nJOIN #evil2\r\nQUIT :x'),
    });
    await conn.send({ room: CHAN, message: outgoing([{ type: 'text', text: 'after' }]) });
    await human.waitFor((l) => l.command === 'PRIVMSG' && l.params[1]?.endsWith('after') === true, 5000, mark);
    const seen = human.lines.slice(mark);
    const privmsgs = seen.filter((l) => l.command === 'PRIVMSG');
    expect(privmsgs).toHaveLength(2);
    expect(privmsgs[0]!.params[1]).toBe(`${prefixOf('mal JOIN #evil2 QUIT :x')}hi QUIT :pwned JOIN #evil`);
    // No QUIT, PART or JOIN from the bridge reached the channel, and it is still connected there.
    expect(seen.filter((l) => l.nick === conn.currentNick() && l.command !== 'PRIVMSG')).toEqual([]);
    expect(conn.isConnected()).toBe(true);
  });

  it('throws a retryable DeliveryError while disconnected and a rejection for a non-channel room', async () => {
    const config = ircConfigSchema.parse({ host: '127.0.0.1', port: 1, nick: 'nobody', reconnect: { minMs: 1000, maxMs: 1000 } });
    const conn = new IrcConnector(config, [CHAN]);
    await conn.start(context([]));
    cleanups.push(() => conn.stop());
    const err = await conn.send({ room: CHAN, message: outgoing([{ type: 'text', text: 'x' }]) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect((err as DeliveryError).kind).toBe('retryable');
    const bad = await conn.send({ room: 'not a channel', message: outgoing([{ type: 'text', text: 'x' }]) }).catch((e: unknown) => e);
    expect((bad as DeliveryError).kind).toBe('rejected');
    expect(conn.isConnected()).toBe(false);
  });

  it('relays joins, parts and nick changes only when relayJoins is on', async () => {
    const { conn, received } = await setup({ relayJoins: true });
    const bob = await TestIrcClient.connect(server.host, server.port, `bob${Math.floor(Math.random() * 1e6)}`);
    cleanups.push(() => bob.close());
    await bob.join(CHAN);
    bob.send(`NICK ${bob.nick}x`);
    bob.send(`PART ${CHAN} :lunch`);
    await waitUntil(() => received.length >= 3, 'join, rename and leave notices');
    expect(received.map((m) => m.kind)).toEqual(['join', 'rename', 'leave']);
    expect(received[0]!.origin.sender.id).toBe(bob.nick);
    expect(received[1]!.parts).toEqual([{ type: 'text', text: `${bob.nick}x` }]);
    expect(received[2]!.parts).toEqual([{ type: 'text', text: 'lunch' }]);
    expect(conn.isConnected()).toBe(true);
  });

  it('reconnects and rejoins after the server restarts; isConnected goes false then true', async () => {
    const { conn, human, received } = await setup();
    const states: boolean[] = [];
    conn.onStateChange((s) => states.push(s));
    await human.close();
    await server.restart();
    await waitUntil(() => states.includes(false), 'the connector to notice the drop');
    await waitUntil(() => conn.isConnected(), 'the connector to reconnect and rejoin', 15_000);
    expect(states).toEqual([false, true]);

    const again = await TestIrcClient.connect(server.host, server.port, `carol${Math.floor(Math.random() * 1e6)}`);
    cleanups.push(() => again.close());
    await again.join(CHAN);
    const mark = again.lines.length;
    // The bridge is in the channel again: a NAMES reply lists it.
    again.send(`NAMES ${CHAN}`);
    const names = await again.waitFor((l) => l.command === '353', 5000, mark);
    expect(names.params[3]?.split(' ').map((n) => n.replace(/^[@+]/, ''))).toContain(conn.currentNick());

    again.say(CHAN, 'back online?');
    await waitUntil(() => received.some((m) => m.parts.some((p) => p.type === 'text' && p.text === 'back online?')), 'a message after reconnect');
    await conn.send({ room: CHAN, message: outgoing([{ type: 'text', text: 'yes' }]) });
    const line = await again.waitFor((l) => l.command === 'PRIVMSG' && l.params[0] === CHAN, 5000, mark);
    expect(line.params[1]).toBe(`${prefixOf('bob')}yes`);
  });
});

describe('IrcConnector secrets', () => {
  it('identifies to NickServ after registering and never logs the passwords', async () => {
    const secured = await startNgircd({ password: 'serverPw-123' });
    cleanups.push(() => secured.stop());
    // A test user plays NickServ, so the IDENTIFY line is observable on a real server.
    const nickserv = await TestIrcClient.connect(secured.host, secured.port, 'NickServ', 'serverPw-123');
    cleanups.push(() => nickserv.close());
    const logged: string[] = [];
    const log = createLogger({ level: 'debug', destination: { write: (s: string) => void logged.push(s) } });
    const config = ircConfigSchema.parse({
      host: secured.host,
      port: secured.port,
      nick: 'qqsecret',
      password: 'serverPw-123',
      nickservPassword: 'nickservPw-456',
      reconnect: { minMs: 50, maxMs: 300 },
    });
    const conn = new IrcConnector(config, [CHAN]);
    await conn.start({ ...context([]), log });
    cleanups.push(() => conn.stop());
    await waitUntil(() => conn.isConnected(), 'the connector to join');
    const identify = await nickserv.waitFor((l) => l.command === 'PRIVMSG' && l.params[0] === 'NickServ');
    expect(identify.params[1]).toBe('IDENTIFY nickservPw-456');
    await conn.stop();
    expect(logged.join('\n')).toContain('registered on IRC');
    expect(logged.join('\n')).not.toMatch(/serverPw-123|nickservPw-456/);
  });
});

describe('backoffDelay', () => {
  it('grows exponentially, stays under the cap and is jittered', () => {
    const r = { minMs: 1000, maxMs: 60000 };
    expect(backoffDelay(0, r, () => 1)).toBe(1000);
    expect(backoffDelay(0, r, () => 0)).toBe(500);
    expect(backoffDelay(3, r, () => 1)).toBe(8000);
    expect(backoffDelay(20, r, () => 1)).toBe(60000);
    expect(backoffDelay(20, r, () => 0)).toBe(30000);
    const spread = new Set(Array.from({ length: 20 }, () => backoffDelay(2, r)));
    expect(spread.size).toBeGreaterThan(1);
  });
});

describe('ircConfigSchema', () => {
  it('fills defaults and picks the port from tls', () => {
    const c = ircConfigSchema.parse({ host: 'irc.example', nick: 'qqbridge' });
    expect(c).toMatchObject({ port: 6667, tls: false, relayJoins: false, maxLines: 5, maxLineBytes: 400, rateLimit: { perSecond: 1, burst: 5 }, reconnect: { minMs: 1000, maxMs: 60000 }, channelKeys: {} });
    expect(ircConfigSchema.parse({ host: 'h', nick: 'n', tls: true }).port).toBe(6697);
    expect(ircConfigSchema.parse({ host: 'h', nick: 'n', tls: true, port: 7000 }).port).toBe(7000);
  });

  it('rejects bad nicks, channel keys and SASL plus NickServ together', () => {
    expect(ircConfigSchema.safeParse({ host: 'h', nick: 'bad nick' }).success).toBe(false);
    expect(ircConfigSchema.safeParse({ host: 'h', nick: 'n', channelKeys: { 'no-hash': 'k' } }).success).toBe(false);
    const both = ircConfigSchema.safeParse({ host: 'h', nick: 'n', sasl: { account: 'a', password: 'p' }, nickservPassword: 'p' });
    expect(both.success).toBe(false);
  });
});

describe('IrcConnector delivery confirmation (PING/PONG) through a line proxy', () => {
  const isConfirmPing = (l: string) => /^PING :?qqbridge-/.test(l);
  const isConfirmPong = (l: string) => / PONG \S+ :?qqbridge-/.test(l);

  async function setupProxied(opts: IrcConnectorOptions = {}) {
    const proxy = new IrcLineProxy(server.host, server.port);
    await proxy.start();
    cleanups.push(() => proxy.stop());
    const config = ircConfigSchema.parse({ host: '127.0.0.1', port: proxy.port, nick: 'qqbridge', reconnect: { minMs: 50, maxMs: 100 } });
    const conn = new IrcConnector(config, [CHAN], opts);
    const human = await TestIrcClient.connect(server.host, server.port, `dave${Math.floor(Math.random() * 1e6)}`);
    cleanups.push(() => human.close());
    await human.join(CHAN);
    await conn.start(context([]));
    cleanups.push(() => conn.stop());
    await waitUntil(() => conn.isConnected(), 'the connector to register and join');
    await human.waitFor((l) => l.command === 'JOIN' && l.nick === conn.currentNick());
    return { conn, human, proxy };
  }

  const texts = (human: TestIrcClient, since = 0) =>
    human.lines.slice(since).filter((l) => l.command === 'PRIVMSG' && l.params[0] === CHAN).map((l) => l.params[1]);

  async function rejection(p: Promise<unknown>): Promise<DeliveryError> {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e, 'send() must reject').toBeInstanceOf(DeliveryError);
    return e as DeliveryError;
  }

  it('confirms with a PING written after the lines, and resolves only once its PONG is back', async () => {
    const { conn, proxy } = await setupProxied();
    const mark = proxy.upLines.length;
    await conn.send({ room: CHAN, message: outgoing([{ type: 'text', text: 'one\ntwo' }]) });
    const up = proxy.upLines.slice(mark);
    const privs = up.map((l, i) => (l.startsWith('PRIVMSG') ? i : -1)).filter((i) => i >= 0);
    const ping = up.findIndex(isConfirmPing);
    expect(privs).toHaveLength(2);
    expect(ping).toBeGreaterThan(privs[1]!);
    const token = up[ping]!.replace(/^PING :?/, '');
    // The PONG for that token had reached the connector when send() resolved.
    expect(proxy.downLines.some((l) => isConfirmPong(l) && l.endsWith(token))).toBe(true);
  });

  it('withheld PONG: send() stays pending though the line is out, then rejects retryable after confirmTimeoutMs and reconnects', async () => {
    const { conn, human, proxy } = await setupProxied({ confirmTimeoutMs: 600 });
    proxy.downHook = (l) => (isConfirmPong(l) ? 'drop' : 'pass');
    const mark = human.lines.length;
    let settled = false;
    const started = Date.now();
    const p = conn.send({ room: CHAN, message: outgoing([{ type: 'text', text: 'unconfirmed' }]) });
    void p.then(
      () => (settled = true),
      () => (settled = true),
    );
    await human.waitFor((l) => l.command === 'PRIVMSG' && l.params[1]?.endsWith('unconfirmed') === true, 5000, mark);
    expect(settled).toBe(false);
    const err = await rejection(p);
    expect(err.kind).toBe('retryable');
    expect(err.message).toMatch(/did not confirm delivery within 600 ms/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    // The untrustworthy link is dropped and a new one made; delivery works there.
    proxy.downHook = () => 'pass';
    await waitUntil(() => proxy.connections >= 2 && conn.isConnected(), 'a reconnect', 10_000);
    await conn.send({ room: CHAN, message: outgoing([{ type: 'text', text: 'after timeout' }]) });
  });

  it('lines lost on the way and the link dies before the PONG: send() rejects retryable; the retry after reconnect delivers', async () => {
    const { conn, human, proxy } = await setupProxied();
    // The PRIVMSG dies in transit (as in a dying server's buffers); the link is cut at the PING.
    proxy.upHook = (l) => (l.includes('lost in transit') ? 'drop' : isConfirmPing(l) ? 'cut' : 'pass');
    const mark = human.lines.length;
    const msg = outgoing([{ type: 'text', text: 'lost in transit' }]);
    const err = await rejection(conn.send({ room: CHAN, message: msg }));
    expect(err.kind).toBe('retryable');
    expect(err.message).toMatch(/closed before the server confirmed/);
    expect(texts(human, mark)).toEqual([]);

    proxy.upHook = () => 'pass';
    await waitUntil(() => proxy.connections >= 2 && conn.isConnected(), 'a reconnect', 10_000);
    await conn.send({ room: CHAN, message: msg });
    await human.waitFor((l) => l.command === 'PRIVMSG' && l.params[1]?.endsWith('lost in transit') === true, 5000, mark);
    expect(texts(human, mark)).toEqual([`${prefixOf('bob')}lost in transit`]);
  });

  it('server processed the lines but the link died before the PONG: send() rejects, and the retry shows a duplicate, never a loss', async () => {
    const { conn, human, proxy } = await setupProxied();
    proxy.downHook = (l) => (isConfirmPong(l) ? 'drop' : 'pass');
    const mark = human.lines.length;
    const msg = outgoing([{ type: 'text', text: 'maybe twice' }]);
    const p = conn.send({ room: CHAN, message: msg });
    // The server handled the PRIVMSG (the human has it) and answered the PING; the link dies now.
    await human.waitFor((l) => l.command === 'PRIVMSG' && l.params[1]?.endsWith('maybe twice') === true, 5000, mark);
    await waitUntil(() => proxy.downLines.some(isConfirmPong), 'the PONG the proxy swallows');
    proxy.cutAll();
    const err = await rejection(p);
    expect(err.kind).toBe('retryable');

    proxy.downHook = () => 'pass';
    await waitUntil(() => proxy.connections >= 2 && conn.isConnected(), 'a reconnect', 10_000);
    await conn.send({ room: CHAN, message: msg });
    await waitUntil(() => texts(human, mark).length >= 2, 'the retried line');
    expect(texts(human, mark)).toEqual([`${prefixOf('bob')}maybe twice`, `${prefixOf('bob')}maybe twice`]);
  });

  it('a multi-line message cut mid-way is retried whole (lines already out may repeat)', async () => {
    const { conn, human, proxy } = await setupProxied();
    proxy.upHook = (l) => (l.endsWith('part two') ? 'cut' : 'pass');
    const mark = human.lines.length;
    const msg = outgoing([{ type: 'text', text: 'part one\npart two\npart three' }]);
    const err = await rejection(conn.send({ room: CHAN, message: msg }));
    expect(err.kind).toBe('retryable');
    expect(texts(human, mark).some((t) => t?.endsWith('part two'))).toBe(false);

    proxy.upHook = () => 'pass';
    await waitUntil(() => proxy.connections >= 2 && conn.isConnected(), 'a reconnect', 10_000);
    expect(await conn.send({ room: CHAN, message: msg })).toHaveLength(3);
    await human.waitFor((l) => l.command === 'PRIVMSG' && l.params[1]?.endsWith('part three') === true, 5000, mark);
    const got = texts(human, mark).map((t) => t!.slice(prefixOf('bob').length));
    expect(got.slice(-3)).toEqual(['part one', 'part two', 'part three']);
    // Only "part one" may have reached the channel before the cut.
    expect(got.slice(0, -3).every((t) => t === 'part one')).toBe(true);
  });

  // Functional only; throughput figures are measured by the benchmarks, not asserted here.
  it('a window of sends started together (the outbox pipelines 16) leaves as one write with one PING after its lines', async () => {
    const { conn, human, proxy } = await setupProxied();
    const mark = human.lines.length;
    const lineMark = proxy.upLines.length;
    const readMark = proxy.upReads;
    const all = await Promise.all(
      Array.from({ length: 16 }, (_, i) => conn.send({ room: CHAN, message: outgoing([{ type: 'text', text: `window ${i}` }]) })),
    );
    expect(all.flat()).toHaveLength(16);
    const up = proxy.upLines.slice(lineMark);
    // One PING confirms all sixteen, and it comes after the last of their lines.
    expect(up.filter(isConfirmPing)).toHaveLength(1);
    expect(up.findIndex(isConfirmPing)).toBeGreaterThan(up.map((l) => l.startsWith('PRIVMSG')).lastIndexOf(true));
    // Written together, not one system call a line (the server read them in one or two pieces).
    expect(proxy.upReads - readMark).toBeLessThanOrEqual(2);
    await waitUntil(() => texts(human, mark).length >= 16, 'the window on IRC');
    expect(texts(human, mark).map((t) => t!.slice(prefixOf('bob').length))).toEqual(Array.from({ length: 16 }, (_, i) => `window ${i}`));
  });

  it('200 concurrent sends share a handful of PINGs; 200 sequential sends all arrive, in order', async () => {
    const { conn, human, proxy } = await setupProxied();
    const mark = human.lines.length;
    const pingMark = proxy.upLines.length;
    const all = await Promise.all(
      Array.from({ length: 200 }, (_, i) => conn.send({ room: CHAN, message: outgoing([{ type: 'text', text: `burst ${i}` }]) })),
    );
    expect(all.flat()).toHaveLength(200);
    const pings = proxy.upLines.slice(pingMark).filter(isConfirmPing).length;
    expect(pings).toBeGreaterThanOrEqual(1);
    expect(pings).toBeLessThanOrEqual(10);
    await waitUntil(() => texts(human, mark).length >= 200, '200 burst lines');

    for (let i = 0; i < 200; i++) await conn.send({ room: CHAN, message: outgoing([{ type: 'text', text: `seq ${i}` }]) });
    await waitUntil(() => texts(human, mark).length >= 400, '200 sequential lines');
    const seq = texts(human, mark).slice(200).map((t) => t!.slice(prefixOf('bob').length));
    expect(seq).toEqual(Array.from({ length: 200 }, (_, i) => `seq ${i}`));
  }, 30_000);
});
