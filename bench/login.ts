/**
 * WebQQ login time against the simulator over real HTTP on loopback: the client's own `login()`
 * (login page → check → ptlogin → check_sig → channel login2), each run with a fresh cookie jar.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { login, type LoginContext } from '../src/connectors/qq/webqq/auth.js';
import { createTransport } from '../src/connectors/qq/webqq/transport.js';
import { silentLogger } from '../src/log.js';
import { startSimulator } from '../src/simulator/index.js';
import { ACCOUNT, control } from './lib.js';

export interface LoginResult {
  passwordMs: number[];
  qrMs: number[];
  qrPollMs: number;
}

export async function benchLogin(runs = 5, qrPollMs = 20): Promise<LoginResult> {
  const sim = await startSimulator({ pollHoldMs: 30_000 });
  const dir = mkdtempSync(join(tmpdir(), 'bench-login-'));
  const ctx = (mode: 'password' | 'qrcode'): LoginContext => ({
    transport: createTransport({ endpoint: sim.url, log: silentLogger }),
    log: silentLogger,
    mode,
    uin: ACCOUNT.qq,
    password: ACCOUNT.password,
    stateDir: dir,
    qrPollMs,
  });
  try {
    const passwordMs: number[] = [];
    for (let i = 0; i < runs + 1; i++) {
      const t0 = performance.now();
      await login(ctx('password'));
      if (i > 0) passwordMs.push(performance.now() - t0); // run 0 warms up the JIT and the sockets
    }
    const qrMs: number[] = [];
    for (let i = 0; i < runs + 1; i++) {
      const c = ctx('qrcode');
      // The phone scans and confirms the moment the code is shown.
      c.prompt = {
        captchaCode: async () => { throw new Error('no captcha expected in the QR benchmark'); },
        qrShown: () => void control(sim.controlUrl, 'POST', '/qr/scan').then(() => control(sim.controlUrl, 'POST', '/qr/confirm', { qq: ACCOUNT.qq })),
      };
      const t0 = performance.now();
      await login(c);
      if (i > 0) qrMs.push(performance.now() - t0);
    }
    return { passwordMs, qrMs, qrPollMs };
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

