// The HTTP registry client against a small local server speaking the Schema
// Registry REST API (the two GETs it uses).
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { kafkaShape, parseEnv } from '@optout/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventCodec } from './codec.ts';
import { samplePushSent } from './fixtures.ts';
import { UnknownSchemaError } from './registry.ts';
import { createSchemaRegistry, schemaRegistryConnection } from './registry-config.ts';
import { httpSchemaRegistry } from './registry-http.ts';
import { DEFAULT_SCHEMAS_DIR, loadBundledSchemas } from './schemas.ts';
import { DEFAULT_SUBJECTS } from './types.ts';

const push = loadBundledSchemas().find((s) => s.subject === 'push-sent-value')!;
const requests: { url: string; authorization: string | undefined }[] = [];
let failNext = false;
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', authorization: req.headers.authorization });
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
      res.end(JSON.stringify(body));
    };
    if (failNext) {
      failNext = false;
      return reply(503, { error_code: 50003, message: 'unavailable' });
    }
    const schema = readFileSync(join(DEFAULT_SCHEMAS_DIR, push.file), 'utf8');
    if (req.url === '/schemas/ids/41') return reply(200, { schema });
    if (req.url === '/schemas/ids/42')
      return reply(200, { schemaType: 'PROTOBUF', schema: 'syntax = "proto3";' });
    if (req.url === '/subjects/push-sent-value/versions/latest') {
      return reply(200, { subject: 'push-sent-value', version: 3, id: 41, schema });
    }
    if (req.url?.startsWith('/schemas/ids/'))
      return reply(404, { error_code: 40403, message: 'Schema not found' });
    if (req.url?.startsWith('/subjects/'))
      return reply(404, { error_code: 40401, message: 'Subject not found' });
    res.writeHead(404).end('<html>not here</html>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('HTTP schema registry', () => {
  it('fetches a schema by id once, then serves it from cache', async () => {
    const registry = httpSchemaRegistry({ url: base });
    const before = requests.length;
    const type = await registry.writerSchema(41);
    expect(await registry.writerSchema(41)).toBe(type);
    expect(type.name).toBe('dev.optout.events.PushSent');
    expect(requests.length - before).toBe(1);
  });

  it('answers UnknownSchemaError for a missing id, a missing subject, and a non-Avro schema', async () => {
    const registry = httpSchemaRegistry({ url: base });
    await expect(registry.writerSchema(7)).rejects.toBeInstanceOf(UnknownSchemaError);
    await expect(registry.writerSchema(42)).rejects.toThrow(/PROTOBUF, not Avro/);
    await expect(registry.latest('nope-value')).rejects.toBeInstanceOf(UnknownSchemaError);
  });

  it('treats 5xx and a 404 that is not the registry as outages (errors, not unknown), and retries later', async () => {
    const registry = httpSchemaRegistry({ url: base });
    failNext = true;
    const outage = await registry.writerSchema(41).catch((error: unknown) => error);
    expect(outage).toBeInstanceOf(Error);
    expect(outage).not.toBeInstanceOf(UnknownSchemaError);
    expect((await registry.writerSchema(41)).name).toBe('dev.optout.events.PushSent');
    const wrongPath = httpSchemaRegistry({ url: `${base}/wrong-prefix` });
    const error = await wrongPath.writerSchema(41).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(UnknownSchemaError);
    expect(String(error)).toMatch(/HTTP 404/);
  });

  it('sends credentials from the URL as basic auth', async () => {
    const url = new URL(base);
    url.username = 'svc';
    url.password = 's3cret';
    await httpSchemaRegistry({ url: url.toString() }).writerSchema(41);
    expect(requests.at(-1)?.authorization).toBe(`Basic ${Buffer.from('svc:s3cret').toString('base64')}`);
  });

  it('sends SCHEMA_REGISTRY_USER / SCHEMA_REGISTRY_PASSWORD as basic auth, before URL credentials', async () => {
    const options = schemaRegistryConnection(
      parseEnv(kafkaShape, {
        SCHEMA_REGISTRY_URL: base,
        SCHEMA_REGISTRY_USER: 'optout',
        SCHEMA_REGISTRY_PASSWORD: 'p@ss:w0rd',
      }),
    );
    await createSchemaRegistry(options).writerSchema(41);
    expect(requests.at(-1)?.authorization).toBe(
      `Basic ${Buffer.from('optout:p@ss:w0rd').toString('base64')}`,
    );
    const url = new URL(base);
    url.username = 'ignored';
    url.password = 'ignored';
    await httpSchemaRegistry({ url: url.toString(), username: 'u', password: 'p' }).writerSchema(41);
    expect(requests.at(-1)?.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
  });

  it('never puts the password in an error', async () => {
    const url = new URL(`${base}/wrong-prefix`);
    url.username = 'svc';
    url.password = 'url-secret-81f0';
    const fromUrl = await httpSchemaRegistry({ url: url.toString() })
      .writerSchema(41)
      .catch((e: unknown) => e);
    const explicit = await httpSchemaRegistry({
      url: `${base}/wrong-prefix`,
      username: 'svc',
      password: 'opt-secret-2b7c',
    })
      .latest('push-sent-value')
      .catch((e: unknown) => e);
    const down = await httpSchemaRegistry({
      url: 'http://127.0.0.1:1',
      username: 'svc',
      password: 'opt-secret-2b7c',
    })
      .writerSchema(41)
      .catch((e: unknown) => e);
    for (const error of [fromUrl, explicit, down]) {
      expect(error).toBeInstanceOf(Error);
      const text = `${String(error)} ${JSON.stringify(error)} ${(error as Error).stack}`;
      expect(text).not.toContain('url-secret-81f0');
      expect(text).not.toContain('opt-secret-2b7c');
    }
    expect(String(fromUrl)).toMatch(/HTTP 404/);
  });

  it('drives the codec: encodes with the latest id, decodes by id, rejects prepare during an outage', async () => {
    const codec = createEventCodec({
      registry: httpSchemaRegistry({ url: base }),
      subjects: DEFAULT_SUBJECTS,
    });
    const value = await codec.encode('pushSent', samplePushSent());
    expect(value.readInt32BE(1)).toBe(41);
    const other = createEventCodec({
      registry: httpSchemaRegistry({ url: base }),
      subjects: DEFAULT_SUBJECTS,
    });
    failNext = true;
    await expect(other.prepare([value])).rejects.toThrow(/HTTP 503/);
    await other.prepare([value]);
    expect(other.decode('pushSent', value)).toEqual({ ok: true, event: samplePushSent() });
  });
});
