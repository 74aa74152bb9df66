/**
 * A real ngircd (Debian's) on 127.0.0.1, for the demo and the integration tests. ngircd is
 * installed through scripts/ensure-ngircd.sh when the binary is missing (fresh machines).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const NGIRCD = '/usr/sbin/ngircd';

export interface Ngircd {
  host: string;
  port: number;
  /** Stops the server (SIGTERM, then SIGKILL); clients see their connection close. */
  stop(): Promise<void>;
  /** Stops and starts it again on the same port. */
  restart(): Promise<void>;
}

function ensureNgircd(): void {
  if (existsSync(NGIRCD)) return;
  const script = fileURLToPath(new URL('../../scripts/ensure-ngircd.sh', import.meta.url));
  execFileSync('sh', [script], { stdio: 'inherit', timeout: 300_000 });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(host: string, port: number, proc: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`ngircd exited with code ${proc.exitCode} before listening`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host, port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`ngircd did not listen on ${host}:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Starts ngircd on a free loopback port with a throwaway config; flood penalties are off. */
export async function startNgircd(opts: {
  port?: number;
  /** Server password (PASS) clients must give. */
  password?: string;
  /**
   * Its own process group, so a Ctrl-C at the terminal reaches only the parent, which then stops
   * it in order (the demo); otherwise the server dies first and its clients complain.
   */
  ownProcessGroup?: boolean;
} = {}): Promise<Ngircd> {
  ensureNgircd();
  const host = '127.0.0.1';
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'ngircd-'));
  const conf = join(dir, 'ngircd.conf');
  const motd = join(dir, 'motd');
  writeFileSync(motd, 'test server\n');
  writeFileSync(
    conf,
    [
      '[Global]',
      '  Name = irc.test.local',
      '  Info = qqbridge test server',
      `  Listen = ${host}`,
      `  Ports = ${port}`,
      `  MotdFile = ${motd}`,
      `  PidFile = ${join(dir, 'pid')}`,
      ...(opts.password ? [`  Password = ${opts.password}`] : []),
      '[Limits]',
      '  MaxConnectionsIP = 0',
      '  MaxPenaltyTime = 0',
      // ngircd lets a user join only 10 channels by default; a bridge with more links needs them all.
      '  MaxJoins = 0',
      '  PingTimeout = 120',
      '  PongTimeout = 20',
      '  MaxNickLength = 30',
      '[Options]',
      '  PAM = no',
      '  Ident = no',
      '  DNS = no',
      '',
    ].join('\n'),
  );

  let proc: ChildProcess;
  const launch = async () => {
    proc = spawn(NGIRCD, ['-n', '-f', conf], { stdio: ['ignore', 'ignore', 'pipe'], detached: opts.ownProcessGroup === true });
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      await waitForPort(host, port, proc);
    } catch (e) {
      proc.kill('SIGKILL');
      throw new Error(`${(e as Error).message}\n${stderr}`);
    }
  };
  const halt = async () => {
    const p = proc;
    if (p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };
  await launch();
  return {
    host,
    port,
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await halt();
      await launch();
    },
  };
}

