/**
 * A TCP forwarder between the bridge and ngircd. A real hop (bytes pass through untouched) that a
 * test can shut: while closed, new connections are refused at once and existing ones are cut, so
 * the test decides when the bridge may reach IRC again (e.g. only after the human is back).
 */
import net from 'node:net';

export class TcpGate {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private isOpen = true;
  port = 0;

  constructor(readonly upstreamHost: string, readonly upstreamPort: number) {}

  async start(): Promise<void> {
    const server = net.createServer((down) => {
      if (!this.isOpen) return void down.destroy();
      const up = net.connect({ host: this.upstreamHost, port: this.upstreamPort });
      this.sockets.add(down).add(up);
      const end = () => {
        down.destroy();
        up.destroy();
        this.sockets.delete(down);
        this.sockets.delete(up);
      };
      down.on('error', end).on('close', end);
      up.on('error', end).on('close', end);
      down.pipe(up);
      up.pipe(down);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** Refuses new connections; the open ones carry on. */
  refuse(): void {
    this.isOpen = false;
  }

  /** Refuses new connections and cuts the open ones. */
  shut(): void {
    this.isOpen = false;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  open(): void {
    this.isOpen = true;
  }

  async stop(): Promise<void> {
    this.shut();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
