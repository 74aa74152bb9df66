/**
 * A throwaway PostgreSQL cluster for integration tests: initdb on a temp dir, trust auth,
 * 127.0.0.1 on a free high port, a private socket dir. Up in about a second. As root, initdb and
 * pg_ctl run as the `postgres` user (they refuse root).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../../src/demo/ngircd.js';

const run = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface TestPostgres {
  /** URL of the `postgres` database (superuser, no password). */
  url: string;
  port: number;
  /** Creates a fresh database and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server (fast shutdown) but keeps the data dir: `start()` brings it back. */
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
  /** Stops the server and removes everything. */
  stop(): Promise<void>;
}

function findBinDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!fs.existsSync(base)) return undefined;
  const versions = fs
    .readdirSync(base)
    .filter((v) => fs.existsSync(path.join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(base, versions[0], 'bin') : undefined;
}

async function ensureBinaries(): Promise<string> {
  let bin = findBinDir();
  if (!bin) {
    await run('sh', [path.join(repoRoot, 'scripts/ensure-postgres.sh')], { timeout: 600_000 });
    bin = findBinDir();
  }
  if (!bin) throw new Error('PostgreSQL binaries not found under /usr/lib/postgresql/*/bin after scripts/ensure-postgres.sh');
  return bin;
}

const isRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL tool as the `postgres` user when we are root. */
function asPostgres(cmd: string, args: string[]) {
  return isRoot ? run('runuser', ['-u', 'postgres', '--', cmd, ...args]) : run(cmd, args);
}

let dbCounter = 0;

export async function startPostgres(): Promise<TestPostgres> {
  const bin = await ensureBinaries();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-pg-'));
  const data = path.join(dir, 'data');
  const sock = path.join(dir, 'sock');
  fs.mkdirSync(sock);
  if (isRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const uid = Number(stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    fs.chownSync(dir, uid, gid);
    fs.chownSync(sock, uid, gid);
  }
  await asPostgres(path.join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const port = await freePort();
  const pgCtl = path.join(bin, 'pg_ctl');
  const opts = `-c listen_addresses=127.0.0.1 -p ${port} -k ${sock} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  const startServer = async () => {
    await asPostgres(pgCtl, ['-D', data, '-o', opts, '-l', path.join(dir, 'server.log'), '-w', '-t', '30', 'start']);
  };
  const stopServer = async () => {
    await asPostgres(pgCtl, ['-D', data, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
  };
  await startServer();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    async createDatabase(name = `t_${process.pid}_${++dbCounter}`) {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE "${name}"`);
      } finally {
        await c.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    stopServer,
    startServer,
    async stop() {
      await asPostgres(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
