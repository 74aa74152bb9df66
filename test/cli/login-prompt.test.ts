/** The CLI's terminal login prompt: asks for the captcha on the console, draws the QR code. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { terminalLoginPrompt } from '../../src/cli/login-prompt.js';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

function io() {
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (b: Buffer) => { text += b.toString('utf8'); });
  return { input, output, text: () => text };
}

describe('terminal login prompt', () => {
  it('asks for the captcha code on the console and returns what was typed', async () => {
    const t = io();
    const p = terminalLoginPrompt({ codeFile: '/nonexistent/code', input: t.input, output: t.output, interactive: true });
    const answer = p.captchaCode({ image: Buffer.alloc(0), mime: 'image/jpeg', file: '/tmp/captcha.jpg', attempt: 2 }, undefined);
    await new Promise((r) => setTimeout(r, 20));
    t.input.write(' abCD \n');
    expect(await answer).toBe('abCD');
    expect(t.text()).toMatch(/rejected the last code[\s\S]*\/tmp\/captcha\.jpg[\s\S]*Enter the code/);
  });

  it('without a console, waits for the code file and says where it is', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'prompt-'));
    dirs.push(dir);
    const codeFile = path.join(dir, 'code.txt');
    const t = io();
    const p = terminalLoginPrompt({ codeFile, input: t.input, output: t.output, interactive: false });
    const answer = p.captchaCode({ image: Buffer.alloc(0), mime: 'image/jpeg', file: path.join(dir, 'captcha.jpg'), attempt: 1 }, undefined);
    setTimeout(() => writeFileSync(codeFile, 'WXYZ\n'), 100);
    expect(await answer).toBe('WXYZ');
    expect(t.text()).toContain(`write its code into ${codeFile}`);
  });

  it('draws the QR code as text art and says when it was scanned', async () => {
    const t = io();
    const p = terminalLoginPrompt({ codeFile: '/x', input: t.input, output: t.output, interactive: true });
    p.qrShown!({ png: Buffer.alloc(0), file: '/s/qrcode.png', text: 'http://txz.qq.com/p?k=abc&f=501004106', n: 1 });
    p.qrScanned!();
    await new Promise((r) => setTimeout(r, 100));
    expect(t.text()).toMatch(/Scan this QR code[\s\S]*\/s\/qrcode\.png[\s\S]*[▀▄█]/);
    expect(t.text()).toMatch(/scanned: confirm the login on the phone/);
  });
});
