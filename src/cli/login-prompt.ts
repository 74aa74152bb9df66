/**
 * The terminal side of a QQ login: asks for the captcha code on the console and draws the QR code
 * as text. Without a terminal (a service) it falls back to the client's code-file prompt and only
 * prints where the files are.
 */
import { createInterface } from 'node:readline/promises';
import { codeFilePrompt, type LoginPrompt } from '../connectors/qq/webqq/login-prompt.js';

export interface TerminalPromptOptions {
  /** Where a console-less run waits for the captcha code. */
  codeFile: string;
  input?: NodeJS.ReadableStream & { isTTY?: boolean };
  output?: NodeJS.WritableStream;
  /** Ask on the console? Default: whether `input` is a terminal. */
  interactive?: boolean;
}

export function terminalLoginPrompt(opts: TerminalPromptOptions): LoginPrompt {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stderr;
  const interactive = opts.interactive ?? Boolean(input.isTTY);
  const file = codeFilePrompt({ file: opts.codeFile });
  const say = (text: string) => void output.write(text);
  return {
    async captchaCode(c, signal) {
      if (!interactive) {
        say(`QQ captcha saved to ${c.file}; write its code into ${opts.codeFile}\n`);
        return file.captchaCode(c, signal);
      }
      const rl = createInterface({ input, output });
      try {
        const again = c.attempt > 1 ? 'QQ rejected the last code. ' : '';
        return (await rl.question(`${again}QQ captcha saved to ${c.file}\nEnter the code shown in the image: `, signal ? { signal } : {})).trim();
      } finally {
        rl.close();
      }
    },
    qrShown(qr) {
      if (!qr.text) {
        say(`Scan the QR code saved to ${qr.file} with the QQ mobile app\n`);
        return;
      }
      // qrcode is loaded on the first QR code only: most runs never show one.
      import('qrcode').then(({ default: QRCode }) => QRCode.toString(qr.text!, { type: 'terminal', small: true })).then(
        (art) => say(`Scan this QR code with the QQ mobile app (also saved to ${qr.file}):\n${art}\n`),
        () => say(`Scan the QR code saved to ${qr.file} with the QQ mobile app\n`),
      );
    },
    qrScanned() {
      say('QR code scanned: confirm the login on the phone\n');
    },
  };
}
