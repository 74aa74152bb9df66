/**
 * `qqbridge demo --qq milky` (the built CLI in dist/): the demo on the Milky simulator. A person
 * watching sees a QQ line, a face and a picture arrive on IRC, and an IRC line arrive in QQ.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { freePort } from '../support/ngircd.js';
import { waitFor } from '../support/wait.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'dist/cli/main.js');

it('demo --qq milky: messages cross both ways through the Milky simulator, and Ctrl-C stops it cleanly', async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build it first (npm run build)`);
  const port = await freePort();
  const proc = spawn(process.execPath, [MAIN, 'demo', '--qq', 'milky', '--irc-port', String(port), '--duration', '60'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  try {
    await waitFor(() => /Milky simulator on http:\/\/127\.0\.0\.1:\d+/.test(out), 'the demo to start the Milky simulator', 20_000);
    // QQ → IRC: the bridge's nick speaks the QQ member's line in the channel.
    await waitFor(() => /\[IRC #qqbridge-demo\] <qqbridge> \[呼吸 \(糗百\)\] 大家好! Hello from the QQ group/.test(out), 'a QQ line on IRC', 30_000);
    // IRC → QQ: the bridge posts the viewer's line into the group (the simulator's record of sends).
    await waitFor(() => /\[QQ {2}qqbot群\] qqbot \(the bridge\): \[viewer\] hi QQ, this line was typed on IRC/.test(out), 'an IRC line in QQ', 30_000);
    // A face and a picture from QQ.
    await waitFor(() => /<qqbridge> \[robot ops\] 表情也能过去: 🙂😁/.test(out) && /<qqbridge> \[呼吸 \(糗百\)\] Here is a picture: \[image\] http:\/\/127\.0\.0\.1:\d+\/media\//.test(out), 'a face and a picture on IRC', 30_000);
    proc.kill('SIGINT');
    expect(await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 15_000))])).toBe(0);
    expect(err).toContain('demo stopped');
    expect(err).not.toMatch(/demo failed|\n\s+at /);
  } finally {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  }
}, 90_000);
