/** The demo's terminal view: what each side of the bridge shows, one line per message. */
import { faceById } from '../connectors/qq/faces.js';

const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: string, s: string) => (useColor ? `\x1b[${code}m${s}\x1b[0m` : s);

function stamp(): string {
  return new Date().toTimeString().slice(0, 8);
}

/**
 * Writes unless stdout is gone (`| head` closed the pipe): the demo is stopping then, and a
 * write to a destroyed stream would only raise another EPIPE.
 */
function out(line: string): void {
  if (process.stdout.destroyed || !process.stdout.writable) return;
  process.stdout.write(line);
}

/** A QQ face as a person sees it in QQ: its emoji, else its name in brackets. */
export function faceText(id: number): string {
  const f = faceById(id);
  return f?.emoji ?? (f ? `[${f.name}]` : `[face ${id}]`);
}

/** Styled runs (from IRC formatting) for the terminal: bold stays bold, the rest is plain. */
export function styledText(runs: ReadonlyArray<{ text: string; style?: { bold?: boolean } }>): string {
  return runs.map((r) => (r.style?.bold ? (useColor ? `\x1b[1m${r.text}\x1b[22m` : `*${r.text}*`) : r.text)).join('');
}

/** A message as it appears in the QQ group. */
export function showQq(room: string, who: string, text: string): void {
  out(`${paint('2', stamp())} ${paint('36', `[QQ  ${room}]`)} ${paint('1', who)}: ${text}\n`);
}

/** A message as it appears in the IRC channel; an action (`/me`) as `* nick text`. */
export function showIrc(channel: string, nick: string, text: string, action = false): void {
  const who = action ? `* ${paint('1', nick)}` : `<${paint('1', nick)}>`;
  out(`${paint('2', stamp())} ${paint('35', `[IRC ${channel}]`)} ${who} ${text}\n`);
}

export function showInfo(text: string): void {
  out(`${paint('33', '  ·')} ${text}\n`);
}
