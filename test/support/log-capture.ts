import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log.js';

/** A real pino logger (same redaction as production) whose JSON lines the test can read. */
export function capturedLogger(level = 'info'): { log: Logger; lines: () => Array<Record<string, unknown>>; text: () => string } {
  const raw: string[] = [];
  const log = createLogger({
    level,
    destination: new Writable({
      write(chunk, _enc, cb) {
        raw.push(String(chunk));
        cb();
      },
    }),
  });
  const lines = () =>
    raw
      .join('')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return { msg: l };
        }
      });
  return { log, lines, text: () => raw.join('') };
}
