// /readyz of the query service tells the truth: ready only when ClickHouse
// answers AND the database has every migration this release ships (a fresh or
// old database would answer each chart with a 500), checked as the read-only
// user the service runs as. Kafka does not count (only erasure needs it), and
// erasure answers 503 in the API's shape, promptly, while Kafka is unreachable.
import { copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createDatabase,
  DEFAULT_MIGRATIONS_DIR,
  dropDatabase,
  identifier,
  migrate,
  sql,
} from '@optout/clickhouse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writerClient } from '../support/clickhouse.ts';
import { uniqueName } from '../support/names.ts';
import { KEYS, type RunningServer, startServer } from './harness.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies read field by field
type Body = Record<string, any>;

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('/readyz and the schema', () => {
  const root = writerClient();
  const databases: string[] = [];
  const servers: RunningServer[] = [];
  let scratch: string;
  let migrated: string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'readyz-'));
    migrated = uniqueName('ready_full');
    databases.push(migrated);
    await migrate(root, { database: migrated });
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    for (const database of databases) await dropDatabase(root, database);
    await root.close();
    await rm(scratch, { recursive: true, force: true });
  });

  async function serve(database: string, env: Record<string, string> = {}) {
    const server = await startServer(database, env);
    servers.push(server);
    return server;
  }

  async function ready(server: RunningServer) {
    const response = await server.get('/readyz');
    return { status: response.status, body: (await response.json()) as Body };
  }

  it('is not ready on a database without migrations, and says to run npm run migrate', async () => {
    const fresh = uniqueName('ready_fresh');
    databases.push(fresh);
    await createDatabase(root, fresh);
    for (const database of [fresh, uniqueName('ready_absent')]) {
      const { status, body } = await ready(await serve(database));
      expect(status, database).toBe(503);
      expect(body.status).toBe('not_ready');
      expect(body.checks.clickhouse).toBe(false);
      expect(body.problems.join('\n')).toMatch(
        new RegExp(`database ${database} has no migrations applied: run \`npm run migrate\``),
      );
    }
  });

  it('is not ready on an older schema, naming the missing migrations', async () => {
    const files = (await readdir(DEFAULT_MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
    expect(files.length).toBeGreaterThan(2);
    const older = join(scratch, 'older');
    await mkdir(older);
    for (const file of files.slice(0, 2))
      await copyFile(join(DEFAULT_MIGRATIONS_DIR, file), join(older, file));
    const database = uniqueName('ready_old');
    databases.push(database);
    await migrate(root, { database, dir: older });

    const server = await serve(database);
    const { status, body } = await ready(server);
    expect(status).toBe(503);
    const problem = body.problems.join('\n');
    expect(problem).toContain(`lacks ${files.length - 2} of the ${files.length} migrations`);
    expect(problem).toContain(files[2]!.replace(/\.sql$/, ''));
    expect(problem).toContain('npm run migrate');

    // Migrating brings it to ready, without a restart.
    await migrate(root, { database });
    expect((await ready(server)).status).toBe(200);
  });

  it('is ready on a migrated database, read as the read-only user', async () => {
    const server = await serve(migrated);
    const { status, body } = await ready(server);
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'ready', checks: { clickhouse: true } });
  });

  it('is not ready when an applied migration differs from this release’s file', async () => {
    const database = uniqueName('ready_changed');
    databases.push(database);
    await migrate(root, { database });
    await root.command({
      query:
        sql`INSERT INTO ${identifier(database, 'schema_migrations')} (version, name, checksum, applied_at)
                 VALUES (1, 'edited', 'not-the-checksum', now())`.text,
    });
    const { status, body } = await ready(await serve(database));
    expect(status).toBe(503);
    expect(body.problems.join('\n')).toMatch(/applied with other statements/);
  });

  it('does not depend on Kafka; erasure answers 503 in the API shape while Kafka is unreachable', async () => {
    // Nothing listens on the first; the second accepts connections and never answers.
    const closed = createServer();
    const closedPort = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    const accepted = new Set<Socket>();
    const silent = createServer((socket) => accepted.add(socket));
    const silentPort = await listen(silent);
    try {
      for (const port of [closedPort, silentPort]) {
        const server = await serve(migrated, {
          KAFKA_BROKERS: `127.0.0.1:${port}`,
          ERASURE_KAFKA_TIMEOUT_MS: '1500',
        });
        const { status, body } = await ready(server);
        expect(status, `broker port ${port}`).toBe(200);
        expect(body.checks).toEqual({ clickhouse: true, kafka: false });

        const response = await fetch(`${server.base}/v1/apps/app-1/users/u-1`, {
          method: 'DELETE',
          headers: { authorization: `Bearer ${KEYS.admin}` },
        });
        expect(response.status).toBe(503);
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(await response.json()).toEqual({
          error: { code: 'unavailable', message: expect.stringMatching(/Kafka/), details: [] },
        });
      }
    } finally {
      for (const socket of accepted) socket.destroy();
      silent.close();
    }
  });
});
