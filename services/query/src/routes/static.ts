// GET / and /assets/*: the dashboard (services/query/public/, written separately)
// and Chart.js from node_modules. Files are small and read per request, so an
// edited dashboard shows up without a restart.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.ts';
import { chartJsPath, contentType, PLACEHOLDER_HTML, PUBLIC_DIR, readIfExists, safeJoin } from '../static.ts';

export function registerStaticRoutes(app: FastifyInstance, publicDir = PUBLIC_DIR): void {
  // Resolved at start-up: a missing chart.js install fails loudly now, not on first view.
  const chartJs = chartJsPath();

  const send = (reply: FastifyReply, body: Buffer | string, type: string) =>
    reply
      .header('content-type', type)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'no-cache')
      .send(body);

  app.get('/', { schema: { hide: true } }, async (_request, reply) => {
    const index = await readIfExists(`${publicDir}/index.html`);
    return send(reply, index ?? PLACEHOLDER_HTML, 'text/html; charset=utf-8');
  });

  app.get('/assets/chart.umd.js', { schema: { hide: true } }, async (_request, reply) => {
    const body = await readIfExists(chartJs);
    if (!body) throw new ApiError('not_found', 'chart.js is not installed');
    return send(reply, body, 'text/javascript; charset=utf-8');
  });

  app.get(
    '/assets/*',
    { schema: { hide: true } },
    async (request: FastifyRequest<{ Params: { '*': string } }>, reply) => {
      const path = safeJoin(publicDir, request.params['*']);
      const body = path ? await readIfExists(path) : undefined;
      if (!path || !body) throw new ApiError('not_found', `no such asset: ${request.params['*']}`);
      return send(reply, body, contentType(path));
    },
  );
}
