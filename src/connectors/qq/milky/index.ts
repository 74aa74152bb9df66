/** The Milky client: a library (its own options and errors; nothing of the bridge). */
export { MilkyApi, type MilkyApiOptions } from './api.js';
export { MilkyError, isMilkyError, kindOfRetcode, type MilkyErrorKind } from './errors.js';
export { MilkyEventStream, type MilkyEvent, type MilkyEventStreamOptions, type MilkyTransport, type StreamState, type MilkyLog } from './events.js';
export { historySince, type HistoryMessage, type HistoryOptions, type HistoryResult } from './history.js';
export { MILKY_APIS, HISTORY_LIMIT_MAX, type MilkyEndpoint, type MilkyInput, type MilkyOutput } from './protocol.js';
