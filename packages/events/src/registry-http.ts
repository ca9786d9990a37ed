// Writer schemas from a Confluent-compatible Schema Registry (SCHEMA_REGISTRY_URL):
// GET /schemas/ids/{id} and GET /subjects/{subject}/versions/latest.
// Basic auth (SCHEMA_REGISTRY_USER / SCHEMA_REGISTRY_PASSWORD, or user:password@
// in the URL) goes in the Authorization header; error messages quote the URL
// without credentials. A registry behind a private CA: NODE_EXTRA_CA_CERTS.
import type { Type } from 'avsc';
import {
  parseAvroSchema,
  type RegisteredSchema,
  type SchemaRegistry,
  UnknownSchemaError,
} from './registry.ts';

export interface HttpRegistryOptions {
  /** Base URL, e.g. http://127.0.0.1:8081; `user:password@` in it becomes basic auth. */
  url: string;
  /** Basic auth; takes precedence over credentials in `url`. */
  username?: string | undefined;
  password?: string | undefined;
  /** Per-request timeout, ms (default 10 s). */
  timeoutMs?: number | undefined;
}

const ACCEPT = 'application/vnd.schemaregistry.v1+json, application/json';
/**
 * Registry error codes that mean "does not exist" (subject, version, schema).
 * A 404 without one (a proxy, a wrong base path) is an outage, not an unknown
 * schema: it must not send every record to the dead-letter topic.
 */
const NOT_FOUND_CODES = new Set([40401, 40402, 40403]);

async function errorCode(response: Response): Promise<number | undefined> {
  try {
    const body = (await response.clone().json()) as { error_code?: unknown };
    return typeof body.error_code === 'number' ? body.error_code : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Schemas by id never change, so they are cached for the life of the process
 * (failed look-ups are not, so an outage heals). `latest` is not cached: the
 * codec asks once per subject.
 */
export function httpSchemaRegistry(options: HttpRegistryOptions): SchemaRegistry {
  const { base, headers } = connection(options);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const byId = new Map<number, Promise<Type>>();

  async function getJson(path: string): Promise<Record<string, unknown> | undefined> {
    const url = `${base}${path}`;
    const response = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    if (response.status === 404 && NOT_FOUND_CODES.has((await errorCode(response)) ?? 0)) return undefined;
    if (!response.ok) {
      const body = (await response.text()).slice(0, 200);
      throw new Error(`schema registry GET ${url}: HTTP ${response.status} ${body}`);
    }
    return (await response.json()) as Record<string, unknown>;
  }

  function avroOf(body: Record<string, unknown>, what: string): Type {
    const schemaType = body.schemaType ?? 'AVRO';
    if (schemaType !== 'AVRO') throw new UnknownSchemaError(`${what} is ${String(schemaType)}, not Avro`);
    if (typeof body.schema !== 'string') throw new Error(`schema registry: ${what} has no schema`);
    try {
      return parseAvroSchema(body.schema);
    } catch (error) {
      throw new UnknownSchemaError(`${what} is not a valid Avro schema: ${(error as Error).message}`);
    }
  }

  async function fetchById(id: number): Promise<Type> {
    const body = await getJson(`/schemas/ids/${id}`);
    if (!body) throw new UnknownSchemaError(`schema id ${id} is not in the schema registry at ${base}`);
    return avroOf(body, `schema id ${id}`);
  }

  return {
    writerSchema(id: number): Promise<Type> {
      let pending = byId.get(id);
      if (!pending) {
        pending = fetchById(id);
        byId.set(id, pending);
        // Only outages are retried; a definite "unknown" answer stays cached.
        pending.catch((error: unknown) => {
          if (!(error instanceof UnknownSchemaError)) byId.delete(id);
        });
      }
      return pending;
    },
    async latest(subject: string): Promise<RegisteredSchema> {
      const body = await getJson(`/subjects/${encodeURIComponent(subject)}/versions/latest`);
      if (!body) throw new UnknownSchemaError(`subject ${subject} is not in the schema registry at ${base}`);
      if (typeof body.id !== 'number') throw new Error(`schema registry: latest of ${subject} has no id`);
      const type = avroOf(body, `subject ${subject}`);
      if (!byId.has(body.id)) byId.set(body.id, Promise.resolve(type));
      return { id: body.id, type };
    },
  };
}

/** fetch refuses URLs with credentials: move them into an Authorization header. */
function connection(options: HttpRegistryOptions): { base: string; headers: Record<string, string> } {
  const url = new URL(options.url);
  const headers: Record<string, string> = { accept: ACCEPT };
  const credentials =
    options.username !== undefined || options.password !== undefined
      ? `${options.username ?? ''}:${options.password ?? ''}`
      : url.username || url.password
        ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`
        : undefined;
  if (credentials !== undefined)
    headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
  url.username = '';
  url.password = '';
  return { base: url.toString().replace(/\/+$/, ''), headers };
}
