// buildQueryServer: the HTTP API, dashboard and operational endpoints, with
// every dependency injectable so tests can start it in-process on port 0.
import { maxHeaderSize } from 'node:http';
import swagger from '@fastify/swagger';
import {
  type ClickHouseClient,
  clickhouseConnection,
  createClickHouseClient,
  loadMigrations,
} from '@optout/clickhouse';
import { kafkaConnection, type RecordProducer } from '@optout/kafka';
import { createLogger, type Logger } from '@optout/observability';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
} from 'fastify';
import { ApiKeyStore } from './auth.ts';
import type { QueryConfig } from './config.ts';
import type { AppContext } from './context.ts';
import { ControlChannel, createControlProducer } from './erasure.ts';
import { ApiError, errorBody } from './errors.ts';
import { QueryGate, registerLoadLimits } from './limits.ts';
import { createQueryMetrics, type QueryMetrics } from './metrics.ts';
import { openapiInfo } from './openapi.ts';
import { registerErasureRoutes } from './routes/erasure.ts';
import { registerOpsRoutes } from './routes/ops.ts';
import { registerOptOutRoutes } from './routes/optouts.ts';
import { registerStaticRoutes } from './routes/static.ts';
import { Warehouse } from './warehouse.ts';

export interface QueryServerDeps {
  config: QueryConfig;
  logger?: Logger;
  /** Defaults to a read-only client built from config (CLICKHOUSE_*). */
  clickhouse?: ClickHouseClient;
  /** Defaults to a producer on KAFKA_BROKERS (with the KAFKA_SSL / KAFKA_SASL_* settings). */
  producer?: RecordProducer;
  metrics?: QueryMetrics;
  /** The server clock (presets, pending outcomes); injectable for tests. */
  now?: () => Date;
  /** Where the dashboard files live (default services/query/public/). */
  publicDir?: string;
}

export async function buildQueryServer(deps: QueryServerDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const logger = deps.logger ?? createLogger('query', config.LOG_LEVEL);
  const clickhouse =
    deps.clickhouse ??
    createClickHouseClient({
      ...clickhouseConnection(config),
      database: config.CLICKHOUSE_DATABASE,
      readOnly: true,
      // Our own per-query deadlines are shorter; this only has to outlast the longest export.
      requestTimeoutMs: Math.max(config.QUERY_TIMEOUT_MS, config.EXPORT_TIMEOUT_MS) + 30_000,
      application: 'optout-query',
      logger,
    });
  const producer =
    deps.producer ?? createControlProducer(kafkaConnection(config), `${config.KAFKA_CLIENT_ID}-query`);
  const metrics = deps.metrics ?? createQueryMetrics();
  const gate = new QueryGate(
    {
      maxRunning: config.CLICKHOUSE_MAX_CONCURRENT_QUERIES,
      maxQueued: config.CLICKHOUSE_QUEUE_SIZE,
      queueTimeoutMs: config.CLICKHOUSE_QUEUE_TIMEOUT_MS,
    },
    metrics,
  );
  const context: AppContext = {
    config,
    warehouse: new Warehouse(clickhouse, logger, gate),
    keys: new ApiKeyStore(config.apiKeys),
    control: new ControlChannel(producer, config.TOPIC_CONTROL, logger, config.ERASURE_KAFKA_TIMEOUT_MS),
    metrics,
    now: deps.now ?? (() => new Date()),
    // The files this code ships with: other releases may add migrations, so never a number written here.
    expectedMigrations: await loadMigrations(),
  };

  const app: FastifyInstance = Fastify({
    // pino's Logger is a FastifyBaseLogger; the cast only drops pino's extra generics.
    loggerInstance: logger as FastifyBaseLogger,
    // Long exports: no overall request timeout; the export has its own limit.
    requestTimeout: 0,
    // Fastify's request log has method, url and ids, never headers; the logger
    // redacts authorization anyway (createLogger), so keys cannot leak.
    //
    // Ids may be 256 characters (params.ts, as ingest's MAX_ID_LENGTH), and
    // Fastify's default (100) would answer a longer path segment with its own
    // 414 before any route runs. The router measures the decoded segment; let
    // through anything that fits in a request line Node accepts, so the route's
    // zod check answers 400 naming the parameter for every id that is too long.
    routerOptions: { maxParamLength: maxHeaderSize },
    // The router's own refusals (a malformed %-escape, a segment longer than
    // the above) in the API's error shape instead of Fastify's.
    frameworkErrors: (error, _request, reply) => {
      const apiError = new ApiError('bad_request', `invalid path: ${error.message}`, [
        { param: '(path)', message: error.message },
      ]);
      // The generic reply type of this hook cannot know our body: it is a plain FastifyReply.
      void (reply as FastifyReply).code(apiError.status).send(errorBody(apiError));
    },
  });

  // Zod validates (params.ts) and JSON.stringify serialises: the JSON schemas
  // attached to routes only document (OpenAPI). Fastify's ajv would otherwise
  // coerce and reject with its own error shape.
  app.setValidatorCompiler(() => (data) => ({ value: data }));
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  await app.register(swagger, openapiInfo);
  // Before the routes: the limits' hooks must apply to them.
  await registerLoadLimits(app, context);

  app.addHook('onResponse', async (request, reply) => {
    context.metrics.httpDuration.observe(
      {
        method: request.method,
        // The route template, never the raw URL (ids would explode the label set).
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });

  app.setNotFoundHandler(async (request, reply) => {
    const error = new ApiError('not_found', `no route ${request.method} ${request.url.split('?')[0]}`);
    return reply.code(404).send(errorBody(error));
  });

  app.setErrorHandler(async (error: FastifyError | ApiError, request, reply) => {
    let apiError: ApiError;
    if (error instanceof ApiError) apiError = error;
    else if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      // Fastify's own client errors (bad JSON body, body too large, ...).
      apiError = new ApiError(error.statusCode === 404 ? 'not_found' : 'bad_request', error.message);
    } else {
      request.log.error({ err: error }, 'unhandled_error');
      apiError = new ApiError('internal', 'internal error');
    }
    if (apiError.retryAfterSeconds !== undefined)
      reply.header('retry-after', String(apiError.retryAfterSeconds));
    return reply.code(apiError.status).send(errorBody(apiError));
  });

  registerOptOutRoutes(app, context);
  registerErasureRoutes(app, context);
  registerOpsRoutes(app, context);
  registerStaticRoutes(app, deps.publicDir);

  app.addHook('onReady', async () => {
    context.control.start();
  });
  app.addHook('onClose', async () => {
    await context.control.close();
    if (!deps.clickhouse) await clickhouse.close();
  });

  return app;
}
