/** The OneBot v11 backend (issue 10): being written; until then `protocol: onebot` fails at start. */
import type { QqBackend } from '../backend.js';
import type { QqBackendOptions } from '../backends.js';
import type { OnebotConfig } from './config.js';

export function createBackend(_config: OnebotConfig, _opts: QqBackendOptions): QqBackend {
  throw new Error('the OneBot backend is not available in this build yet');
}
