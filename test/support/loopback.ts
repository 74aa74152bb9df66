/**
 * A "loopback network": a real Connector whose remote side is memory. It keeps every delivery it
 * was sent (per room, in arrival order, duplicates included), can be switched offline, made to
 * fail with retryable/rejected/fatal errors, slowed down, and can inject inbound messages or echo
 * a delivered message back the way some networks do.
 */
import type { Capabilities, Connector, ConnectorContext, Delivery } from '../../src/core/connector.js';
import { DeliveryError, type DeliveryErrorKind } from '../../src/core/errors.js';
import type { BridgeMessage, MessageKind, Part, Sender } from '../../src/core/message.js';
import { plainText, sourceId } from '../../src/core/message.js';

export interface Sent {
  remoteId: string;
  delivery: Delivery;
  at: number;
}

/** The remote side, shared by connector instances so it outlives a bridge restart. */
export class LoopbackNetwork {
  private readonly rooms = new Map<string, Sent[]>();
  private nextId = 1;

  record(delivery: Delivery): string {
    const remoteId = `r${this.nextId++}`;
    const list = this.rooms.get(delivery.room) ?? [];
    list.push({ remoteId, delivery, at: Date.now() });
    this.rooms.set(delivery.room, list);
    return remoteId;
  }

  sent(room: string): Sent[] {
    return this.rooms.get(room) ?? [];
  }

  /** Plain text of each delivery to a room, in order. */
  texts(room: string): string[] {
    return this.sent(room).map((s) => plainText(s.delivery.message.parts));
  }
}

export const fullCapabilities: Capabilities = {
  formatting: true,
  images: 'upload',
  replies: true,
  edits: true,
  // Off by default, so a loopback stands for a network that cannot delete (WebQQ, IRC).
  deletes: false,
  kinds: ['message', 'action', 'notice', 'join', 'leave', 'rename', 'topic'],
  rateLimit: { perSecond: 0, burst: 1 },
};

interface Failure {
  kind: DeliveryErrorKind;
  message: string;
  retryAfterMs?: number;
  remaining: number;
}

export interface InjectOptions {
  id?: string | number;
  text?: string;
  parts?: Part[];
  kind?: MessageKind;
  sender?: Sender;
  replyTo?: string;
  editOf?: string;
  deleteOf?: string;
  fromBridge?: boolean;
}

export class LoopbackConnector implements Connector {
  readonly capabilities: Capabilities;
  readonly remote: LoopbackNetwork;
  online = true;
  sendDelayMs: number;
  /** Every call to send, including failed ones. */
  sendCalls = 0;
  private ctx: ConnectorContext | undefined;
  private readonly failures: Failure[] = [];
  private rejectRule: ((d: Delivery) => string | undefined) | undefined;
  private nextNative = 1;

  constructor(
    readonly network: string,
    opts: { remote?: LoopbackNetwork; capabilities?: Partial<Capabilities>; sendDelayMs?: number } = {},
  ) {
    this.remote = opts.remote ?? new LoopbackNetwork();
    this.capabilities = { ...fullCapabilities, ...opts.capabilities };
    this.sendDelayMs = opts.sendDelayMs ?? 0;
  }

  async start(ctx: ConnectorContext): Promise<void> {
    this.ctx = ctx;
  }

  async stop(): Promise<void> {
    this.ctx = undefined;
  }

  isConnected(): boolean {
    return this.online && this.ctx !== undefined;
  }

  /** The next `count` sends throw a DeliveryError of `kind`. */
  failNext(kind: DeliveryErrorKind, opts: { count?: number; message?: string; retryAfterMs?: number } = {}): void {
    this.failures.push({
      kind,
      message: opts.message ?? `loopback ${kind} failure`,
      retryAfterMs: opts.retryAfterMs,
      remaining: opts.count ?? 1,
    });
  }

  /** Rejects (for good) every delivery for which `rule` returns a reason. */
  rejectWhen(rule: (d: Delivery) => string | undefined): void {
    this.rejectRule = rule;
  }

  async send(delivery: Delivery): Promise<string[]> {
    this.sendCalls++;
    if (this.sendDelayMs > 0) await new Promise((r) => setTimeout(r, this.sendDelayMs));
    if (!this.online) throw new DeliveryError('retryable', 'loopback network offline');
    const f = this.failures[0];
    if (f) {
      if (--f.remaining <= 0) this.failures.shift();
      throw new DeliveryError(f.kind, f.message, f.retryAfterMs !== undefined ? { retryAfterMs: f.retryAfterMs } : {});
    }
    const reason = this.rejectRule?.(delivery);
    if (reason) throw new DeliveryError('rejected', reason);
    return [this.remote.record(delivery)];
  }

  /** A message arriving from this network; resolves once the relay has it durably. */
  async inject(room: string, o: InjectOptions = {}): Promise<BridgeMessage> {
    if (!this.ctx) throw new Error(`loopback ${this.network} is not started`);
    const msg = this.message(room, o);
    await this.ctx.receive(msg);
    return msg;
  }

  /** Builds an inbound message without handing it over. */
  message(room: string, o: InjectOptions = {}): BridgeMessage {
    const msg: BridgeMessage = {
      id: sourceId(this.network, room, o.id ?? `n${this.nextNative++}`),
      origin: { network: this.network, room, sender: o.sender ?? { id: 'u1', displayName: 'alice' } },
      kind: o.kind ?? 'message',
      parts: o.parts ?? [{ type: 'text', text: o.text ?? '' }],
      time: Date.now(),
    };
    if (o.replyTo !== undefined) msg.replyTo = o.replyTo;
    if (o.editOf !== undefined) msg.editOf = o.editOf;
    if (o.deleteOf !== undefined) msg.deleteOf = o.deleteOf;
    if (o.fromBridge) msg.fromBridge = true;
    return msg;
  }

  /** The network shows the bridge its own delivery (as Matrix and Telegram can): same remote id. */
  async echo(room: string, sent: Sent): Promise<BridgeMessage> {
    return this.inject(room, { id: sent.remoteId, parts: sent.delivery.message.parts, sender: { id: 'bridge-bot', displayName: 'bridge' } });
  }
}
