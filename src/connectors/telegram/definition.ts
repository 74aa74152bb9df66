import type { NetworkDefinition } from '../network.js';
import { telegramConfigSchema } from './config.js';
import { telegramRooms } from './rooms.js';

export const telegramNetwork = {
  id: 'telegram',
  displayName: 'Telegram',
  configSchema: telegramConfigSchema,
  rooms: telegramRooms,
  failureReasons: [
    [/message is too long|text is too long|MESSAGE_TOO_LONG/i, 'Telegram: message too long'],
    [/caption is too long/i, 'Telegram: caption too long'],
    [/chat not found/i, 'Telegram: chat not found'],
    [/bot was kicked|bot is not a member|not enough rights|have no rights|CHAT_WRITE_FORBIDDEN|bot was blocked/i, 'Telegram: the bot may not post there'],
    [/file is too big|too large/i, 'Telegram: file too large'],
    [/\b401\b|unauthorized/i, "Telegram refused the bot's token"],
  ],
  async load() {
    const { TelegramConnector } = await import('./connector.js');
    return (config, deps) => ({
      connector: new TelegramConnector(config, { onRateLimited: () => deps.emit({ type: 'condition', what: 'rate_limited' }) }),
    });
  },
} as const satisfies NetworkDefinition<'telegram', typeof telegramConfigSchema>;
