/** `qqbridge simulate-onebot` (the built CLI in dist/) serves OneBot with the token it is given and its control API. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { OneBotClient, type OneBotEvent } from '../../../../src/connectors/qq/onebot/client.js';
import { silentLogger } from '../../../../src/log.js';
import { waitFor } from '../../../support/wait.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
let child: ChildProcess | undefined;
let client: OneBotClient | undefined;
afterEach(async () => {
  await client?.stop();
  child?.kill('SIGTERM');
});

it('simulate-onebot serves a token-protected socket and injects messages through its control API', async () => {
  child = spawn(process.execPath, ['dist/cli/main.js', 'simulate-onebot', '--port', '0', '--token', 'cli-token'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => /on ws:\/\//.test(out), 'the simulator to say where it listens', 10_000);
  const url = /on (ws:\/\/[^ ]+)/.exec(out)![1]!;
  const control = /control API (http:\/\/[^/]+\/control)/.exec(out)![1]!;
  const events: OneBotEvent[] = [];
  client = new OneBotClient({ mode: 'forward', url, accessToken: 'cli-token', log: silentLogger, onEvent: (e) => void events.push(e) });
  await client.start();
  await waitFor(() => client!.state === 'open', 'connected with the token');
  expect(await client.call('get_login_info')).toMatchObject({ user_id: 2769546520 });
  const res = await fetch(`${control}/inject`, { method: 'POST', body: JSON.stringify({ group: 346167134, user: 2440652742, message: 'hi [CQ:face,id=14]' }) });
  expect(res.status).toBe(200);
  await waitFor(() => events.some((e) => e.post_type === 'message'), 'the injected message');
  expect(events.find((e) => e.post_type === 'message')!.message).toEqual([{ type: 'text', data: { text: 'hi ' } }, { type: 'face', data: { id: '14' } }]);
});
