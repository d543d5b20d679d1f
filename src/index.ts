/** Programmatic entry points for embedding Fedbridge. */
export { loadConfig, ConfigError, type Config } from './config/load.js';
export { createService, serve, type Service, type ServiceOptions } from './service.js';
export { upstreamKinds } from './upstreams/registry.js';
