/**
 * `qqbridge simulate-milky` as a real child process (through tsx): it serves the Milky API with
 * the token from MILKY_TOKEN, and a client streaming events from it survives a kill -9 of the
 * implementation: the stream notices, reconnects to the restarted one, and events flow again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { MilkyApi, MilkyError, MilkyEventStream, type MilkyEvent } from '../../../../src/connectors/qq/milky/index.js';
import { freePort } from '../../../support/ngircd.js';
import { waitFor } from '../../../support/wait.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
const TOKEN = 'cli-token';

const procs: ChildProcess[] = [];
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  for (const p of procs.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

async function simulate(port: number, controlPort: number): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', MAIN, 'simulate-milky', '--port', String(port), '--control-port', String(controlPort)], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MILKY_TOKEN: TOKEN },
  });
  procs.push(proc);
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => {
    if (proc.exitCode !== null) throw new Error(`simulate-milky exited early:\n${out}`);
    return out.includes('Milky simulator on');
  }, 'simulate-milky to start', 15_000);
  expect(out).toContain(`http://127.0.0.1:${port}`);
  expect(out).not.toContain(TOKEN);
  return proc;
}

describe('qqbridge simulate-milky', () => {
  it('serves the API with the token from MILKY_TOKEN; a client stream survives kill -9 of the implementation', async () => {
    const [port, controlPort] = [await freePort(), await freePort()];
    const url = `http://127.0.0.1:${port}`;
    const first = await simulate(port, controlPort);
    expect((await new MilkyApi({ url, accessToken: TOKEN }).call('get_login_info')).uin).toBe(2769546520);
    await expect(new MilkyApi({ url }).call('get_login_info')).rejects.toSatisfy((e: MilkyError) => e.kind === 'unauthorized');

    const events: MilkyEvent[] = [];
    const stream = new MilkyEventStream({ url, accessToken: TOKEN, transport: 'websocket', backoff: { minMs: 50, maxMs: 200 }, onEvent: (e) => void events.push(e) });
    cleanups.push(() => stream.stop());
    await stream.start();
    await waitFor(() => stream.currentState() === 'online', 'online');
    const inject = (text: string) => fetch(`http://127.0.0.1:${controlPort}/inject`, { method: 'POST', body: JSON.stringify({ group: 346167134, text }) });
    await inject('one');
    await waitFor(() => events.length === 1, 'first event');

    first.kill('SIGKILL');
    await waitFor(() => stream.currentState() === 'reconnecting', 'the dead implementation noticed');
    await simulate(port, controlPort);
    await waitFor(() => stream.currentState() === 'online', 'reconnected to the restarted implementation', 10_000);
    await inject('two');
    await waitFor(() => events.length === 2, 'an event from the restarted implementation');
    expect(events.map((e) => (e.event_type === 'message_receive' && e.data.segments[0]?.type === 'text' ? e.data.segments[0].data.text : '?'))).toEqual(['one', 'two']);
  }, 60_000);
});
