import type { NetworkDefinition } from '../network.js';
import { ConfigError } from '../../core/errors.js';
import { matrixConfigSchema } from './config.js';
import { loadRegistration } from './registration.js';
import { matrixRooms } from './rooms.js';

export const matrixNetwork = {
  id: 'matrix',
  displayName: 'Matrix',
  configSchema: matrixConfigSchema,
  rooms: matrixRooms,
  checkFiles(section) {
    const reg = (section as { registration?: unknown } | null)?.registration;
    if (typeof reg !== 'string' || !reg) return [];
    try {
      loadRegistration(reg);
      return [];
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      return [{ path: ['registration'], message: e.message }];
    }
  },
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
        groupOf: (room) => Number(/^group:(\d+)$/.exec(deps.linkedRooms({ network: 'matrix', room }).find((t) => t.network === 'qq')?.room ?? '')?.[1]) || undefined,
        mappedRoom: (n) => deps.linkedRooms({ network: 'qq', room: `group:${n}` }).find((t) => t.network === 'matrix')?.room,
      });
      return {
        connector: matrix,
        deliveryFailed: (f) => matrix.deliveryFailed(f),
        alertAdmins: (text) => matrix.alertAdmins(text),
        linksChanged: () => {
          for (const room of deps.rooms()) matrix.addRoom(room);
        },
      };
    };
  },
} as const satisfies NetworkDefinition<'matrix', typeof matrixConfigSchema>;
