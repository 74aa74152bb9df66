/**
 * The short, safe reason a room notice gives for a failed delivery. The raw error text of a
 * connector can quote a request (a URL with a token, a response body), so a public room is only
 * told a category picked from a fixed list, plus at most a protocol error code that matches a
 * strict pattern (`M_FORBIDDEN`, an HTTP status). The full text stays in the (scrubbed) logs.
 */
import type { DeliveryFailure } from '../core/outbox.js';

const DISPLAY: Record<string, string> = { qq: 'QQ', irc: 'IRC', matrix: 'Matrix', telegram: 'Telegram' };
const display = (n: string): string => DISPLAY[n] ?? (/^[a-z][a-z0-9_-]{0,19}$/i.test(n) ? n : 'the network');

/** Known reasons, by network ('*' for any): first match wins. Patterns read the raw text; the label is all that is shown. */
const KNOWN: Array<[network: string, pattern: RegExp, label: string]> = [
  ['*', /unreadable payload/i, 'the queued message could not be read'],
  ['telegram', /message is too long|text is too long|MESSAGE_TOO_LONG/i, 'Telegram: message too long'],
  ['telegram', /caption is too long/i, 'Telegram: caption too long'],
  ['telegram', /chat not found/i, 'Telegram: chat not found'],
  ['telegram', /bot was kicked|bot is not a member|not enough rights|have no rights|CHAT_WRITE_FORBIDDEN|bot was blocked/i, 'Telegram: the bot may not post there'],
  ['telegram', /file is too big|too large/i, 'Telegram: file too large'],
  ['telegram', /\b401\b|unauthorized/i, "Telegram refused the bot's token"],
  ['irc', /not a channel name/i, 'IRC: not a channel name'],
  ['irc', /cannot send to (nick\/)?channel|\b404\b/i, 'IRC: cannot send to that channel'],
  ['qq', /not in QQ group|not in QQ discussion|not a friend/i, 'QQ: the bot is not in that room'],
  ['qq', /not a QQ room/i, 'QQ: not a QQ room'],
  ['*', /too large|too big|larger than/i, 'file too large'],
];

/** A Matrix errcode such as M_FORBIDDEN (letters and underscores only, so nothing else can ride along). */
const MATRIX_ERRCODE = /\bM_[A-Z_]{2,40}\b/;
/** An HTTP status as our connectors format it (`sendMessage: 400 Bad Request`, `… : 403 M_…`). */
const HTTP_STATUS = /(?:^|[\s:])([45]\d\d)(?=\s|$)/;

export function safeFailureReason(f: Pick<DeliveryFailure, 'kind' | 'reason'> & { target: { network: string } }): string {
  const net = f.target.network;
  const name = display(net);
  for (const [n, re, label] of KNOWN) if ((n === '*' || n === net) && re.test(f.reason)) return label;
  const errcode = net === 'matrix' ? MATRIX_ERRCODE.exec(f.reason)?.[0] : undefined;
  if (errcode) return f.kind === 'fatal' ? `Matrix refused the bridge's login (${errcode})` : `Matrix refused it (${errcode})`;
  const status = HTTP_STATUS.exec(f.reason)?.[1];
  const code = status ? ` (error ${status})` : '';
  return f.kind === 'fatal' ? `${name} refused the bridge${code}` : `rejected by ${name}${code}`;
}
