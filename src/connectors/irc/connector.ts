/**
 * The IRC connector: one irc-framework client, one connection, rooms are channel names.
 *
 * Reconnection is ours, not irc-framework's (its auto_reconnect gives up after a few tries and
 * only reconnects after 5 s of good registration): every drop schedules a new connection after
 * a jittered exponential backoff, and every registration rejoins every channel.
 *
 * Delivery is confirmed, not assumed: `send()` resolves only after the server answered a PING
 * written after the message's lines (see confirm.ts), so the outbox never marks delivered a
 * message that died in a socket buffer. If the link drops, or no PONG comes within
 * `confirmTimeoutMs` (default 15 s) of writing, `send()` rejects with a retryable DeliveryError
 * and the outbox sends the whole message again after reconnecting: the server may have
 * processed some or all of its lines before the drop, so those lines can appear twice in the
 * channel. A duplicate after a drop or timeout is the only failure mode; silent loss is not.
 */
import type { Socket } from 'node:net';
import IrcFramework from 'irc-framework';
import { backoffDelay } from '../../core/backoff.js';
import type { Capabilities, Connector, ConnectorContext, Delivery } from '../../core/connector.js';
import { DeliveryError } from '../../core/errors.js';
import { sourceId, type BridgeMessage, type MessageKind, type Part } from '../../core/message.js';
import type { Logger } from '../../log.js';
import { silentLogger } from '../../log.js';
import type { IrcConfig } from './config.js';
import { PingConfirmer } from './confirm.js';
import { parseIrcText, renderIrcLines } from './format.js';
import { canonicalChannel, validateChannel } from './rooms.js';

export interface IrcConnectorOptions {
  /** Random source for the reconnect jitter (tests pass a fixed one). */
  random?: () => number;
  /** Publishes the full text of a truncated message; default: the media store, when it has URLs. */
  overflow?: (fullText: string) => Promise<string>;
  /** Seconds without traffic before the connection counts as dead (irc-framework's ping timeout). */
  pingTimeoutSec?: number;
  /** Registration (001) must arrive within this many ms, else the attempt is abandoned. */
  registerTimeoutMs?: number;
  /**
   * A send not confirmed by the server (PONG) this many ms after its lines were written fails
   * as retryable and the connection is recycled. Default 15 000.
   */
  confirmTimeoutMs?: number;
  /**
   * Minimum spacing of confirmation PINGs, ms; sends written meanwhile share the next one.
   * Default 0: a PING goes out as soon as none is outstanding, so there are never more PINGs
   * than sends and a lone send waits one round trip. Raise it to trade latency for fewer lines.
   */
  confirmIntervalMs?: number;
}

/** Reconnect delays: the shared backoff with its default equal (50–100 %) jitter; tests import it from here. */
export { backoffDelay };

const key = canonicalChannel;

/**
 * Turns Nagle off on the client's socket. A confirmation PING is a small write right after the
 * message's lines; with Nagle on it waits for the ACK of those lines (delayed ACK: ~40 ms), so
 * every send would wait a needless extra round trip. irc-framework exposes no option for this,
 * hence the guarded reach into its transport.
 */
function noDelay(client: IrcFramework.Client): void {
  socketOf(client)?.setNoDelay?.(true);
}

function socketOf(client: IrcFramework.Client): Partial<Pick<Socket, 'setNoDelay' | 'cork' | 'uncork'>> | undefined {
  return (client.connection as { transport?: { socket?: Partial<Pick<Socket, 'setNoDelay' | 'cork' | 'uncork'>> } }).transport?.socket;
}

export class IrcConnector implements Connector {
  /** The socket corked for the current tick (see corkTick). */
  private corked: object | undefined;
  readonly network = 'irc';
  readonly capabilities: Capabilities;

  private ctx: ConnectorContext | undefined;
  private log: Logger = silentLogger;
  private client: IrcFramework.Client | undefined;
  /** Confirms deliveries on `client`; replaced with it on every connection. */
  private confirmer: PingConfirmer | undefined;
  /** Wanted channels by lower-cased name → the name as configured (the room id). */
  private readonly channels = new Map<string, string>();
  private readonly joined = new Set<string>();
  /** Per channel (lower-cased): settles once the latest send wrote its lines (true) or gave up (false). */
  private readonly written = new Map<string, Promise<boolean>>();
  /** Nicks present in each joined channel (lower-cased), for mass-highlight protection and quits. */
  private readonly members = new Map<string, Set<string>>();
  private registered = false;
  private stopping = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private registerTimer: NodeJS.Timeout | undefined;
  private readonly rejoinTimers = new Set<NodeJS.Timeout>();
  private counter = 0;
  private readonly random: () => number;
  private readonly stateListeners = new Set<(connected: boolean) => void>();
  private lastConnected = false;

