// Test support (not used by the service): validates response bodies against
// the OpenAPI 3.1 document the server serves (JSON Schema 2020-12 via ajv).
// It lives in this package because ajv is one of its devDependencies.
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { expect } from 'vitest';

export type JsonObject = Record<string, unknown>;

/** Validates bodies against the served OpenAPI 3.1 document (JSON Schema 2020-12). */
export class OpenApiValidator {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });

  constructor(readonly document: JsonObject) {
    (addFormats as unknown as (ajv: Ajv2020) => void)(this.ajv);
  }

  static async load(base: string): Promise<OpenApiValidator> {
    const response = await fetch(`${base}/openapi.json`);
    expect(response.status).toBe(200);
    return new OpenApiValidator((await response.json()) as JsonObject);
  }

  schemaFor(path: string, method: string, status: number, mediaType = 'application/json'): JsonObject {
    const paths = this.document.paths as Record<string, Record<string, JsonObject>>;
    const operation = paths[path]?.[method];
    if (!operation) throw new Error(`no operation ${method} ${path} in the OpenAPI document`);
    const responses = operation.responses as Record<string, JsonObject>;
    const response = responses[String(status)];
    if (!response) throw new Error(`no response ${status} for ${method} ${path}`);
    const content = response.content as Record<string, { schema: JsonObject }>;
    const schema = content?.[mediaType]?.schema;
    if (!schema) throw new Error(`no ${mediaType} schema for ${status} ${method} ${path}`);
    return schema;
  }

  /** Asserts `body` matches the documented response; returns it for chaining. */
  expectValid(path: string, method: string, status: number, body: unknown, mediaType?: string): unknown {
    const validate = this.ajv.compile(this.schemaFor(path, method, status, mediaType));
    const ok = validate(body);
    expect(ok ? [] : validate.errors, `${method} ${path} ${status}`).toEqual([]);
    return body;
  }
}
