// @optout/query: the HTTP API, exports and dashboard server.
export { parseQueryConfig, type QueryConfig } from './config.ts';
export { buildQueryServer, type QueryServerDeps } from './server.ts';