  constructor(
    private readonly config: IrcConfig,
    channels: Iterable<string> = [],
    private readonly opts: IrcConnectorOptions = {},
  ) {
    this.random = opts.random ?? Math.random;
    this.capabilities = {
      formatting: true,
      images: 'link',
      replies: false,
      edits: false,
      // What went out on IRC stays out: a delete arrives as a one-line notice ("alice recalled a
      // message"), never a quote of it (docs/architecture.md, "Deletes").
      deletes: false,
      kinds: ['message', 'action', 'notice', 'join', 'leave', 'rename', 'topic'],
      rateLimit: { ...config.rateLimit },
      // Lines to one channel are written in the order the sends started (see send), and a PONG
      // confirms everything written before its PING, so sends can overlap their confirmations.
      pipeline: 16,
    };
    for (const c of channels) this.addChannel(c);
  }

  /** Joins `name` now if connected, and after every reconnect. Throws on a malformed name. */
  addChannel(name: string): void {
    const why = validateChannel(name);
    if (why) throw new Error(`IRC channel ${JSON.stringify(name)} is not a valid channel name: ${why}`);
    if (this.channels.has(key(name))) return;
    this.channels.set(key(name), name);
    if (this.registered) this.joinChannel(name);
  }

  /** The channels this connector keeps joined. */
  channelNames(): string[] {
    return [...this.channels.values()];
  }

  /** Registered with the server and in every wanted channel. */
  isConnected(): boolean {
    if (!this.registered || !this.client?.connection.connected) return false;
    for (const k of this.channels.keys()) if (!this.joined.has(k)) return false;
    return true;
  }

