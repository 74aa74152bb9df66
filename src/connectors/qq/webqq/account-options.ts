/** The bridge's `qq` config section → the WebQQ client's own account options. */
import type { WebqqConfig as QqConfig } from './config.js';
import type { WebQqAccount } from './client.js';

export function webqqAccountFrom(config: QqConfig): WebQqAccount {
  return {
    uin: config.uin,
    ...(config.password !== undefined ? { password: config.password } : {}),
    login: config.login,
    ...(config.era === 'smartqq' ? { passwordEra: 'smartqq' as const } : {}),
    ...(config.endpoint !== undefined ? { endpoint: config.endpoint } : {}),
    stateDir: config.stateDir,
    status: config.status,
    sendIntervalMs: config.sendIntervalMs,
    captchaCodeFile: config.captchaCodeFile,
  };
}
