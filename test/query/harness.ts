// Support for the query-service tests: a migrated database of its own, the
// server started in-process on port 0, and response validation against the
// OpenAPI document the server itself serves.
import { createHash } from 'node:crypto';
import { type ClickHouseClient, dropDatabase, migrate } from '@optout/clickhouse';
import { parseQueryConfig } from '../../services/query/src/config.ts';
import { buildQueryServer, type QueryServerDeps } from '../../services/query/src/server.ts';
import { writerClient } from '../support/clickhouse.ts';
import { testStack } from '../support/env.ts';
import { uniqueName } from '../support/names.ts';
import { waitFor } from '../support/wait.ts';

export const KEYS = {
  reader: 'reader-key-0123456789',
  admin: 'admin-key-0123456789',
  other: 'other-app-key-0123456789',
} as const;

const sha = (key: string) => createHash('sha256').update(key, 'utf8').digest('hex');

export function apiKeysJson(app: string): string {
  return JSON.stringify([
    { key_sha256: sha(KEYS.reader), apps: [app], admin: false },
    { key_sha256: sha(KEYS.admin), apps: ['*'], admin: true },
    { key_sha256: sha(KEYS.other), apps: ['some-other-app'], admin: false },
  ]);
}

/** A fresh, migrated database; `client` writes as the default user. */
export async function createTestDatabase(prefix = 'query') {
  const database = uniqueName(prefix);
  const root = writerClient();
  await migrate(root, { database });
  const client = writerClient(database);
  return {
    database,
    client,
    async drop() {
      await client.close();
      await dropDatabase(root, database);
      await root.close();
    },
  };
}

export interface RunningServer {
  app: Awaited<ReturnType<typeof buildQueryServer>>;
  base: string;
  get(path: string, key?: string): Promise<Response>;
  close(): Promise<void>;
}

/**
 * The query service on 127.0.0.1:0, reading `database` as the read-only user.
 * Its event-loop overload guard is off unless `env` sets it: the server runs in
 * the test's process, beside brute-force references and pipelines whose work
 * blocks the loop for seconds on a busy CI machine, and the guard would shed
 * the test's own requests (503). Shedding is tested on its own, with the heap
 * limit (limits.integration.test.ts).
 */
export async function startServer(
  database: string,
  env: Record<string, string> = {},
  deps: Partial<QueryServerDeps> = {},
): Promise<RunningServer> {
  const stack = testStack();
  const config = parseQueryConfig({
    CLICKHOUSE_URL: stack.clickhouseUrl,
    CLICKHOUSE_USER: stack.readerUser,
    CLICKHOUSE_PASSWORD: stack.readerPassword,
    CLICKHOUSE_DATABASE: database,
    KAFKA_BROKERS: stack.brokers.join(','),
    API_KEYS: apiKeysJson('app-1'),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
    ...env,
  });
  const app = await buildQueryServer({ config, ...deps });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  const base = `http://127.0.0.1:${address.port}`;
  return {
    app,
    base,
    get: (path, key) => fetch(base + path, key ? { headers: { authorization: `Bearer ${key}` } } : {}),
    close: async () => {
      // Sockets of abandoned downloads may linger until the keep-alive timeout;
      // tests do not wait for graceful draining (main.ts does, under a deadline).
      const closing = app.close();
      app.server.closeAllConnections();
      await closing;
    },
  };
}

/** Inserts via the writer client (test fixtures only: never stands in for the pipeline's facts). */
export async function command(client: ClickHouseClient, query: string): Promise<void> {
  await client.command({ query });
}

/** The `n` a `SELECT ... AS n` query answers. */
export async function countOf(client: ClickHouseClient, query: string): Promise<number> {
  const result = await client.query({ query, format: 'JSONEachRow' });
  return Number((await result.json<{ n: string }>())[0]?.n);
}

/** Waits until the mutations (ALTER ... UPDATE) of the client's database are done. */
export async function mutationsDone(client: ClickHouseClient): Promise<void> {
  const pending =
    'SELECT count() AS n FROM system.mutations WHERE database = currentDatabase() AND is_done = 0';
  await waitFor(async () => (await countOf(client, pending)) === 0, 'the mutations to finish', 60_000);
}

export { OpenApiValidator } from '../../services/query/src/testing/openapi-validator.ts';
