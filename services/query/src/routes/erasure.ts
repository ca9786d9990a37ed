// Erasure (SPEC 6): DELETE /v1/apps/{appId}/users/{userId} (admin keys only)
// queues the request on the control topic; GET .../erasures/{jobId} reports it.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { erasureAccepted, erasureStatus } from '../api-schemas.ts';
import { type AppContext, requireAccess } from '../context.ts';
import { bearer, errorResponses, jsonSchema } from '../openapi.ts';
import { parsePath, pathSchemas } from '../params.ts';
import { erasureJob } from '../queries/erasure-job.ts';

export function registerErasureRoutes(app: FastifyInstance, context: AppContext): void {
  app.delete(
    '/v1/apps/:appId/users/:userId',
    {
      schema: {
        summary: 'Erase a user: all facts and pipeline state (admin key)',
        description:
          'Publishes an erase_user request keyed <app_id>:<user_id> on the control topic and answers at once; ' +
          'services/ingest performs it. Poll the job with GET /v1/apps/{appId}/erasures/{jobId}.',
        tags: ['erasure'],
        security: bearer,
        params: jsonSchema(pathSchemas.user),
        response: {
          202: { description: 'Accepted: the request is queued', ...jsonSchema(erasureAccepted) },
          ...errorResponses([400, 401, 403, 503]),
        },
      },
    },
    async (request: FastifyRequest<{ Params: { appId: string; userId: string } }>, reply: FastifyReply) => {
      requireAccess(context, request, request.params.appId, { admin: true });
      const { appId, userId } = parsePath('user', request.params);
      const message = await context.control.requestErasure(appId, userId, context.now());
      return reply
        .code(202)
        .header('location', `/v1/apps/${encodeURIComponent(appId)}/erasures/${message.job_id}`)
        .send({ job_id: message.job_id, status: 'queued' });
    },
  );

  app.get(
    '/v1/apps/:appId/erasures/:jobId',
    {
      schema: {
        summary: 'Status of an erasure job (admin key)',
        description: 'queued until services/ingest has picked the request up (no job row yet).',
        tags: ['erasure'],
        security: bearer,
        params: jsonSchema(pathSchemas.job),
        response: {
          200: { description: 'OK', ...jsonSchema(erasureStatus) },
          ...errorResponses([400, 401, 403, 503, 504]),
        },
      },
    },
    async (request: FastifyRequest<{ Params: { appId: string; jobId: string } }>) => {
      // Admin keys only, like the request itself: the status names the erased user.
      requireAccess(context, request, request.params.appId, { admin: true });
      const { appId, jobId } = parsePath('job', request.params);
      return erasureJob(context.warehouse, appId, jobId, context.config.QUERY_TIMEOUT_MS);
    },
  );
}
