/**
 * What a login needs from a person: read a captcha, scan a QR code. The client only says what it
 * needs; how it is shown (a terminal, a web page, a chat message) is the caller's. The one
 * implementation here, `codeFilePrompt`, needs no terminal: it waits for the code in a file, which
 * is how a service without a console is answered.
 */
import { promises as fs } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../../log.js';
import { LoginError } from './errors.js';

export interface CaptchaChallenge {
  /** The image bytes as the server sent them. */
  image: Buffer;
  mime: string;
  /** Where the client saved the image (mode 0600). */
  file: string;
  /** 1 for the first captcha of this login, 2 after a rejected code, … */
  attempt: number;
}

export interface QrChallenge {
  /** The PNG as the server sent it. */
  png: Buffer;
  /** Where the client saved it (mode 0600). */
  file: string;
  /** The URL inside the QR code, when the image could be decoded (to draw it again elsewhere). */
  text: string | undefined;
  /** 1 for the first code of this login, 2 after one expired, … */
  n: number;
}

export interface LoginPrompt {
  /** Resolves with the code the person read in the image; rejects (LoginError) when none comes. */
  captchaCode(c: CaptchaChallenge, signal: AbortSignal | undefined): Promise<string>;
  /** A new QR code waits to be scanned with the QQ mobile app. */
  qrShown?(qr: QrChallenge): void;
  /** The code was scanned; the login now waits for the confirmation on the phone. */
  qrScanned?(): void;
}

export interface CodeFilePromptOptions {
  /** The file the code is written into. */
  file: string;
  /** How long to wait for it; default 10 min. */
  timeoutMs?: number;
  log?: Logger;
}

/**
 * Waits for the captcha code to appear in `file` (an operator writes it there), then removes the
 * file. A file left over from an earlier image is removed first: its code would be wrong for this one.
 */
export function codeFilePrompt(opts: CodeFilePromptOptions): LoginPrompt {
  return {
    async captchaCode(c, signal) {
      await fs.rm(opts.file, { force: true });
      opts.log?.warn({ image: c.file, codeFile: opts.file, attempt: c.attempt }, 'QQ wants a captcha: open the image and write its code into the code file');
      return waitForCodeFile(opts.file, opts.timeoutMs ?? 600_000, signal);
    },
    qrShown(qr) {
      opts.log?.warn({ file: qr.file, n: qr.n }, 'scan the QR code in this file with the QQ mobile app');
    },
    qrScanned() {
      opts.log?.info('QR code scanned; waiting for the confirmation on the phone');
    },
  };
}

async function waitForCodeFile(file: string, timeoutMs: number, signal: AbortSignal | undefined): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const code = (await fs.readFile(file, 'utf8')).trim();
      if (code) {
        await fs.rm(file, { force: true });
        return code;
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (Date.now() >= deadline) {
      throw new LoginError('captcha-timeout', `no captcha code appeared in ${file} within ${Math.round(timeoutMs / 1000)} s`, { endpoint: 'captcha' });
    }
    await sleep(500, undefined, signal ? { signal } : {});
  }
}
