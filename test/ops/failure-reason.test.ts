/** The reason a room is told when a delivery fails: a safe category, never the connector's raw text. */
import { describe, expect, it } from 'vitest';
import { safeFailureReason } from '../../src/ops/failure-reason.js';

const f = (network: string, reason: string, kind: 'rejected' | 'fatal' = 'rejected') => safeFailureReason({ target: { network }, kind, reason });

describe('safe failure reasons', () => {
  it('names a category for each network, keeping at most a strict error code', () => {
    expect(f('matrix', 'Matrix delivery to !r:hs: 403 M_FORBIDDEN: You are not allowed to send (https://hs/_matrix?access_token=syt_x)')).toBe('Matrix refused it (M_FORBIDDEN)');
    expect(f('matrix', 'Matrix delivery to !r:hs: 401 M_UNKNOWN_TOKEN: Invalid token syt_abc', 'fatal')).toBe("Matrix refused the bridge's login (M_UNKNOWN_TOKEN)");
    expect(f('telegram', 'sendMessage: 400 Bad Request: message is too long')).toBe('Telegram: message too long');
    expect(f('telegram', 'sendMessage: 400 Bad Request: chat not found')).toBe('Telegram: chat not found');
    expect(f('telegram', 'sendMessage: 403 Forbidden: bot was kicked from the supergroup chat')).toBe('Telegram: the bot may not post there');
    expect(f('telegram', 'sendPhoto: 400 Bad Request: wrong something https://x/bot1:SECRET')).toBe('rejected by Telegram (error 400)');
    expect(f('irc', 'IRC room "qq" is not a channel name')).toBe('IRC: not a channel name');
    expect(f('irc', 'line too long; sent PRIVMSG #a :password=hunter2')).toBe('rejected by IRC');
    expect(f('qq', 'the bot is not in QQ group 123 (or its number cannot be resolved)')).toBe('QQ: the bot is not in that room');
    expect(f('discord', 'weird')).toBe('rejected by discord');
    expect(f('x y', 'weird', 'fatal')).toBe('the network refused the bridge');
  });
});
