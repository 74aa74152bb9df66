/**
 * Contacts against a minimal HTTP server speaking the 2017+ shape of the list APIs, where
 * get_friend_uin2 is dead (HTTP 404, reference §2.7): group numbers must then come from a
 * message's info_seq, and after a relogin from the group-name match. The list hash must be
 * auto-selected on retcode 50.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../src/log.js';
import { Contacts } from '../../../../src/connectors/qq/webqq/contacts.js';
import { listHash } from '../../../../src/connectors/qq/webqq/protocol-crypto.js';
import { createTransport } from '../../../../src/connectors/qq/webqq/transport.js';
import type { ApiContext } from '../../../../src/connectors/qq/webqq/api.js';

const UIN = 2769546520;
const PT = '636683b80e7b0b46e26cc6b07c33432a4ab692e52f96e105d4d06fabd0735986';
let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

async function serve(world: { gid: number; friendUinDead: boolean }) {
  const seen: string[] = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const url = new URL(req.url!, 'http://x');
      seen.push(url.pathname);
      const json = (o: unknown) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(o)); };
      const r = body ? JSON.parse(new URLSearchParams(body).get('r') ?? '{}') : {};
      const hashOk = r.hash === listHash('Q', UIN, PT);
      switch (url.pathname) {
        case '/api/get_user_friends2':
          return json(hashOk ? { retcode: 0, result: { friends: [{ flag: 0, uin: 9, categories: 0 }], info: [{ face: 0, flag: 0, nick: 'a &amp; b', uin: 9 }], marknames: [], categories: [] } } : { retcode: 50 });
        case '/api/get_group_name_list_mask2':
          return json(hashOk ? { retcode: 0, result: { gmasklist: [], gnamelist: [{ flag: 1, name: 'qqbot群', gid: world.gid, code: world.gid + 1 }], gmarklist: [] } } : { retcode: 50 });
        case '/api/get_group_info_ext2':
          return json({ retcode: 0, result: { minfo: [{ nick: '呼吸 (糗百)', uin: 77 }], cards: [{ muin: 77, card: 'breath' }], ginfo: { code: world.gid + 1, gid: world.gid, name: 'qqbot群', owner: 77, members: [{ muin: 77, mflag: 0 }] } } });
        case '/api/get_discus_list':
          return json({ retcode: 0, result: { dnamelist: [] } });
        case '/api/get_friend_uin2':
          if (world.friendUinDead) { res.statusCode = 404; return res.end('<html>404</html>'); }
          return json({ retcode: 0, result: { uiuin: '', account: url.searchParams.get('type') === '4' ? 346167134 : 2440652742, uin: 1 } });
        default:
          res.statusCode = 404;
          res.end();
      }
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  const endpoint = `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
  const ctx: ApiContext = {
    transport: createTransport({ endpoint, log: silentLogger }),
    session: { era: 'qrcode', uin: UIN, clientid: 53999199, ptwebqq: PT, vfwebqq: 'vf', psessionid: 'ps' },
  };
  return { ctx, seen };
}

describe('Contacts', () => {
  it('selects the hash version by retcode 50 and remembers it', async () => {
    const { ctx, seen } = await serve({ gid: 111, friendUinDead: false });
    const chosen: string[] = [];
    const c = new Contacts({ ctx: () => ctx, log: silentLogger, onHashVersion: (v) => chosen.push(v) });
    await c.refreshAll();
    expect(c.hashVersion).toBe('Q');
    expect(chosen).toEqual(['Q']);
    expect(c.friends()[0]).toMatchObject({ uin: 9, nick: 'a & b', qq: 2440652742 });
    expect(c.numberOfGid(111)).toBe(346167134);
    expect(c.memberName(111, 77)).toBe('breath');
    const before = seen.filter((p) => p === '/api/get_user_friends2').length;
    await c.refreshFriends();
    expect(seen.filter((p) => p === '/api/get_user_friends2').length).toBe(before + 1); // no retries: Q first now
  });

  it('falls back to info_seq, then to the group name after a relogin, when get_friend_uin2 is dead', async () => {
    const world = { gid: 111, friendUinDead: true };
    const { ctx } = await serve(world);
    const c = new Contacts({ ctx: () => ctx, log: silentLogger, hashVersion: 'Q' });
    await c.refreshAll();
    expect(c.numberOfGid(111)).toBeUndefined();
    expect(await c.memberQq(111, 77)).toBeUndefined();
    c.noteInfoSeq(111, 346167134);
    expect(c.numberOfGid(111)).toBe(346167134);
    expect((await c.groupByNumber(346167134))?.gid).toBe(111);
    // Relogin: new gid for the same group.
    c.reset();
    world.gid = 555;
    await c.refreshAll();
    expect(c.numberOfGid(555)).toBe(346167134);
    expect((await c.groupByNumber(346167134))?.code).toBe(556);
  });
});
