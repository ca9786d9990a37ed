// The query API against the real ClickHouse (empty database) and Kafka:
// auth, every 400, 404, the documented empty answers, exports, erasure requests,
// static files and operational endpoints. Data correctness: data.integration.test.ts.
import { createAdmin, createKafka, type KafkaAdmin, startTopicReader, type TopicReader } from '@optout/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStack } from '../support/env.ts';
import { uniqueName } from '../support/names.ts';
import { createTestDatabase, KEYS, OpenApiValidator, type RunningServer, startServer } from './harness.ts';

const APP = 'app-1';
const OPTOUTS = '/v1/apps/{appId}/optouts';

// Response bodies are checked against the OpenAPI schemas; this type only lets the test read them.
// biome-ignore lint/suspicious/noExplicitAny: JSON of many documented shapes
type Body = Record<string, any>;

describe('query API (no data)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let server: RunningServer;
  let openapi: OpenApiValidator;
  let admin: KafkaAdmin;
  const controlTopic = uniqueName('query-control');

  beforeAll(async () => {
    const kafka = createKafka({ brokers: testStack().brokers, clientId: 'query-test' });
    admin = createAdmin(kafka);
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: controlTopic, numPartitions: 3 }], waitForLeaders: true });
    db = await createTestDatabase();
    server = await startServer(db.database, { TOPIC_CONTROL: controlTopic });
    openapi = await OpenApiValidator.load(server.base);
  });

  afterAll(async () => {
    await server?.close();
    await db?.drop();
    await admin?.deleteTopics({ topics: [controlTopic] }).catch(() => {});
    await admin?.disconnect();
  });

  /** GET with the reader key by default; `null` sends no Authorization header. */
  async function json(path: string, key: string | null = KEYS.reader) {
    const response = await server.get(path, key ?? undefined);
    return { status: response.status, body: (await response.json()) as Body };
  }

  describe('auth', () => {
    it('401 without a key, with an unknown key, or another scheme', async () => {
      for (const key of [null, 'not-a-key']) {
        const { status, body } = await json(`/v1/apps/${APP}/optouts/trend`, key);
        expect(status).toBe(401);
        expect(body.error.code).toBe('unauthorized');
        openapi.expectValid(`${OPTOUTS}/trend`, 'get', 401, body);
      }
      const basic = await fetch(`${server.base}/v1/apps/${APP}/optouts/trend`, {
        headers: { authorization: `Basic ${Buffer.from(`x:${KEYS.reader}`).toString('base64')}` },
      });
      expect(basic.status).toBe(401);
    });

    it('403 for an app the key does not grant', async () => {
      const { status, body } = await json(`/v1/apps/${APP}/optouts/trend`, KEYS.other);
      expect(status).toBe(403);
      expect(body.error.code).toBe('forbidden');
      openapi.expectValid(`${OPTOUTS}/trend`, 'get', 403, body);
    });

    it('checks access before parameters', async () => {
      expect((await json(`/v1/apps/${APP}/optouts/trend?period=nope`, null)).status).toBe(401);
      expect((await json(`/v1/apps/${APP}/optouts/trend?period=nope`, KEYS.other)).status).toBe(403);
    });

    it('the insight endpoints need the same key and grant', async () => {
      for (const endpoint of ['exposure', 'winback']) {
        const missing = await json(`/v1/apps/${APP}/optouts/${endpoint}?window=x`, null);
        expect(missing.status).toBe(401);
        openapi.expectValid(`${OPTOUTS}/${endpoint}`, 'get', 401, missing.body);
        const other = await json(`/v1/apps/${APP}/optouts/${endpoint}`, KEYS.other);
        expect(other.status).toBe(403);
        openapi.expectValid(`${OPTOUTS}/${endpoint}`, 'get', 403, other.body);
        expect((await json(`/v1/apps/${APP}/optouts/${endpoint}`)).status).toBe(200);
      }
    });

    it('a * key reads any app', async () => {
      expect((await json('/v1/apps/any-app/optouts/trend', KEYS.admin)).status).toBe(200);
    });
  });

  describe('400 names every bad parameter', () => {
    const cases: [string, string, Record<string, RegExp>][] = [
      [
        'trend',
        'period=custom&from=2024-05-02&to=2024-05-01&tz=Mars/Base&channel=FAX&group_by=day&x=1',
        { from: /after/, tz: /time zone/, channel: /one of/, group_by: /one of/, x: /unknown/ },
      ],
      ['trend', 'period=yesterday', { period: /unknown period/ }],
      ['trend', 'period=custom&from=2023-01-01&to=2024-01-02', { to: /366/ }],
      ['trend', 'period=custom', { from: /required/, to: /required/ }],
      ['trend', 'period=last_week&from=2024-01-01', { from: /period=custom/ }],
      ['trend', 'channel=PUSH&channel=SMS', { channel: /once/ }],
      ['push-pressure', 'window_days=0&max_bucket=101', { window_days: /1 to 30/, max_bucket: /1 to 100/ }],
      ['push-pressure', 'window_days=31', { window_days: /1 to 30/ }],
      ['campaigns', 'lookback_days=31&limit=0', { lookback_days: /1 to 30/, limit: /1 to 100/ }],
      [
        'events',
        'lookback_days=abc&count=all&limit=101',
        { lookback_days: /1 to 30/, count: /one of/, limit: /1 to 100/ },
      ],
      ['export', 'format=xlsx&channel=push', { format: /one of/, channel: /one of/ }],
      [
        'exposure',
        'window_days=0&max_bucket=51&channel=FAX&lookback_days=3',
        { window_days: /1 to 30/, max_bucket: /1 to 50/, channel: /one of/, lookback_days: /unknown/ },
      ],
      ['exposure', 'window_days=7.5&tz=Nowhere/Land', { window_days: /1 to 30/, tz: /time zone/ }],
      [
        'winback',
        'period=custom&from=2024-02-30&to=2024-03-01&days=7',
        { from: /calendar date/, days: /unknown/ },
      ],
      ['winback', 'channel=EMAIL&channel=SMS&group_by=source', { channel: /once/, group_by: /unknown/ }],
    ];
    for (const [endpoint, query, expected] of cases) {
      it(`${endpoint}?${query}`, async () => {
        const { status, body } = await json(`/v1/apps/${APP}/optouts/${endpoint}?${query}`);
        expect(status).toBe(400);
        openapi.expectValid(`${OPTOUTS}/${endpoint}`, 'get', 400, body);
        expect(body.error.code).toBe('bad_request');
        const details = Object.fromEntries(
          (body.error.details as { param: string; message: string }[]).map((d) => [d.param, d.message]),
        );
        expect(Object.keys(details).sort()).toEqual(Object.keys(expected).sort());
        for (const [param, pattern] of Object.entries(expected)) expect(details[param]).toMatch(pattern);
      });
    }
  });

  it('404 in the error shape for unknown routes', async () => {
    const { status, body } = await json('/v1/apps/app-1/optouts/nothing');
    expect(status).toBe(404);
    expect(body).toEqual({ error: { code: 'not_found', message: expect.any(String), details: [] } });
    expect((await json('/nope', null)).status).toBe(404);
  });

  describe('empty data', () => {
    const query = 'period=custom&from=2024-03-30&to=2024-04-01&tz=Europe/Berlin&channel=EMAIL';
    const range = {
      period: 'custom',
      from: '2024-03-30',
      to: '2024-04-01',
      tz: 'Europe/Berlin',
      start: '2024-03-29T23:00:00.000Z',
      end: '2024-04-01T22:00:00.000Z', // DST began on the 31st
    };
    const head = { app_id: APP, range, channel: 'EMAIL' };
    const zero = { opt_outs: 0, opt_ins: 0, users: 0 };

    it('trend: zero-filled days, with and without sources', async () => {
      const { status, body } = await json(`/v1/apps/${APP}/optouts/trend?${query}&group_by=source`);
      expect(status).toBe(200);
      openapi.expectValid(`${OPTOUTS}/trend`, 'get', 200, body);
      expect(body).toEqual({
        ...head,
        approximate: false,
        totals: zero,
        previous: { from: '2024-03-27', to: '2024-03-29', ...zero },
        days: ['2024-03-30', '2024-03-31', '2024-04-01'].map((date) => ({
          date,
          ...zero,
          baseline: 0,
          spike: false,
        })),
        sources: [],
      });
      const plain = await json(`/v1/apps/${APP}/optouts/trend?${query}`);
      expect(plain.body).not.toHaveProperty('sources');
    });

    it('push-pressure: every bucket, nulls for the statistics', async () => {
      const { status, body } = await json(`/v1/apps/${APP}/optouts/push-pressure?${query}&max_bucket=3`);
      expect(status).toBe(200);
      openapi.expectValid(`${OPTOUTS}/push-pressure`, 'get', 200, body);
      expect(body).toEqual({
        ...head,
        window_days: 7,
        max_bucket: 3,
        opt_outs: 0,
        mean: null,
        p50: null,
        p90: null,
        histogram: ['0', '1', '2', '3+'].map((pushes) => ({ pushes, opt_outs: 0 })),
      });
    });

    it('campaigns and events: empty lists, zero outcomes', async () => {
      const campaigns = await json(`/v1/apps/${APP}/optouts/campaigns?${query}&lookback_days=3&limit=5`);
      expect(campaigns.status).toBe(200);
      openapi.expectValid(`${OPTOUTS}/campaigns`, 'get', 200, campaigns.body);
      expect(campaigns.body).toEqual({
        ...head,
        lookback_days: 3,
        limit: 5,
        approximate: false,
        campaigns: [],
        baseline_rate: null,
      });

      const events = await json(`/v1/apps/${APP}/optouts/events?${query}&count=unique`);
      expect(events.status).toBe(200);
      openapi.expectValid(`${OPTOUTS}/events`, 'get', 200, events.body);
      const none = { opt_outs: 0, users: 0 };
      expect(events.body).toEqual({
        ...head,
        lookback_days: 7,
        count: 'unique',
        limit: 20,
        approximate: false,
        outcomes: { retained: none, churned: none, pending: none },
        events: [],
      });
    });

    it('exposure and winback: every bucket and window, zero user-days, null rates', async () => {
      const exposure = await json(`/v1/apps/${APP}/optouts/exposure?${query}&max_bucket=2&window_days=3`);
      expect(exposure.status).toBe(200);
      openapi.expectValid(`${OPTOUTS}/exposure`, 'get', 200, exposure.body);
      expect(exposure.body).toEqual({
        ...head,
        window_days: 3,
        max_bucket: 2,
        approximate: false,
        totals: { user_days: 0, opt_outs: 0, rate: null },
        buckets: ['0', '1', '2+'].map((pushes) => ({ pushes, user_days: 0, opt_outs: 0, rate: null })),
      });
      const defaults = await json(`/v1/apps/${APP}/optouts/exposure?${query}`);
      expect(defaults.body).toMatchObject({ window_days: 7, max_bucket: 10 });
      expect(defaults.body.buckets.map((b: Body) => b.pushes).at(-1)).toBe('10+');

      const winback = await json(`/v1/apps/${APP}/optouts/winback?${query}`);
      expect(winback.status).toBe(200);
      openapi.expectValid(`${OPTOUTS}/winback`, 'get', 200, winback.body);
      expect(winback.body).toEqual({
        ...head,
        approximate: false,
        opt_outs: 0,
        windows: [1, 7, 30].map((days) => ({ days, won_back: 0, pending: 0, lost: 0 })),
        sources: [],
      });
    });

    it('ranges at the edges of the allowed dates: windows before 1970 or after 2105 hold nothing', async () => {
      const edges = [
        'trend?period=custom&from=1970-01-02&to=1970-01-03&tz=Pacific/Kiritimati',
        'exposure?period=custom&from=1970-01-02&to=1970-01-03&window_days=30',
        'winback?period=custom&from=2105-12-29&to=2105-12-30&tz=Pacific/Pago_Pago',
        'exposure?period=custom&from=2105-12-29&to=2105-12-30',
      ];
      for (const path of edges) {
        const { status, body } = await json(`/v1/apps/${APP}/optouts/${path}`);
        expect(status, `${path}: ${JSON.stringify(body)}`).toBe(200);
      }
    });

    it('export: CSV header only, NDJSON empty, attachment names', async () => {
      const csv = await server.get(`/v1/apps/${APP}/optouts/export?${query}`, KEYS.reader);
      expect(csv.status).toBe(200);
      expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
      expect(csv.headers.get('content-disposition')).toBe(
        'attachment; filename="optouts-app-1-2024-03-30-to-2024-04-01-EMAIL.csv"',
      );
      expect(await csv.text()).toBe(
        'user_id,external_id,opted_out_at,opt_outs_in_range,source,currently_opted_out,identifiers\r\n',
      );
      const ndjson = await server.get(`/v1/apps/${APP}/optouts/export?${query}&format=ndjson`, KEYS.reader);
      expect(ndjson.status).toBe(200);
      expect(ndjson.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
      expect(ndjson.headers.get('content-disposition')).toContain('-EMAIL.ndjson"');
      expect(await ndjson.text()).toBe('');
    });

    it('presets echo a range ending today', async () => {
      const { body } = await json(`/v1/apps/${APP}/optouts/trend?period=last_month`);
      expect(body.range.period).toBe('last_month');
      expect(body.days).toHaveLength(30);
      expect(body.range.to).toBe(new Date().toISOString().slice(0, 10));
    });
  });

  describe('erasure', () => {
    let reader: TopicReader | undefined;
    const received: { key: string; value: Record<string, unknown> }[] = [];

    beforeAll(async () => {
      const kafka = createKafka({ brokers: testStack().brokers, clientId: 'query-test-consumer' });
      reader = await startTopicReader(kafka, {
        topics: [controlTopic],
        groupId: uniqueName('query-control-reader'),
        onBatch: ({ records }) => {
          for (const r of records) received.push({ key: String(r.key), value: JSON.parse(String(r.value)) });
        },
      });
      // The producer connects in the background: wait until the service is ready.
      for (let i = 0; i < 100 && (await server.get('/readyz')).status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 200));
      }
    });

    afterAll(async () => {
      await reader?.stop();
    });

    it('refuses non-admin keys with 403', async () => {
      const response = await fetch(`${server.base}/v1/apps/${APP}/users/u-1`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${KEYS.reader}` },
      });
      expect(response.status).toBe(403);
      openapi.expectValid('/v1/apps/{appId}/users/{userId}', 'delete', 403, await response.json());
      const status = await json(`/v1/apps/${APP}/erasures/00000000-0000-4000-8000-000000000000`, KEYS.reader);
      expect(status.status).toBe(403);
    });

    it('queues the request on the control topic, keyed app:user, and reports it queued', async () => {
      const response = await fetch(`${server.base}/v1/apps/${APP}/users/user%3A42`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${KEYS.admin}` },
      });
      expect(response.status).toBe(202);
      const body = (await response.json()) as { job_id: string; status: string };
      openapi.expectValid('/v1/apps/{appId}/users/{userId}', 'delete', 202, body);
      expect(body.status).toBe('queued');
      expect(response.headers.get('location')).toBe(`/v1/apps/${APP}/erasures/${body.job_id}`);

      for (let i = 0; i < 150 && !received.some((m) => m.value.job_id === body.job_id); i++) {
        await new Promise((r) => setTimeout(r, 200));
      }
      const message = received.find((m) => m.value.job_id === body.job_id);
      expect(message?.key).toBe(`${APP}:user:42`);
      expect(message?.value).toEqual({
        type: 'erase_user',
        job_id: body.job_id,
        app_id: APP,
        user_id: 'user:42',
        requested_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      });

      const status = await json(`/v1/apps/${APP}/erasures/${body.job_id}`, KEYS.admin);
      expect(status.status).toBe(200);
      openapi.expectValid('/v1/apps/{appId}/erasures/{jobId}', 'get', 200, status.body);
      expect(status.body).toMatchObject({ job_id: body.job_id, app_id: APP, status: 'queued' });
    });

    it('400 for a job id that is not a UUID', async () => {
      const { status, body } = await json(`/v1/apps/${APP}/erasures/not-a-uuid`, KEYS.admin);
      expect(status).toBe(400);
      expect(body.error.details[0].param).toBe('jobId');
    });
  });

  describe('OpenAPI, static files, operations', () => {
    it('documents every endpoint', () => {
      expect(openapi.document.openapi).toBe('3.1.0');
      expect(Object.keys(openapi.document.paths as object).sort()).toEqual(
        [
          `${OPTOUTS}/campaigns`,
          `${OPTOUTS}/events`,
          `${OPTOUTS}/export`,
          `${OPTOUTS}/exposure`,
          `${OPTOUTS}/push-pressure`,
          `${OPTOUTS}/trend`,
          `${OPTOUTS}/winback`,
          '/v1/apps/{appId}/erasures/{jobId}',
          '/v1/apps/{appId}/users/{userId}',
        ].sort(),
      );
      const paths = openapi.document.paths as Record<string, { get: { parameters: { name: string }[] } }>;
      const params = paths[`${OPTOUTS}/events`]!.get.parameters.map((p) => p.name);
      expect(params.sort()).toEqual([
        'appId',
        'channel',
        'count',
        'from',
        'limit',
        'lookback_days',
        'period',
        'to',
        'tz',
      ]);
      const exposure = paths[`${OPTOUTS}/exposure`]!.get.parameters.map((p) => p.name);
      expect(exposure.sort()).toEqual(
        ['appId', 'channel', 'from', 'max_bucket', 'period', 'to', 'tz', 'window_days'].sort(),
      );
      const winback = paths[`${OPTOUTS}/winback`]!.get.parameters.map((p) => p.name);
      expect(winback.sort()).toEqual(['appId', 'channel', 'from', 'period', 'to', 'tz']);
    });

    it('serves the page and Chart.js without auth', async () => {
      const page = await server.get('/');
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await page.text()).toMatch(/<html/i);
      const chart = await server.get('/assets/chart.umd.js');
      expect(chart.status).toBe(200);
      expect(chart.headers.get('content-type')).toMatch(/javascript/);
      expect((await chart.text()).length).toBeGreaterThan(100_000);
      expect((await server.get('/assets/..%2Fpackage.json')).status).toBe(404);
      expect((await server.get('/assets/.hidden')).status).toBe(404);
    });

    it('healthz, readyz and metrics', async () => {
      expect(await (await server.get('/healthz')).json()).toEqual({ status: 'ok' });
      const ready = await server.get('/readyz');
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready', checks: { clickhouse: true, kafka: true } });
      const metrics = await (await server.get('/metrics')).text();
      expect(metrics).toMatch(
        /http_request_duration_seconds_count\{[^}]*route="\/v1\/apps\/:appId\/optouts\/trend"[^}]*status="200"/,
      );
      expect(metrics).toContain('process_cpu_seconds_total');
    });
  });
});
