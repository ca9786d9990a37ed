// @optout/query: the HTTP API, exports and dashboard server.
export { type QueryConfig, parseQueryConfig } from './config.ts';
export { buildQueryServer, type QueryServerDeps } from './server.ts';
