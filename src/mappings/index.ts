export {
  mappingsConfigSchema, describeLink, qqRoomName, roomKey,
  type MappingsConfig, type MappingLink, type LinkRoom, type LinkNetwork, type QqTarget,
} from './config.js';
export { MappingRouteTable, type MappingRouteFlags, type MappingRouteTarget } from './routes.js';
export {
  bindLinks, logBindingReport, retryUnbound, sessionKey,
  type QqContacts, type BoundLink, type UnboundLink, type BindingReport, type RetryOptions, type RetryHandle,
} from './binding.js';
