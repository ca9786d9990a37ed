// GET /v1/apps/{appId}/optouts/{trend,push-pressure,campaigns,events,export,exposure,winback}.
// Order of checks: 401/403 (who asks) before 400 (what is asked), so a caller
// without access learns nothing about the parameters.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import {
  campaignsResponse,
  eventsResponse,
  exportRowSchema,
  exposureResponse,
  pushPressureResponse,
  trendResponse,
  winbackResponse,
} from '../api-schemas.ts';
import { type AppContext, requireAccess } from '../context.ts';
import { CONTENT_TYPES, exportBody, exportFilename } from '../export-stream.ts';
import { bearer, errorResponses, jsonSchema } from '../openapi.ts';
import {
  type Channel,
  parsePath,
  parseQuery,
  pathSchemas,
  type QuerySchemas,
  querySchemas,
} from '../params.ts';
import { type ResolvedRange, rangeJson } from '../periods.ts';
import { campaigns } from '../queries/campaigns.ts';
import { events } from '../queries/events.ts';
import { exportSql } from '../queries/export.ts';
import { exposure } from '../queries/exposure.ts';
import { pushPressure } from '../queries/push-pressure.ts';
import type { FactScope } from '../queries/scope.ts';
import { trend } from '../queries/trend.ts';
import { winback } from '../queries/winback.ts';

type AppRequest = FastifyRequest<{ Params: { appId: string } }>;

function routeSchema(name: keyof QuerySchemas, summary: string, response: z.ZodType, description: string) {
  return {
    summary,
    description,
    tags: ['opt-outs'],
    security: bearer,
    params: jsonSchema(pathSchemas.app),
    querystring: jsonSchema(querySchemas[name], 'input'),
    response: { 200: { description: 'OK', ...jsonSchema(response) }, ...errorResponses() },
  };
}

/** Authenticates, validates, and builds the scope of a request to endpoint `name`. */
function prepare<K extends keyof QuerySchemas>(context: AppContext, request: AppRequest, name: K) {
  requireAccess(context, request, request.params.appId);
  const { appId } = parsePath('app', request.params);
  const params = parseQuery(name, request.query, context.now());
  const scope: FactScope = { appId, channel: params.channel as Channel, range: params.range };
  return { appId, params, scope };
}

function envelope(appId: string, range: ResolvedRange, channel: Channel) {
  return { app_id: appId, range: rangeJson(range), channel };
}

