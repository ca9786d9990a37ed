// Operational endpoints (SPEC 5): /healthz, /readyz, /metrics, and the OpenAPI document.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.ts';

/** /readyz answers within about this long even when ClickHouse hangs. */
const READY_TIMEOUT_MS = 3_000;

export function registerOpsRoutes(app: FastifyInstance, context: AppContext): void {
  // Alive: the process answers. Nothing else is checked, so a restart is never
  // triggered by a dependency being down.
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  // Ready = every chart can be answered: ClickHouse answers AND the database
  // has every migration this release ships (a fresh or old database would
  // answer each chart with a 500). `checks.clickhouse` covers both; `problems`
  // says which failed and what to do. Kafka is reported but does not count:
  // only erasure needs it, and that endpoint answers 503 by itself while Kafka
  // is away, so taking the whole API out of rotation would be wrong.
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const problems: string[] = [];
    let clickhouse = await context.warehouse.ping(READY_TIMEOUT_MS);
    if (!clickhouse) {
      problems.push(`ClickHouse does not answer at ${context.config.CLICKHOUSE_URL}`);
    } else {
      try {
        const schema = await context.warehouse.schemaStatus(
          context.config.CLICKHOUSE_DATABASE,
          context.expectedMigrations,
          READY_TIMEOUT_MS,
        );
        if (!schema.ok) {
          clickhouse = false;
          problems.push(schema.problem);
        }
      } catch (error) {
        clickhouse = false;
        problems.push(`cannot read the schema version: ${(error as Error).message.split('\n')[0]}`);
      }
    }
    const kafka = context.control.isConnected;
    if (!kafka) problems.push('Kafka is not connected: erasure requests answer 503 until it is');
    const body = {
      status: clickhouse ? 'ready' : 'not_ready',
      checks: { clickhouse, kafka },
      ...(problems.length > 0 ? { problems } : {}),
    };
    return reply.code(clickhouse ? 200 : 503).send(body);
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const body = await context.metrics.registry.metrics();
    return reply.header('content-type', context.metrics.registry.contentType).send(body);
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
