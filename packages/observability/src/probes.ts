// /healthz, /readyz and /metrics of a service without an HTTP API of its own
// (ingest, rollup), on node:http: three routes do not need a framework.
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface Probes {
  /** The loop is alive: it fetched, heartbeated or retried recently. */
  healthy: () => { ok: boolean; detail: Record<string, unknown> };
  /** Dependencies reachable (and, for ingest, the consumer joined its group). */
  ready: () => Promise<{ ok: boolean; detail: Record<string, unknown> }>;
}

export function startProbeServer(
  host: string,
  port: number,
  registry: Registry,
  probes: Probes,
): Promise<Server> {
  const server = createServer(async (req, res) => {
    const send = (status: number, body: unknown, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    try {
      if (req.method !== 'GET')
        return send(405, { error: { code: 'method_not_allowed', message: 'GET only', details: [] } });
      switch (req.url) {
        case '/healthz': {
          const { ok, detail } = probes.healthy();
          return send(ok ? 200 : 503, { status: ok ? 'ok' : 'unhealthy', ...detail });
        }
        case '/readyz': {
          const { ok, detail } = await probes.ready();
          return send(ok ? 200 : 503, { status: ok ? 'ready' : 'not_ready', ...detail });
        }
        case '/metrics':
          return send(200, await registry.metrics(), registry.contentType);
        default:
          return send(404, { error: { code: 'not_found', message: `no route ${req.url}`, details: [] } });
      }
    } catch (error) {
      return send(500, { error: { code: 'internal', message: (error as Error).message, details: [] } });
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
