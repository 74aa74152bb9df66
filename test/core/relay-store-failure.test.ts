import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Relay } from '../../src/core/relay.js';
import { StaticRoutes } from '../../src/core/routes.js';
import { silentLogger } from '../../src/log.js';
import { StoreError } from '../../src/store/errors.js';
import { openStore } from '../../src/store/store.js';
import { LoopbackConnector, LoopbackNetwork } from '../support/loopback.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { waitFor } from '../support/wait.js';

let pgServer: TestPostgres;
beforeAll(async () => {
  pgServer = await startPostgres();
});
afterAll(async () => {
  await pgServer?.stop();
});

const QQ = { network: 'qq', room: 'group:1' };
const IRC = { network: 'irc', room: '#a' };

describe('Relay on PostgreSQL when the store fails', () => {
  it('stops taking input with a StoreError instead of losing messages, and resumes after a restart', async () => {
    const url = await pgServer.createDatabase();
    const remotes = { qq: new LoopbackNetwork(), irc: new LoopbackNetwork() };
    const make = async () => {
      const store = await openStore({ url, stateDir: '/unused' }, silentLogger);
      const qq = new LoopbackConnector('qq', { remote: remotes.qq });
      const irc = new LoopbackConnector('irc', { remote: remotes.irc });
      const halts: StoreError[] = [];
      const relay = new Relay({ store, routes: new StaticRoutes([[QQ, IRC]]), log: silentLogger, onHalt: (e) => halts.push(e), outbox: { connectPollMs: 10 } });
      relay.register(qq);
      relay.register(irc);
      await relay.start();
      return { store, qq, irc, relay, halts };
    };

    const a = await make();
    a.irc.online = false; // keep items pending across the outage
    await a.qq.inject(QQ.room, { id: 1, text: 'before outage' });

    await pgServer.stopServer();
    const err = await a.qq.inject(QQ.room, { id: 2, text: 'during outage' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(a.relay.halted).toBe(err);
    expect(a.halts).toEqual([err]);

    await pgServer.startServer();
    // Even with the server back, this relay refuses input: the connector must replay.
    await expect(a.qq.inject(QQ.room, { id: 3, text: 'after outage' })).rejects.toBeInstanceOf(StoreError);
    await a.relay.stop();
    await a.store.close();

    const b = await make();
    await b.qq.inject(QQ.room, { id: 2, text: 'during outage' }); // the replay
    await waitFor(() => remotes.irc.sent(IRC.room).length === 2, 'both messages');
    expect(remotes.irc.texts(IRC.room)).toEqual(['before outage', 'during outage']);
    await b.relay.stop();
    await b.store.close();
  });
});
