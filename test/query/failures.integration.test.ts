// Failure modes of the query service against the real ClickHouse: unavailable
// (503), over the time limit (504), exports cancelled by the client, and an
// export failing half-way never ending like a complete file.
//
// The slow queries need volume, so this file bulk-loads synthetic rows with
// INSERT ... SELECT FROM numbers(): they exist to be slow, not to be correct
// facts (correctness with pipeline-made facts is data.integration.test.ts).

import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { clickhouseErrorCode, sql } from '@optout/clickhouse';
import { createLogger } from '@optout/observability';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../services/query/src/errors.ts';
import { Warehouse } from '../../services/query/src/warehouse.ts';
import { readerClient } from '../support/clickhouse.ts';
import { uniqueName } from '../support/names.ts';
import { waitFor } from '../support/wait.ts';
import { createTestDatabase, KEYS, type RunningServer, startServer } from './harness.ts';

const SLOW_APP = uniqueName('slow');
const RANGE = 'period=custom&from=2024-05-01&to=2024-05-10';
// Enough for a chart query to outlast 1 ms and an export to outgrow socket buffers (backpressure):
// one user per opt-out, so the export has ROWS lines (tens of MB, far more than the buffers
// between ClickHouse, the service and this test hold, which would otherwise let a fast export
// finish on the server side before a slow reader is half-way).
const ROWS = 600_000;

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('query service failure modes', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const servers: RunningServer[] = [];

  /** Queries of this test still running on the server (the app id is in their text). */
  async function runningQueries(): Promise<number> {
    const result = await db.client.query({
      query: sql`SELECT count() AS n FROM system.processes
                 WHERE position(query, ${SLOW_APP}) > 0 AND position(query, 'system.processes') = 0`.text,
      format: 'JSONEachRow',
    });
    const rows = await result.json<{ n: string }>();
    return Number(rows[0]?.n ?? 0);
  }

  beforeAll(async () => {
    db = await createTestDatabase('query_fail');
    // 600k opt-outs of 600k users over 2024-05-01..05 (synthetic, for volume only).
    await db.client.command({
      query: sql`
        INSERT INTO consent_transitions (app_id, channel, occurred_at, transition_id, user_id, kind,
          occurred_at_ms, source, pushes_before, last_touch_campaign_id, last_touch_at_ms,
          next_activity_at_ms, version, is_deleted)
        SELECT ${SLOW_APP}, 'PUSH', toDateTime(1714521600 + number % 432000, 'UTC'), toString(number),
               concat('user-', toString(number)), 'OPT_OUT',
               (1714521600 + number % 432000) * 1000, NULL, [], '', 0, 0, 1, 0
        FROM numbers(${ROWS})`.text,
    });
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await db?.drop();
  });

  it('503 when ClickHouse is unreachable, and /readyz says so', async () => {
    const server = await startServer(db.database, {
      CLICKHOUSE_URL: `http://127.0.0.1:${await closedPort()}`,
    });
    servers.push(server);
    for (const endpoint of [
      'trend',
      'push-pressure',
      'campaigns',
      'events',
      'export',
      'exposure',
      'winback',
    ]) {
      const response = await server.get(`/v1/apps/app-1/optouts/${endpoint}`, KEYS.reader);
      expect(response.status, endpoint).toBe(503);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unavailable');
    }
    const ready = await server.get('/readyz');
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: { clickhouse: boolean } }).checks.clickhouse).toBe(false);
  });

  it('504 when a chart query exceeds QUERY_TIMEOUT_MS', async () => {
    const server = await startServer(db.database, { QUERY_TIMEOUT_MS: '1' });
    servers.push(server);
    const response = await server.get(`/v1/apps/${SLOW_APP}/optouts/trend?${RANGE}`, KEYS.admin);
    expect(response.status).toBe(504);
    expect(await response.json()).toEqual({
      error: { code: 'timeout', message: expect.any(String), details: [] },
    });
    // The server-side query is stopped too (KILL QUERY, or max_execution_time at the latest).
    await waitFor(async () => (await runningQueries()) === 0, 'timed-out query to stop');
  });

  it('maps a server-side max_execution_time overrun (code 159) to a timeout', async () => {
    const reader = readerClient();
    const warehouse = new Warehouse(reader, createLogger('test', 'silent'));
    const error = await warehouse
      .rows(sql`SELECT count() FROM numbers(100000000000) WHERE sipHash64(number) % 7 = 3`, {
        timeoutMs: 1000,
        label: 'slow_scan',
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(504);
    await reader.close();
  });

  it('the read-only user can KILL its own query (how cancellation stops server work)', async () => {
    const reader = readerClient();
    const queryId = randomUUID();
    const pending = reader
      .query({
        query: `SELECT count() FROM numbers(100000000000) WHERE sipHash64(number) % 7 = 3`,
        query_id: queryId,
        format: 'JSONEachRow',
        clickhouse_settings: { max_execution_time: 300 },
      })
      .then((r) => r.json())
      .catch((e: unknown) => e);
    const isRunning = async () => {
      const result = await db.client.query({
        query: sql`SELECT count() AS n FROM system.processes WHERE query_id = ${queryId}`.text,
        format: 'JSONEachRow',
      });
      return Number((await result.json<{ n: string }>())[0]?.n) > 0;
    };
    await waitFor(isRunning, 'query to start');
    new Warehouse(reader, createLogger('test', 'silent')).kill(queryId, 'test');
    // 394 QUERY_WAS_CANCELLED: stopped by the KILL, not by its 300 s limit.
    expect(clickhouseErrorCode(await pending)).toBe(394);
    await reader.close();
  });

  it('an export the client abandons stops its ClickHouse query', async () => {
    const server = await startServer(db.database);
    servers.push(server);
    const controller = new AbortController();
    const response = await fetch(`${server.base}/v1/apps/${SLOW_APP}/optouts/export?${RANGE}&format=ndjson`, {
      headers: { authorization: `Bearer ${KEYS.admin}` },
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    // Backpressure holds the rest: the query is still running while we do not read.
    expect(await runningQueries()).toBeGreaterThan(0);
    controller.abort();
    await waitFor(async () => (await runningQueries()) === 0, 'abandoned export query to stop');
  });

  it('an export failing half-way aborts the connection instead of ending the file', async () => {
    const server = await startServer(db.database, { EXPORT_TIMEOUT_MS: '2500' });
    servers.push(server);
    const response = await fetch(`${server.base}/v1/apps/${SLOW_APP}/optouts/export?${RANGE}`, {
      headers: { authorization: `Bearer ${KEYS.admin}` },
    });
    if (response.status === 504) {
      // The limit hit before the first row: a proper JSON error is the right answer then.
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('timeout');
      return;
    }
    expect(response.status).toBe(200);
    // Read slowly so the time limit strikes mid-stream; the body must then fail, not end.
    const reader = response.body!.getReader();
    let received = 0;
    const outcome = await (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return 'ended cleanly';
          received += value.length;
          await new Promise((r) => setTimeout(r, 20));
        }
      } catch {
        return 'aborted';
      }
    })();
    expect(outcome).toBe('aborted');
    expect(received).toBeGreaterThan(0);
    await waitFor(async () => (await runningQueries()) === 0, 'failed export query to stop');
  });
});
