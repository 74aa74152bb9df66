import type { NetworkDefinition } from '../network.js';
import { qqConfigSchema } from './config.js';
import { qqRooms } from './rooms.js';

export const qqNetwork = {
  id: 'qq',
  displayName: 'QQ',
  configSchema: qqConfigSchema,
  required: true,
  anchor: true,
  quietNotices: true,
  rooms: qqRooms,
  failureReasons: [
    [/not in QQ group|not in QQ discussion|not a friend/i, 'QQ: the bot is not in that room'],
    [/not a QQ room/i, 'QQ: not a QQ room'],
  ],
  async load() {
    const { QqConnector } = await import('./connector.js');
    const { loadFaces } = await import('./faces.js');
    // Every codec that meets a face needs the table: a missing data file stops start-up here, not at the first message.
    loadFaces();
    return (config, deps) => {
      const alertRoom = (config as { alert?: { network: string; room: string } }).alert;
      const qq = new QqConnector(config, {
        routes: { links: () => deps.links() },
        onState: (state, detail) => deps.emit({ type: 'state', state, ...(detail !== undefined ? { detail } : {}) }),
        onCondition: (what) => deps.emit({ type: 'condition', what }),
        onAccountEvent: (e, text) =>
          deps.emit({
            type: 'account',
            ...(e.type === 'episode' ? { state: e.status.state } : { state: 'online', from: e.from }),
            notice: text.notice,
            ...(text.alert ? { alert: text.alert } : {}),
            ...(alertRoom ? { alertRoom } : {}),
          }),
        // The store keeps what a backend must not lose across a crash (WebQQ: poll answers not yet relayed).
        backend: { kv: deps.store, ...(deps.loginPrompt ? { loginPrompt: deps.loginPrompt } : {}) },
      });
      return {
        connector: qq,
        linksChanged: () => qq.refreshBindings(),
        roomInfo: (room) => qq.roomInfo(room),
      };
    };
  },
} as const satisfies NetworkDefinition<'qq', typeof qqConfigSchema>;
