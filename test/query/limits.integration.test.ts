// The load limits of the query service against the real ClickHouse: request
// rate per key, requests and exports in flight per key, the service-wide cap on
// ClickHouse queries with its bounded queue, and overload shedding. Each limit
// answers in the API's error shape, with Retry-After, and is counted in /metrics.
//
// A request is kept in flight by an export the test stops reading: backpressure
// holds the stream (and its ClickHouse query) open until the test aborts it.
// That needs an export larger than every buffer on the way, hence the bulk rows
// (synthetic, for volume only, as in failures.integration.test.ts).
import { sql } from '@optout/clickhouse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from '../support/names.ts';
import { waitFor } from '../support/wait.ts';
import { createTestDatabase, KEYS, type RunningServer, startServer } from './harness.ts';

const HOLD_APP = uniqueName('hold');
const RANGE = 'period=custom&from=2024-05-01&to=2024-05-10';
const ROWS = 300_000;
// biome-ignore lint/suspicious/noExplicitAny: JSON bodies read field by field
type Body = Record<string, any>;

describe('query service load limits', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const servers: RunningServer[] = [];
  const held: AbortController[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('query_limits');
    await db.client.command({
      query: sql`
        INSERT INTO consent_transitions (app_id, channel, occurred_at, transition_id, user_id, kind,
          occurred_at_ms, source, pushes_before, last_touch_campaign_id, last_touch_at_ms,
          next_activity_at_ms, version, is_deleted)
        SELECT ${HOLD_APP}, 'PUSH', toDateTime(1714521600 + number % 432000, 'UTC'), toString(number),
               concat('user-', toString(number)), 'OPT_OUT',
               (1714521600 + number % 432000) * 1000, NULL, [], '', 0, 0, 1, 0
        FROM numbers(${ROWS})`.text,
    });
  });

  afterAll(async () => {
    for (const controller of held) controller.abort();
    await Promise.all(servers.map((s) => s.close()));
    await db?.drop();
  });

  async function serve(env: Record<string, string>): Promise<RunningServer> {
    const server = await startServer(db.database, env);
    servers.push(server);
    return server;
  }

  /** Starts an export of HOLD_APP as the admin key and stops reading after its first bytes. */
  async function holdExport(server: RunningServer): Promise<AbortController> {
    const controller = new AbortController();
    held.push(controller);
    const response = await fetch(`${server.base}/v1/apps/${HOLD_APP}/optouts/export?${RANGE}&format=ndjson`, {
      headers: { authorization: `Bearer ${KEYS.admin}` },
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const first = await response.body!.getReader().read();
    expect(first.done).toBe(false);
    return controller;
  }

  const trend = (server: RunningServer, key: string) =>
    server.get(`/v1/apps/app-1/optouts/trend?${RANGE}`, key);
  // One ClickHouse query per request (trend runs two at once), for counting slots.
  const pressure = (server: RunningServer, key: string) =>
    server.get(`/v1/apps/app-1/optouts/push-pressure?${RANGE}`, key);

  async function expectRefused(response: Response, status: number, code: string) {
    expect(response.status).toBe(status);
    const retryAfter = Number(response.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After ${retryAfter}`).toBe(true);
    const body = (await response.json()) as Body;
    expect(body).toEqual({ error: { code, message: expect.any(String), details: [] } });
    return body.error.message as string;
  }

  async function metric(server: RunningServer, name: string, reason?: string): Promise<number> {
    const text = await (await server.get('/metrics')).text();
    const label = reason ? `[^}]*reason="${reason}"` : '';
    const match = new RegExp(`^${name}\\{${label}[^}]*\\} (\\d+)$`, 'm').exec(text);
    if (!match) throw new Error(`no ${name} ${reason ?? ''} in /metrics`);
    return Number(match[1]);
  }

  it('limits the request rate per API key (429, Retry-After), not the operational routes', async () => {
    const server = await serve({ RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '60000' });
    for (let i = 0; i < 3; i++) expect((await trend(server, KEYS.reader)).status).toBe(200);
    const message = await expectRefused(await trend(server, KEYS.reader), 429, 'rate_limited');
    expect(message).toMatch(/at most 3 requests per 60 s/);
    // Another key has its own budget; health, readiness and metrics are never limited.
    expect((await trend(server, KEYS.admin)).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await server.get('/healthz')).status).toBe(200);
    expect(await metric(server, 'query_requests_rejected_total', 'rate_limit')).toBe(1);
    // Without a known key the budget is per client address: guessing keys is limited too.
    for (let i = 0; i < 3; i++) expect((await trend(server, 'not-a-key')).status).toBe(401);
    await expectRefused(await trend(server, 'not-a-key'), 429, 'rate_limited');
  });

  it('limits the exports one key streams at once', async () => {
    const server = await serve({ MAX_CONCURRENT_EXPORTS_PER_KEY: '1' });
    const first = await holdExport(server);
    const second = await server.get(`/v1/apps/${HOLD_APP}/optouts/export?${RANGE}`, KEYS.admin);
    expect(await expectRefused(second, 429, 'rate_limited')).toMatch(/exports of this API key/);
    // Charts of the same key are not exports.
    expect((await trend(server, KEYS.admin)).status).toBe(200);
    expect(await metric(server, 'query_requests_rejected_total', 'key_exports')).toBe(1);
    first.abort();
    // The place comes back when the abandoned export's connection closes.
    const again = await waitFor(async () => {
      const response = await server.get(`/v1/apps/app-1/optouts/export?${RANGE}`, KEYS.admin);
      await response.arrayBuffer();
      return response.status === 200;
    }, 'a new export after the first was abandoned');
    expect(again).toBe(true);
  });

  it('limits the requests one key has in flight', async () => {
    const server = await serve({ MAX_CONCURRENT_REQUESTS_PER_KEY: '1' });
    const export1 = await holdExport(server);
    expect(await expectRefused(await trend(server, KEYS.admin), 429, 'rate_limited')).toMatch(/in flight/);
    expect((await trend(server, KEYS.reader)).status).toBe(200);
    expect(await metric(server, 'query_requests_rejected_total', 'key_concurrency')).toBe(1);
    export1.abort();
    await waitFor(async () => (await trend(server, KEYS.admin)).status === 200, 'the key to have room again');
  });

  it('caps ClickHouse queries service-wide: beyond the cap they queue, a full queue or a long wait is 503', async () => {
    const server = await serve({
      CLICKHOUSE_MAX_CONCURRENT_QUERIES: '1',
      CLICKHOUSE_QUEUE_SIZE: '1',
      CLICKHOUSE_QUEUE_TIMEOUT_MS: '3000',
    });
    const queued = () => metric(server, 'query_clickhouse_queries_queued');
    const exporting = await holdExport(server);
    expect(await metric(server, 'query_clickhouse_queries_running')).toBe(1);

    // The only slot is the export's: a chart waits, a second one finds the queue full.
    const waiting = pressure(server, KEYS.reader);
    await waitFor(async () => (await queued()) === 1, 'a chart query to queue');
    await expectRefused(await pressure(server, KEYS.reader), 503, 'unavailable');
    expect(await metric(server, 'query_requests_rejected_total', 'clickhouse_queue_full')).toBe(1);
    // ... and the waiting one gives up after CLICKHOUSE_QUEUE_TIMEOUT_MS.
    expect(await expectRefused(await waiting, 503, 'unavailable')).toMatch(/no query slot within 3000 ms/);
    expect(await metric(server, 'query_requests_rejected_total', 'clickhouse_queue_timeout')).toBe(1);

    // A query that waits less than that gets the slot once the export lets go.
    const next = pressure(server, KEYS.reader);
    await waitFor(async () => (await queued()) === 1, 'a chart query to queue');
    exporting.abort();
    expect((await next).status).toBe(200);
    await waitFor(
      async () => (await metric(server, 'query_clickhouse_queries_running')) === 0,
      'every slot to be free',
    );
  });

  it('sheds API requests under pressure (503, Retry-After) and still answers health and metrics', async () => {
    // Any heap is above 1 byte: the service is "under pressure" from its first sample on.
    const server = await serve({ OVERLOAD_MAX_HEAP_USED_BYTES: '1' });
    const shed = await waitFor(async () => {
      const response = await trend(server, KEYS.reader);
      return response.status === 503 ? response : undefined;
    }, 'the first memory sample');
    expect(await expectRefused(shed, 503, 'unavailable')).toMatch(/overloaded/);
    expect((await server.get('/healthz')).status).toBe(200);
    expect((await server.get('/readyz')).status).toBe(200);
    expect(await metric(server, 'query_requests_rejected_total', 'overload_heap_used')).toBeGreaterThan(0);
  });
});
