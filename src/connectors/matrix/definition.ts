import type { NetworkDefinition } from '../network.js';
import { matrixConfigSchema } from './config.js';
import { matrixRooms } from './rooms.js';

export const matrixNetwork = {
  id: 'matrix',
  displayName: 'Matrix',
  configSchema: matrixConfigSchema,
  rooms: matrixRooms,
  async load() {
    const { MatrixConnector } = await import('./connector.js');
    return (config, deps) => {
      const matrix = new MatrixConnector(config, {
        store: deps.store,
        rooms: deps.rooms(),
        // Links made from Matrix (plumbing commands, portal rooms) live in the store and join the
        // config's links in the route table whenever they change.
        onLinksChanged: (links) => deps.onLinksChanged(links),
        // Portal rooms exist only for groups the QQ account is in.
        groupInfo: (n) => deps.roomInfo('qq', `group:${n}`),
      });
      return {
        connector: matrix,
        linksChanged: () => {
          for (const room of deps.rooms()) matrix.addRoom(room);
        },
      };
    };
  },
} as const satisfies NetworkDefinition<'matrix', typeof matrixConfigSchema>;