export function registerOptOutRoutes(app: FastifyInstance, context: AppContext): void {
  const timeout = context.config.QUERY_TIMEOUT_MS;
  const base = '/v1/apps/:appId/optouts';

  app.get(
    `${base}/trend`,
    {
      schema: routeSchema(
        'trend',
        'Opt-outs, opt-ins and opting-out users per day',
        trendResponse,
        'Every day of the range in tz, zero-filled, with its baseline (median of the 28 days before) and spike; ' +
          'previous: the same totals over the days just before. With group_by=source also one series per consent source.',
      ),
    },
    async (request: AppRequest) => {
      const { appId, params, scope } = prepare(context, request, 'trend');
      const result = await trend(context.warehouse, scope, params.group_by === 'source', timeout);
      return { ...envelope(appId, params.range, scope.channel), approximate: false, ...result };
    },
  );

  app.get(
    `${base}/push-pressure`,
    {
      schema: routeSchema(
        'pushPressure',
        'Pushes received in the window_days before each opt-out',
        pushPressureResponse,
        'Histogram "0".."max_bucket-1", "max_bucket+"; mean; p50/p90 by nearest rank (null without opt-outs).',
      ),
    },
    async (request: AppRequest) => {
      const { appId, params, scope } = prepare(context, request, 'pushPressure');
      const result = await pushPressure(
        context.warehouse,
        scope,
        params.window_days,
        params.max_bucket,
        timeout,
      );
      return {
        ...envelope(appId, params.range, scope.channel),
        window_days: params.window_days,
        max_bucket: params.max_bucket,
        ...result,
      };
    },
  );

  app.get(
    `${base}/campaigns`,
    {
      schema: routeSchema(
        'campaigns',
        'Campaigns interacted with before opting out',
        campaignsResponse,
        'Sorted by opt_outs desc, then campaign_id; reach counts pushes in [start - lookback_days * 24h, end). ' +
          'lift and significant compare each campaign with baseline_rate, the pooled rate of every campaign with a reach.',
      ),
    },
    async (request: AppRequest) => {
      const { appId, params, scope } = prepare(context, request, 'campaigns');
      const result = await campaigns(context.warehouse, scope, params.lookback_days, params.limit, timeout);
      return {
        ...envelope(appId, params.range, scope.channel),
        lookback_days: params.lookback_days,
        limit: params.limit,
        approximate: false,
        campaigns: result.campaigns,
        baseline_rate: result.baseline_rate,
      };
    },
  );

  app.get(
    `${base}/events`,
    {
      schema: routeSchema(
        'events',
        'App events before opting out, by outcome (retained / churned)',
        eventsResponse,
        'Outcomes use the server clock: an opt-out is pending while its lookback window after t is still open.',
      ),
    },
    async (request: AppRequest) => {
      const { appId, params, scope } = prepare(context, request, 'events');
      const result = await events(
        context.warehouse,
        scope,
        { lookbackDays: params.lookback_days, count: params.count, limit: params.limit, now: context.now() },
        timeout,
      );
      return {
        ...envelope(appId, params.range, scope.channel),
        lookback_days: params.lookback_days,
        count: params.count,
        limit: params.limit,
        approximate: false,
        ...result,
      };
    },
  );

  app.get(
    `${base}/exposure`,
    {
      schema: routeSchema(
        'exposure',
        'Opt-out rate by pushes received, over user-days at risk',
        exposureResponse,
        'A user-day at risk: a day of the range and a user known before it (an event of any kind) and not opted ' +
          'out on the channel at its start. Bucketed by the pushes in the window_days before the day; rate = ' +
          'opt_outs / user_days (null without user-days).',
      ),
    },
    async (request: AppRequest) => {
      const { appId, params, scope } = prepare(context, request, 'exposure');
      const { result, sources } = await exposure(
        context.warehouse,
        scope,
        params.window_days,
        params.max_bucket,
        timeout,
      );
      context.metrics.exposureDays.inc({ source: 'rollup' }, sources.rollup);
      context.metrics.exposureDays.inc({ source: 'exact' }, sources.exact);
      return {
        ...envelope(appId, params.range, scope.channel),
        window_days: params.window_days,
        max_bucket: params.max_bucket,
        approximate: false,
        ...result,
      };
    },
  );

  app.get(
    `${base}/winback`,
    {
      schema: routeSchema(
        'winback',
        'Opt-outs won back (opted in again) within 1, 7 and 30 days',
        winbackResponse,
        'Per window: won_back (the next opt-in on the channel came within the days), pending (not yet, and ' +
          'the window ends after now), lost (the rest). Overall and per source of the opt-out.',
      ),
    },
    async (request: AppRequest) => {
      const { appId, params, scope } = prepare(context, request, 'winback');
      const result = await winback(context.warehouse, scope, context.now(), timeout);
      return { ...envelope(appId, params.range, scope.channel), approximate: false, ...result };
    },
  );

  app.get(
    `${base}/export`,
    {
      schema: {
        summary: 'Export the users who opted out in the range',
        description:
          'Streamed; one row per user, ordered by opted_out_at then user_id. CSV (RFC 4180, header row, ' +
          "cells starting with = + - @ TAB CR prefixed with ') or NDJSON. A failure after the first byte " +
          'aborts the connection, so an incomplete file never ends cleanly.',
        tags: ['opt-outs'],
        security: bearer,
        params: jsonSchema(pathSchemas.app),
        querystring: jsonSchema(querySchemas.export, 'input'),
        response: {
          200: {
            description: 'The export file (Content-Disposition: attachment)',
            content: {
              'text/csv': { schema: { type: 'string' } },
              'application/x-ndjson': { schema: jsonSchema(exportRowSchema) },
            },
          },
          ...errorResponses(),
        },
      },
    },
    async (request: AppRequest, reply: FastifyReply) => {
      const { appId, params, scope } = prepare(context, request, 'export');
      const stream = await context.warehouse.streamLines(exportSql(scope), {
        timeoutMs: context.config.EXPORT_TIMEOUT_MS,
        label: 'export',
      });
      // Read the first row before answering: an error up to here is still a JSON error.
      let first: IteratorResult<string[], void>;
      try {
        first = await stream.batches.next();
      } catch (error) {
        stream.cancel();
        throw error;
      }
      const filename = exportFilename(
        appId,
        params.range.from,
        params.range.to,
        scope.channel,
        params.format,
      );
      return reply
        .header('content-type', CONTENT_TYPES[params.format])
        .header('content-disposition', `attachment; filename="${filename}"`)
        .header('cache-control', 'no-store')
        .send(exportBody(params.format, first, stream.batches));
    },
  );
}
