/**
 * `--pretty`: pino's JSON lines as one short line each for a person at a terminal —
 * `12:00:01 WARN  irc  connecting to IRC  host=irc.libera.chat port=6697`. The JSON stays the
 * default: it is what journald and log tools read.
 */
import { Writable } from 'node:stream';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const COLORS: Record<number, string> = { 10: '2', 20: '2', 30: '32', 40: '33', 50: '31', 60: '41;97' };
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'net', 'v']);

function value(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  if (v && typeof v === 'object' && typeof (v as { message?: unknown }).message === 'string') {
    const e = v as { message: string; stack?: string };
    return JSON.stringify(e.message) + (e.stack ? `\n${e.stack.split('\n').slice(1).join('\n')}` : '');
  }
  return JSON.stringify(v);
}

/** One JSON log line as a readable one; a line that is not JSON passes through unchanged. */
export function prettyLine(json: string, color: boolean): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  if (!o || typeof o !== 'object') return json;
  const paint = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const level = typeof o.level === 'number' ? o.level : 30;
  const time = typeof o.time === 'number' ? new Date(o.time).toTimeString().slice(0, 8) : '';
  const parts = [paint('2', time), paint(COLORS[level] ?? '0', (LEVELS[level] ?? String(level)).padEnd(5))];
  if (typeof o.net === 'string') parts.push(paint('36', o.net.padEnd(4)));
  parts.push(String(o.msg ?? ''));
  const fields = Object.entries(o).filter(([k]) => !HIDDEN.has(k)).map(([k, v]) => `${paint('2', `${k}=`)}${value(v)}`);
  return `${parts.join(' ')}${fields.length ? `  ${fields.join(' ')}` : ''}`;
}

/** A destination for createLogger that writes pretty lines to `out`. */
export function prettyStream(out: NodeJS.WritableStream & { isTTY?: boolean }): Writable {
  const color = out.isTTY === true && !process.env.NO_COLOR;
  let rest = '';
  return new Writable({
    write(chunk, _enc, cb) {
      const text = rest + String(chunk);
      const lines = text.split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) out.write(`${prettyLine(l, color)}\n`);
      cb();
    },
  });
}
