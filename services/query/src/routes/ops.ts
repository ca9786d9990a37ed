// Operational endpoints (SPEC 5): /healthz, /readyz, /metrics, and the OpenAPI document.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.ts';

export function registerOpsRoutes(app: FastifyInstance, context: AppContext): void {
  // Alive: the process answers. Nothing else is checked, so a restart is never
  // triggered by a dependency being down.
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  // Ready: ClickHouse answers a ping and the Kafka producer (erasure) is connected.
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const clickhouse = await context.warehouse.ping();
    const kafka = context.control.isConnected;
    const ready = clickhouse && kafka;
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'not_ready', checks: { clickhouse, kafka } });
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const body = await context.metrics.registry.metrics();
    return reply.header('content-type', context.metrics.registry.contentType).send(body);
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
