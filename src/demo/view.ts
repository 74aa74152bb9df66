/** The demo's terminal view: what each side of the bridge shows, one line per message. */
const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: string, s: string) => (useColor ? `\x1b[${code}m${s}\x1b[0m` : s);

function stamp(): string {
  return new Date().toTimeString().slice(0, 8);
}

/** A message as it appears in the QQ group. */
export function showQq(room: string, who: string, text: string): void {
  process.stdout.write(`${paint('2', stamp())} ${paint('36', `[QQ  ${room}]`)} ${paint('1', who)}: ${text}\n`);
}

/** A message as it appears in the IRC channel. */
export function showIrc(channel: string, nick: string, text: string): void {
  process.stdout.write(`${paint('2', stamp())} ${paint('35', `[IRC ${channel}]`)} <${paint('1', nick)}> ${text}\n`);
}

export function showInfo(text: string): void {
  process.stdout.write(`${paint('33', '  ·')} ${text}\n`);
}
