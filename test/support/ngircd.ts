/**
 * A tiny raw-socket IRC client that plays a human user in tests; the server itself is the
 * demo's real ngircd launcher.
 */
import net from 'node:net';

export { startNgircd, freePort, type Ngircd } from '../../src/demo/ngircd.js';

/** One line received by the test client, parsed just enough for assertions. */
export interface IrcLine {
  raw: string;
  prefix?: string;
  nick?: string;
  command: string;
  params: string[];
}

export function parseLine(raw: string): IrcLine {
  let rest = raw;
  let prefix: string | undefined;
  if (rest.startsWith('@')) rest = rest.slice(rest.indexOf(' ') + 1);
  if (rest.startsWith(':')) {
    const sp = rest.indexOf(' ');
    prefix = rest.slice(1, sp);
    rest = rest.slice(sp + 1);
  }
  const params: string[] = [];
  while (rest) {
    if (rest.startsWith(':')) {
      params.push(rest.slice(1));
      break;
    }
    const sp = rest.indexOf(' ');
    if (sp < 0) {
      params.push(rest);
      break;
    }
    params.push(rest.slice(0, sp));
    rest = rest.slice(sp + 1);
  }
  const command = (params.shift() ?? '').toUpperCase();
  const line: IrcLine = { raw, command, params };
  if (prefix !== undefined) {
    line.prefix = prefix;
    line.nick = prefix.split('!')[0];
  }
  return line;
}

/**
 * A human on IRC: a raw socket that registers, answers PINGs and records every line, so tests
 * can assert exactly what a person's client would receive.
 */
export class TestIrcClient {
  readonly lines: IrcLine[] = [];
  private socket!: net.Socket;
  private buf = '';
  private waiters: { pred: (l: IrcLine) => boolean; resolve: (l: IrcLine) => void }[] = [];

  private constructor(readonly nick: string) {}

  static async connect(host: string, port: number, nick: string, password?: string): Promise<TestIrcClient> {
    const c = new TestIrcClient(nick);
    await new Promise<void>((resolve, reject) => {
      c.socket = net.connect({ host, port }, () => resolve());
      c.socket.once('error', reject);
    });
    c.socket.setEncoding('utf8');
    c.socket.on('data', (d: string) => c.onData(d));
    c.socket.on('error', () => {});
    if (password) c.send(`PASS ${password}`);
    c.send(`NICK ${nick}`);
    c.send(`USER ${nick} 0 * :test user ${nick}`);
    await c.waitFor((l) => l.command === '001');
    return c;
  }

  private onData(d: string) {
    this.buf += d;
    let i: number;
    while ((i = this.buf.indexOf('\r\n')) >= 0) {
      const raw = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      const line = parseLine(raw);
      if (line.command === 'PING') this.send(`PONG :${line.params[0] ?? ''}`);
      this.lines.push(line);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(line)) return true;
        w.resolve(line);
        return false;
      });
    }
  }

  /** Writes one raw line; CR/LF inside `line` are sent as they are (tests use that on purpose). */
  send(line: string): void {
    this.socket.write(`${line}\r\n`);
  }

  /** Resolves with the first line (already received or future) matching `pred`. */
  waitFor(pred: (l: IrcLine) => boolean, timeoutMs = 10_000, since = 0): Promise<IrcLine> {
    const seen = this.lines.slice(since).find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (l: IrcLine) => (clearTimeout(t), resolve(l)) };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`${this.nick}: no matching line within ${timeoutMs} ms; last lines:\n${this.lines.slice(-10).map((l) => l.raw).join('\n')}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  async join(channel: string): Promise<void> {
    const mark = this.lines.length;
    this.send(`JOIN ${channel}`);
    await this.waitFor((l) => l.command === '366' && l.params[1]?.toLowerCase() === channel.toLowerCase(), 10_000, mark);
  }

  say(target: string, text: string): void {
    this.send(`PRIVMSG ${target} :${text}`);
  }

  /** PRIVMSGs received in `channel`, in order. */
  messages(channel: string): IrcLine[] {
    return this.lines.filter((l) => l.command === 'PRIVMSG' && l.params[0]?.toLowerCase() === channel.toLowerCase());
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.end('QUIT :bye\r\n');
      setTimeout(() => this.socket.destroy(), 500).unref();
    });
  }
}
