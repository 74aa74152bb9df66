export {
  mappingsConfigSchema, describeLink, roomKey,
  type MappingsConfig, type MappingLink, type LinkRoom,
} from './config.js';
export { MappingRouteTable, type MappingRouteFlags, type MappingRouteTarget } from './routes.js';
