/**
 * The schema of a local listener a QQ implementation connects or POSTs to (OneBot's reverse
 * WebSocket, Milky's webhook): one definition so both backends validate it alike.
 */
import { z } from 'zod';

/** `key` names the setting in the path error (e.g. 'qq.onebot.reverse'); `defaultPath` is the backend's usual path. */
export function listenerSchema(key: string, defaultPath: string) {
  return z
    .object({
      bindAddress: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65535),
      path: z.string().startsWith('/', { error: `${key}.path must start with "/"` }).default(defaultPath),
    })
    .strict();
}
