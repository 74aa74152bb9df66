/** One small HTTP server for operators: `GET /metrics` (Prometheus text) and `GET /health` (JSON). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TargetStats } from '../core/outbox.js';
import type { Logger } from '../log.js';
import type { StoreStatus } from '../core/store-gate.js';
import { healthReport, type NetworkHealth } from './health.js';
import type { BridgeMetrics } from './metrics.js';

export interface OpsServerOptions {
  metrics: BridgeMetrics;
  bindAddress: string;
  port: number;
  /** The networks and their state; undefined while the bridge is starting. */
  networks(): readonly NetworkHealth[] | undefined;
  stats(): Promise<TargetStats[]>;
  /** The store's state (available, or unavailable with what is held). */
  store?: () => StoreStatus | undefined;
  log: Logger;
}

export interface OpsServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function startOpsServer(o: OpsServerOptions): Promise<OpsServer> {
  const server = http.createServer((req, res) => {
    void handle(req, res).catch((e: unknown) => {
      o.log.warn({ err: (e as Error).message, path: req.url }, 'ops endpoint failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    });
  });
  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      const body = await o.metrics.text();
      res.writeHead(200, { 'content-type': o.metrics.registry.contentType }).end(body);
      return;
    }
    if (path === '/health') {
      let stats: TargetStats[] = [];
      let storeProblem: string | undefined;
      const store = o.store?.();
      try {
        // While the store is unavailable its own line says so; no read is tried.
        if (store?.state !== 'unavailable') stats = await o.stats();
      } catch (e) {
        storeProblem = `the store cannot be read: ${(e as Error).message}`;
      }
      const report = healthReport(o.networks(), stats, store);
      if (storeProblem) {
        report.status = 'not ready';
        report.problems.push(storeProblem);
      }
      res.writeHead(report.status === 'ready' ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify(report)}\n`);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /health\n');
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.bindAddress, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return {
    url: `http://${host}:${a.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
