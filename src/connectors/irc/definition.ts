import type { NetworkDefinition } from '../network.js';
import { ircConfigSchema } from './config.js';
import { ircRooms } from './rooms.js';

export const ircNetwork = {
  id: 'irc',
  displayName: 'IRC',
  configSchema: ircConfigSchema,
  rooms: ircRooms,
  failureReasons: [
    [/not a channel name/i, 'IRC: not a channel name'],
    [/cannot send to (nick\/)?channel|\b404\b/i, 'IRC: cannot send to that channel'],
  ],
  async load() {
    const { IrcConnector } = await import('./connector.js');
    return (config, deps) => {
      const irc = new IrcConnector(config, deps.rooms(), { overflow: (text) => deps.paste(text) });
      return {
        connector: irc,
        linksChanged: () => {
          for (const ch of deps.rooms()) irc.addChannel(ch);
        },
      };
    };
  },
} as const satisfies NetworkDefinition<'irc', typeof ircConfigSchema>;
