// What the route modules share: built once per server by buildQueryServer.
import type { Migration } from '@optout/clickhouse';
import type { FastifyRequest } from 'fastify';
import { type ApiKeyStore, authorize, type Principal } from './auth.ts';
import type { QueryConfig } from './config.ts';
import type { ControlChannel } from './erasure.ts';
import type { QueryMetrics } from './metrics.ts';
import type { Warehouse } from './warehouse.ts';

export interface AppContext {
  config: QueryConfig;
  warehouse: Warehouse;
  keys: ApiKeyStore;
  control: ControlChannel;
  metrics: QueryMetrics;
  now: () => Date;
  /** The migrations this release ships (its migration files, read at start-up): /readyz wants them all applied. */
  expectedMigrations: readonly Migration[];
}

/** 401 / 403 checks for a request on `appId`; keys are read from the header and never logged. */
export function requireAccess(
  context: AppContext,
  request: FastifyRequest,
  appId: string,
  options: { admin?: boolean } = {},
): Principal {
  const principal = context.keys.authenticate(request.headers.authorization);
  authorize(principal, appId, options);
  return principal;
}
