// Route schemas for @fastify/swagger, generated from the zod schemas that also
// validate requests (params.ts) and describe responses (api-schemas.ts).
// Fastify's own validation and serialisation are switched off in server.ts:
// these JSON schemas only document.
import { z } from 'zod';
import { errorResponse } from './api-schemas.ts';

type JsonSchema = Record<string, unknown>;

/** JSON Schema (2020-12, which OpenAPI 3.1 uses) of a zod schema, without the $schema marker. */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

const errorJson = () => jsonSchema(errorResponse);

const ERROR_DESCRIPTIONS = {
  400: 'Bad parameters: `details` names each one and why',
  401: 'Missing or unknown API key',
  403: 'The key does not grant this app (or is not an admin key, for erasure)',
  429: 'Rate limit or in-flight limit of the API key exceeded (Retry-After)',
  503: 'ClickHouse unavailable or busy, the service overloaded (Retry-After), or Kafka unavailable for erasure',
  504: 'The query exceeded its time limit',
} as const;

/** The error responses every authenticated endpoint can give. */
export function errorResponses(codes: (keyof typeof ERROR_DESCRIPTIONS)[] = [400, 401, 403, 429, 503, 504]) {
  return Object.fromEntries(
    codes.map((code) => [code, { description: ERROR_DESCRIPTIONS[code], ...errorJson() }]),
  );
}

export const bearer = [{ bearerAuth: [] }];

export const openapiInfo = {
  openapi: {
    openapi: '3.1.0',
    info: {
      title: 'Opt Out analytics query API',
      version: '1.0.0',
      description:
        'Why and when users withdraw message consent (SPEC 5, docs/api-contract.md), with the insights of ' +
        'SPEC 5.1: exposure (opt-out rate per user-day at risk by recent pushes), win-back, trend spikes ' +
        'against a 28-day baseline, and campaign lift with a Wilson significance test (docs/insights.md). ' +
        'Unknown query parameters, repeated parameters, and from/to without period=custom are refused with 400. ' +
        'Distinct counts are exact (uniqExact): approximate is always false.',
    },
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'API key' } },
    },
  },
} as const;
