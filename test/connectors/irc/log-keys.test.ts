/**
 * A connector's log lines as an operator reads them: the relay gives each connector a logger that
 * already says `net`, so a line must carry that key once (it used to read `"net":"irc","net":"irc"`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ircConfigSchema } from '../../../src/connectors/irc/config.js';
import { IrcConnector } from '../../../src/connectors/irc/connector.js';
import { Relay } from '../../../src/core/relay.js';
import { StaticRoutes } from '../../../src/core/routes.js';
import { silentLogger } from '../../../src/log.js';
import { openStore } from '../../../src/store/store.js';
import { capturedLogger } from '../../support/log-capture.js';
import { startNgircd } from '../../support/ngircd.js';
import { waitFor } from '../../support/wait.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-logkeys-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('connector log lines', () => {
  it('an IRC line names its network once', async () => {
    const server = await startNgircd();
    const store = await openStore({ stateDir: root }, silentLogger);
    const capture = capturedLogger('info');
    const relay = new Relay({ store, routes: new StaticRoutes([]), log: capture.log });
    const irc = new IrcConnector(ircConfigSchema.parse({ host: server.host, port: server.port, nick: 'qqbridge', reconnect: { minMs: 50, maxMs: 300 } }), ['#logkeys']);
    relay.register(irc);
    try {
      await relay.start();
      await waitFor(() => irc.isConnected(), 'the IRC connector to join', 15_000);
      const raw = capture.text().split('\n').filter((l) => l.includes('connecting to IRC'));
      expect(raw.length).toBeGreaterThan(0);
      for (const line of raw) expect(line.match(/"net":/g)).toEqual(['"net":']);
      expect(capture.lines().find((l) => l.msg === 'connecting to IRC')?.net).toBe('irc');
    } finally {
      await relay.stop();
      await store.close();
      await server.stop();
    }
  });
});
