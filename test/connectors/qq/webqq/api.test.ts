/** Malformed answers from a real (loopback) HTTP server become ProtocolErrors naming the endpoint. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../src/log.js';
import * as api from '../../../../src/connectors/qq/webqq/api.js';
import { createTransport, ProtocolError } from '../../../../src/connectors/qq/webqq/transport.js';

let server: Server;
let answer: { status: number; body: string; type?: string } = { status: 200, body: '' };
const requests: { path: string; headers: Record<string, unknown>; body: string }[] = [];
let ctx: api.ApiContext;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      requests.push({ path: req.url!, headers: req.headers, body });
      res.statusCode = answer.status;
      if (answer.type) res.setHeader('content-type', answer.type);
      res.end(answer.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  ctx = {
    transport: createTransport({ endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, log: silentLogger }),
    session: { era: 'password', uin: 2769546520, clientid: '12345678', ptwebqq: 'pt', vfwebqq: 'vf', psessionid: 'ps' },
  };
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('api endpoint calls', () => {
  for (const [what, a] of [
    ['HTML', { status: 200, body: '<html><body>error</body></html>', type: 'text/html' }],
    ['empty', { status: 200, body: '' }],
    ['truncated JSON', { status: 200, body: '{"retcode":0,"result":{"gnam' }],
    ['wrong shape', { status: 200, body: '{"retcode":0,"result":"ok"}' }],
    ['HTTP 500', { status: 500, body: 'oops' }],
  ] as const) {
    it(`turns a ${what} answer into a ProtocolError naming the endpoint`, async () => {
      answer = a;
      const err = await api.getGroupNameList(ctx, 'HASH').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProtocolError);
      expect(String((err as Error).message)).toContain('get_group_name_list_mask2');
    });
  }

  it('turns a non-zero retcode into a RetcodeError with the retcode', async () => {
    answer = { status: 200, body: '{"retcode":50}' };
    const err = await api.getUserFriends(ctx, 'HASH').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(api.RetcodeError);
    expect((err as api.RetcodeError).retcode).toBe(50);
  });

  it('sends WebQQ-era r with JSON.stringify, the S Referer/Origin and the real Host', async () => {
    answer = { status: 200, body: '{"retcode":0,"result":{"gnamelist":[{"gid":1,"code":2,"name":"a&amp;b"}]}}' };
    requests.length = 0;
    const groups = await api.getGroupNameList(ctx, 'H"X');
    expect(groups).toEqual([{ gid: 1, code: 2, name: 'a&b' }]);
    const req = requests[0]!;
    expect(req.headers.host).toBe('s.web2.qq.com');
    expect(req.headers.referer).toBe('http://s.web2.qq.com/proxy.html?v=20110412001&callback=1&id=1');
    expect(req.headers.origin).toBe('http://s.web2.qq.com');
    expect(JSON.parse(new URLSearchParams(req.body).get('r')!)).toEqual({ vfwebqq: 'vf', hash: 'H"X' });
  });

  it('reads both send answer shapes (retcode and SmartQQ errCode)', async () => {
    answer = { status: 200, body: '{"errCode":0,"msg":"send ok"}' };
    expect(await api.sendMessage(ctx, { kind: 'buddy', uin: 5 }, '["x"]', 1)).toEqual({ retcode: 0, errmsg: 'send ok' });
    answer = { status: 200, body: '{"errmsg":"error!!!","retcode":1202}' };
    expect((await api.sendMessage(ctx, { kind: 'group', gid: 5 }, '["x"]', 2)).retcode).toBe(1202);
    answer = { status: 200, body: '<html>' };
    await expect(api.sendMessage(ctx, { kind: 'discussion', did: 5 }, '["x"]', 3)).rejects.toThrow(/send_discu_msg2/);
  });
});
