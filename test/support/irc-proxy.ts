/**
 * A line-aware TCP forwarder between an IRC client under test and a real server. Every IRC line
 * in either direction passes a hook that may forward it, swallow it, or cut the connection right
 * there (nothing after it gets through, both sides see the socket close). Tests use it to make a
 * link die at an exact protocol moment, e.g. after a PRIVMSG reached the server but before the
 * client saw the PONG that would confirm it.
 */
import net from 'node:net';

export type LineVerdict = 'pass' | 'drop' | 'cut';
export type LineHook = (line: string) => LineVerdict;

export class IrcLineProxy {
  private server: net.Server | undefined;
  private readonly pairs = new Set<{ down: net.Socket; up: net.Socket; dead: boolean }>();
  port = 0;
  /** Client → server lines, as the client wrote them (including dropped or cut ones). */
  readonly upLines: string[] = [];
  /** Server → client lines, as the server wrote them. */
  readonly downLines: string[] = [];
  /** Client → server reads: how many pieces the client's lines arrived in. */
  upReads = 0;
  /** Applied to each client → server line. */
  upHook: LineHook = () => 'pass';
  /** Applied to each server → client line. */
  downHook: LineHook = () => 'pass';
  connections = 0;

  constructor(readonly upstreamHost: string, readonly upstreamPort: number) {}

  async start(): Promise<void> {
    const server = net.createServer((down) => {
      this.connections += 1;
      const up = net.connect({ host: this.upstreamHost, port: this.upstreamPort });
      // A transparent hop must not add Nagle delays of its own to small IRC lines.
      down.setNoDelay(true);
      up.setNoDelay(true);
      const pair = { down, up, dead: false };
      this.pairs.add(pair);
      const end = () => {
        pair.dead = true;
        down.destroy();
        up.destroy();
        this.pairs.delete(pair);
      };
      down.on('error', end).on('close', end);
      up.on('error', end).on('close', end);
      down.on('data', () => (this.upReads += 1));
      this.relay(pair, down, up, this.upLines, () => this.upHook, end);
      this.relay(pair, up, down, this.downLines, () => this.downHook, end);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  private relay(pair: { dead: boolean }, from: net.Socket, to: net.Socket, log: string[], hook: () => LineHook, cut: () => void): void {
    let buf = '';
    from.setEncoding('utf8');
    from.on('data', (chunk: string) => {
      if (pair.dead) return;
      buf += chunk;
      let i: number;
      let out = '';
      while ((i = buf.indexOf('\n')) >= 0) {
        const raw = buf.slice(0, i + 1);
        buf = buf.slice(i + 1);
        const line = raw.replace(/\r?\n$/, '');
        log.push(line);
        const verdict = hook()(line);
        if (verdict === 'cut') {
          // Whatever came before the cut still reaches the other side, then the link dies.
          pair.dead = true;
          if (out) to.write(out, () => cut());
          else cut();
          buf = '';
          return;
        }
        if (verdict === 'pass') out += raw;
      }
      if (out && !to.destroyed) to.write(out);
    });
  }

  /** Cuts every open connection now. */
  cutAll(): void {
    for (const { down, up } of this.pairs) {
      down.destroy();
      up.destroy();
    }
    this.pairs.clear();
  }

  async stop(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