  /** Calls `fn` whenever isConnected() changes; returns an unsubscribe function. */
  onStateChange(fn: (connected: boolean) => void): () => void {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  /** The nick the server knows us by (may differ from the configured one if it was taken). */
  currentNick(): string | undefined {
    return this.client?.user.nick;
  }

  async start(ctx: ConnectorContext): Promise<void> {
    this.ctx = ctx;
    // The relay's context logger already carries `net`; binding it again printed the key twice.
    this.log = ctx.log;
    this.stopping = false;
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.registerTimer);
    for (const t of this.rejoinTimers) clearTimeout(t);
    this.rejoinTimers.clear();
    const client = this.client;
    this.client = undefined;
    this.confirmer?.fail(new DeliveryError('retryable', 'IRC connector stopped before the server confirmed delivery'));
    this.markDown();
    if (!client) return;
    if (client.connection.connected) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        client.on('socket close', () => {
          clearTimeout(t);
          resolve();
        });
        client.quit('qqbridge stopping');
      });
    } else {
      // Still connecting: closing the transport keeps a late connection from registering.
      client.quit();
    }
    client.removeAllListeners();
  }

  async send(delivery: Delivery): Promise<string[]> {
    const room = delivery.room;
    if (validateChannel(room)) {
      throw new DeliveryError('rejected', `IRC room ${JSON.stringify(room)} is not a channel name`);
    }
    // Sends to one channel overlap (the outbox pipelines them): each writes its lines only after
    // the one started before it wrote, and not at all when that one did not get out, so the
    // channel shows them in queue order.
    const k = key(room);
    const before = this.written.get(k);
    let wrote!: (ok: boolean) => void;
    const mine = new Promise<boolean>((resolve) => (wrote = resolve));
    this.written.set(k, mine);
    let written: Awaited<ReturnType<IrcConnector['write']>>;
    try {
      written = await this.write(delivery, before);
      wrote(true);
    } catch (e) {
      wrote(false);
      throw e;
    } finally {
      if (this.written.get(k) === mine) this.written.delete(k);
    }
    // Written is not delivered: wait for the server to prove it processed the lines.
    if (written.ids.length > 0) await written.confirmer.confirm();
    return written.ids;
  }

  /** Renders and writes one delivery's lines, once the send before it (`before`) wrote its own. */
  private async write(delivery: Delivery, before: Promise<boolean> | undefined): Promise<{ ids: string[]; confirmer: PingConfirmer }> {
    const room = delivery.room;
    if (!this.channels.has(key(room))) this.addChannel(room);
    const client = this.client;
    const confirmer = this.confirmer;
    if (!client || !confirmer || !this.registered || !client.connection.connected) {
      throw new DeliveryError('retryable', 'IRC is not connected');
    }
    if (!this.joined.has(key(room))) throw new DeliveryError('retryable', `not in ${room} yet`);
    const lines = await renderIrcLines(delivery.message, {
      target: room,
      maxLines: this.config.maxLines,
      maxLineBytes: this.config.maxLineBytes,
      knownNicks: this.members.get(key(room)) ?? [],
      overflow: this.opts.overflow ?? this.mediaOverflow(),
    });
    if (before && !(await before)) throw new DeliveryError('retryable', `an earlier message to ${room} did not get out; this one waits for it`);
    const ids: string[] = [];
    // A burst (sends still waiting for their PONG): gather this tick's lines into one write. A
    // lone message goes out at once.
    if (confirmer.pending > 0) this.corkTick(client);
    for (const line of lines) {
      // The socket may have dropped while rendering or between lines; the outbox retries the
      // whole message then (lines already out may repeat, which beats losing the rest).
      if (this.client !== client || !client.connection.connected) {
        throw new DeliveryError('retryable', `IRC connection lost while sending to ${room}`);
      }
      // Already one line within maxLineBytes (≤ 480 < message_max_length 510): `say` would only
      // run it through irc-framework's grapheme line breaker again, a tenth of a burst's CPU.
      client.raw('PRIVMSG', room, line);
      ids.push(this.nextId());
    }
    return { ids, confirmer };
  }

  // -------------------------------------------------------------------------------------------

  private mediaOverflow(): ((text: string) => Promise<string>) | undefined {
    const media = this.ctx?.media;
    if (!media) return undefined;
    return async (text) => {
      const { url } = await media.putText(text);
      if (!url) throw new Error('the media store has no public URL');
      return url;
    };
  }

  /**
   * Lines written in this tick (a pipelined window's sends, and the confirmation PING queued
   * after them) leave in one write instead of one system call a line (during a burst only).
   * Released at the end of the tick, after the PING's own (which `PingConfirmer` queues once the
   * lines are written), so nothing waits for a timer or another turn of the event loop.
   */
  private corkTick(client: IrcFramework.Client): void {
    const socket = socketOf(client);
    if (!socket?.cork || !socket.uncork || this.corked === socket) return;
    socket.cork();
    this.corked = socket;
    process.nextTick(() =>
      process.nextTick(() => {
        if (this.corked === socket) this.corked = undefined;
        socket.uncork?.();
      }),
    );
  }

  /** A unique id for a line: IRC has none, so time plus a per-process counter. */
  private nextId(): string {
    this.counter = (this.counter + 1) % 1_000_000;
    return `${Date.now().toString(36)}-${this.counter.toString(36)}`;
  }

  private connect(): void {
    if (this.stopping) return;
    const c = this.config;
    const client = new IrcFramework.Client();
    this.client = client;
    this.confirmer?.fail(new DeliveryError('retryable', 'IRC connection replaced before the server confirmed delivery'));
    const confirmer = new PingConfirmer({
      sendPing: (token) => client.raw('PING', token),
      onTimeout: (err) => {
        if (this.client !== client) return;
        // A server that cannot answer a PING in time cannot be trusted with more lines.
        this.log.warn({ err: err.message }, 'IRC delivery unconfirmed; reconnecting');
        client.quit('delivery confirmation timeout');
        this.onClosed(client);
      },
      intervalMs: this.opts.confirmIntervalMs ?? 0,
      timeoutMs: this.opts.confirmTimeoutMs ?? 15_000,
      tokenPrefix: `qqbridge-${Date.now().toString(36)}-`,
    });
    this.confirmer = confirmer;
    this.registered = false;
    this.joined.clear();
    this.members.clear();

    const mine = (fn: (...a: never[]) => void) =>
      ((...a: never[]) => {
        // Events from an abandoned client (after a reconnect) must not touch the current state.
        if (this.client === client) fn(...a);
      }) as never;

    client.on('registered', mine(() => this.onRegistered(client)));
    client.on('nick in use', mine(() => {
      if (!this.registered) client.changeNick(`${client.user.nick}_`.slice(0, 30));
    }));
    client.on('sasl failed', mine((e: IrcFramework.SaslFailedEvent) => {
      this.log.warn({ reason: e.reason }, 'IRC SASL authentication failed; continuing unauthenticated');
    }));
    client.on('irc error', mine((e: IrcFramework.IrcErrorEvent) => {
      this.log.warn({ error: e.error, room: e.channel, reason: e.reason }, 'IRC server error reply');
    }));
    client.on('privmsg', mine((e: IrcFramework.MessageEvent) => this.onMessage(e, 'message')));
    client.on('action', mine((e: IrcFramework.MessageEvent) => this.onMessage(e, 'action')));
    client.on('join', mine((e: IrcFramework.JoinEvent) => this.onJoin(client, e)));
    client.on('part', mine((e: IrcFramework.PartEvent) => this.onLeave(client, e.channel, e.nick, e.message, e.time)));
    client.on('kick', mine((e: IrcFramework.KickEvent) => this.onLeave(client, e.channel, e.kicked, `kicked by ${e.nick}: ${e.message}`, e.time)));
    client.on('quit', mine((e: IrcFramework.QuitEvent) => this.onQuit(e)));
    client.on('nick', mine((e: IrcFramework.NickEvent) => this.onNick(e)));
    client.on('userlist', mine((e: IrcFramework.UserlistEvent) => {
      const set = this.members.get(key(e.channel)) ?? new Set<string>();
      for (const u of e.users) set.add(u.nick.toLowerCase());
      this.members.set(key(e.channel), set);
    }));
    client.on('socket error', mine((err: Error) => this.log.warn({ err: err.message }, 'IRC socket error')));
    client.on('socket connected' as never, mine(() => noDelay(client)));
    // Not `mine`: an abandoned client's confirmer has already failed, and PONGs only match its own.
    client.on('pong' as never, ((e: { message?: string }) => confirmer.pong(e.message)) as never);
    client.on('socket close', mine(() => this.onClosed(client)));

    // Secrets are handed to irc-framework only; nothing here logs the options object.
    this.log.info({ host: c.host, port: c.port, tls: c.tls, nick: c.nick, attempt: this.attempt }, 'connecting to IRC');
    clearTimeout(this.registerTimer);
    this.registerTimer = setTimeout(() => {
      if (this.client === client && !this.registered) {
        this.log.warn('IRC registration timed out; reconnecting');
        client.quit('registration timeout');
        this.onClosed(client);
      }
    }, this.opts.registerTimeoutMs ?? 30_000);
    client.connect({
      host: c.host,
      port: c.port,
      tls: c.tls,
      nick: c.nick,
      username: c.username ?? c.nick,
      gecos: c.realname ?? 'qqbridge',
      ...(c.password ? { password: c.password } : {}),
      // `{}` stops irc-framework from trying the server password as SASL credentials.
      account: c.sasl ? { account: c.sasl.account, password: c.sasl.password } : {},
      auto_reconnect: false,
      ping_interval: 30,
      ping_timeout: this.opts.pingTimeoutSec ?? 120,
      // Our lines already fit; irc-framework must not split them again.
      message_max_length: 510,
      version: 'qqbridge',
    });
  }

  private onRegistered(client: IrcFramework.Client): void {
    clearTimeout(this.registerTimer);
    this.registered = true;
    this.attempt = 0;
    this.log.info({ nick: client.user.nick }, 'registered on IRC');
    if (this.config.nickservPassword) client.say('NickServ', `IDENTIFY ${this.config.nickservPassword}`);
    for (const name of this.channels.values()) this.joinChannel(name);
    this.emitState();
  }

  private joinChannel(name: string): void {
    const k = this.config.channelKeys[name] ?? Object.entries(this.config.channelKeys).find(([n]) => key(n) === key(name))?.[1];
    this.client?.join(name, k);
  }

  private onClosed(client: IrcFramework.Client): void {
    if (this.client !== client) return;
    this.confirmer?.fail(new DeliveryError('retryable', 'IRC connection closed before the server confirmed delivery'));
    clearTimeout(this.registerTimer);
    client.removeAllListeners();
    this.markDown();
    if (this.stopping) return;
    const wait = backoffDelay(this.attempt++, this.config.reconnect, this.random);
    this.log.warn({ waitMs: wait, attempt: this.attempt }, 'IRC connection closed; reconnecting');
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), wait);
  }

  private markDown(): void {
    this.registered = false;
    this.joined.clear();
    this.members.clear();
    this.emitState();
  }

  private emitState(): void {
    const now = this.isConnected();
    if (now === this.lastConnected) return;
    this.lastConnected = now;
    for (const fn of this.stateListeners) fn(now);
  }

  private isMe(client: IrcFramework.Client, nick: string | undefined): boolean {
    return !!nick && nick.toLowerCase() === client.user.nick.toLowerCase();
  }

  private onJoin(client: IrcFramework.Client, e: IrcFramework.JoinEvent): void {
    const k = key(e.channel);
    if (this.isMe(client, e.nick)) {
      this.joined.add(k);
      if (!this.members.has(k)) this.members.set(k, new Set());
      this.log.info({ room: this.channels.get(k) ?? e.channel }, 'joined IRC channel');
      this.emitState();
      return;
    }
    this.members.get(k)?.add(e.nick.toLowerCase());
    this.relayEvent(e.channel, e.nick, 'join', [], e.time);
  }

  private onLeave(client: IrcFramework.Client, channel: string, nick: string, reason: string, time?: number): void {
    const k = key(channel);
    if (this.isMe(client, nick)) {
      this.joined.delete(k);
      this.members.delete(k);
      this.emitState();
      if (this.channels.has(k)) {
        // Kicked or parted by someone else: come back after a pause, so a kick loop stays slow.
        const t = setTimeout(() => {
          this.rejoinTimers.delete(t);
          if (this.client === client && this.registered) this.joinChannel(this.channels.get(k)!);
        }, 5000);
        this.rejoinTimers.add(t);
      }
      return;
    }
    this.members.get(k)?.delete(nick.toLowerCase());
    this.relayEvent(channel, nick, 'leave', reason ? [{ type: 'text', text: reason }] : [], time);
  }

  private onQuit(e: IrcFramework.QuitEvent): void {
    for (const [k, set] of this.members) {
      if (set.delete(e.nick.toLowerCase())) {
        this.relayEvent(this.channels.get(k) ?? k, e.nick, 'leave', e.message ? [{ type: 'text', text: e.message }] : [], e.time);
      }
    }
  }

  private onNick(e: IrcFramework.NickEvent): void {
    for (const [k, set] of this.members) {
      if (set.delete(e.nick.toLowerCase())) {
        set.add(e.new_nick.toLowerCase());
        this.relayEvent(this.channels.get(k) ?? k, e.nick, 'rename', [{ type: 'text', text: e.new_nick }], e.time);
      }
    }
  }

  private relayEvent(channel: string, nick: string, kind: MessageKind, parts: Part[], time?: number): void {
    if (!this.config.relayJoins) return;
    const room = this.channels.get(key(channel));
    if (!room) return;
    this.deliver({
      id: sourceId('irc', room, this.nextId()),
      origin: { network: 'irc', room, sender: { id: nick, displayName: nick } },
      kind,
      parts,
      time: time ?? Date.now(),
    });
  }

  private onMessage(e: IrcFramework.MessageEvent, kind: 'message' | 'action'): void {
    const client = this.client;
    if (!client || e.from_server || this.isMe(client, e.nick)) return;
    const room = this.channels.get(key(e.target));
    if (!room) return; // private messages and channels we do not bridge
    const parts = parseIrcText(e.message);
    if (parts.length === 0) return;
    const native = e.tags?.msgid ?? this.nextId();
    this.deliver({
      id: sourceId('irc', room, native),
      origin: { network: 'irc', room, sender: { id: e.nick, displayName: e.nick } },
      kind,
      parts,
      time: e.time ?? Date.now(),
    });
  }

  private deliver(msg: BridgeMessage): void {
    const ctx = this.ctx;
    if (!ctx) return;
    ctx.receive(msg).catch((err: unknown) => {
      this.log.error({ err: (err as Error)?.message, room: msg.origin.room, id: msg.id }, 'relay refused an IRC message');
    });
  }
}
