/**
 * `reprise/app`: what an application imports. Health endpoints, the killswitch middleware and
 * adapters for node:http, Express, Fastify and web-standard frameworks (Hono…). No framework
 * and no database driver is loaded unless a check or a store of that kind is configured.
 */
export { createHealth, gracefulShutdown, Health, type CheckDetail, type CheckStatus, type GracefulShutdownOptions, type HealthOptions, type ReadyResult } from './health.js';
export type { CheckSpec } from './checks.js';
export { createKillswitch, Killswitch, killswitchOptionsFromConfig, type KillswitchConfigSection, type KillswitchOptions } from './killswitch.js';
export { expressMiddleware, nodeMiddleware, withReprise, writeReply, type MiddlewareOptions } from './node.js';
export { fastifyReprise, type FastifyPluginOptions } from './fastify.js';
export { handleFetch, honoMiddleware, withRepriseFetch, type FetchOptions } from './fetch.js';
export type { Reply, RequestInfo } from './reply.js';
export {
  disableKillswitch,
  enableKillswitch,
  killswitchStatus,
  openModeStore,
  type Mode,
  type ModeState,
  type ModeStore,
  type StoreHealth,
} from '../killswitch/index.js';
