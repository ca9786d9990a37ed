// Endpoint answers with data made by the real pipeline: generated events go
// through Kafka and services/ingest into ClickHouse, then every endpoint's
// body is compared with the reference computed straight from the SPEC 3
// definitions over the same events (test/support/reference). The insights of
// SPEC 5.1 have their own test with harder deliveries (insights.integration.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEvents } from '../support/generate.ts';
import { createTestPipeline, type TestPipeline } from '../support/pipeline.ts';
import * as insights from '../support/reference/insights.ts';
import * as reference from '../support/reference.ts';
import {
  apiKeysJson,
  countOf,
  KEYS,
  mutationsDone,
  OpenApiValidator,
  type RunningServer,
  startServer,
} from './harness.ts';

const DAY = 86_400_000;
// One fixed clock for the reference and the server (presets, pending outcomes).
const NOW = Date.now();

describe('query API with pipeline-made facts', () => {
  let pipeline: TestPipeline;
  let server: RunningServer;
  let openapi: OpenApiValidator;
  const events = generateEvents({ seed: 7, now: NOW, apps: 2, users: 40, days: 20, campaigns: 6 });
  const APP = 'app-1';

  beforeAll(async () => {
    pipeline = await createTestPipeline({ partitions: 2, prefix: 'qdata' });
    await pipeline.produce(events);
    await pipeline.startIngest();
    await pipeline.waitForCaughtUp(120_000);
    server = await startServer(
      pipeline.database,
      { TOPIC_CONTROL: pipeline.controlTopic, API_KEYS: apiKeysJson(APP) },
      { now: () => new Date(NOW) },
    );
    openapi = await OpenApiValidator.load(server.base);
  }, 240_000);

  afterAll(async () => {
    await server?.close();
    await pipeline?.cleanup();
  });

  const ranges = [
    { period: 'last_month' as const, tz: 'UTC' },
    { period: 'last_week' as const, tz: 'America/New_York' },
    {
      period: 'custom' as const,
      from: new Date(NOW - 15 * DAY).toISOString().slice(0, 10),
      to: new Date(NOW - 2 * DAY).toISOString().slice(0, 10),
      tz: 'Europe/Berlin',
    },
  ];

  function queryString(r: (typeof ranges)[number], extra: Record<string, string>) {
    const q = new URLSearchParams({ period: r.period, tz: r.tz, ...extra });
    if (r.period === 'custom') {
      q.set('from', r.from);
      q.set('to', r.to);
    }
    return q.toString();
  }

  async function body(endpoint: string, query: string) {
    const response = await server.get(`/v1/apps/${APP}/optouts/${endpoint}?${query}`, KEYS.reader);
    const json = await response.json();
    expect(response.status, JSON.stringify(json)).toBe(200);
    openapi.expectValid(`/v1/apps/{appId}/optouts/${endpoint}`, 'get', 200, json);
    return json;
  }

  for (const r of ranges) {
    for (const channel of ['PUSH', 'EMAIL'] as const) {
      const label = `${r.period} ${r.tz} ${channel}`;
      const params = () => ({ appId: APP, channel, range: reference.resolveRange(r, NOW) });

      it(`trend (${label})`, async () => {
        expect(await body('trend', queryString(r, { channel, group_by: 'source' }))).toEqual(
          reference.trend(events, { ...params(), groupBy: 'source' }, NOW),
        );
      });

      it(`push-pressure (${label})`, async () => {
        expect(
          await body('push-pressure', queryString(r, { channel, window_days: '3', max_bucket: '5' })),
        ).toEqual(reference.pushPressure(events, { ...params(), windowDays: 3, maxBucket: 5 }, NOW));
      });

      it(`campaigns (${label})`, async () => {
        expect(await body('campaigns', queryString(r, { channel, lookback_days: '5', limit: '3' }))).toEqual(
          reference.campaigns(events, { ...params(), lookbackDays: 5, limit: 3 }, NOW),
        );
      });

      it(`events (${label})`, async () => {
        for (const count of ['total', 'unique'] as const) {
          expect(await body('events', queryString(r, { channel, lookback_days: '4', count }))).toEqual(
            reference.lastEvents(events, { ...params(), lookbackDays: 4, count }, NOW),
          );
        }
      });

      it(`exposure and winback (${label})`, async () => {
        expect(
          await body('exposure', queryString(r, { channel, window_days: '4', max_bucket: '6' })),
        ).toEqual(insights.exposure(events, { ...params(), windowDays: 4, maxBucket: 6 }, NOW));
        expect(await body('winback', queryString(r, { channel }))).toEqual(
          insights.winback(events, params(), NOW),
        );
      });

      it(`export (${label})`, async () => {
        const expected = reference.exportRows(events, params(), NOW);
        const csv = await server.get(
          `/v1/apps/${APP}/optouts/export?${queryString(r, { channel })}`,
          KEYS.reader,
        );
        expect(csv.status).toBe(200);
        expect(await csv.text()).toBe(reference.exportCsv(expected));
        const ndjson = await server.get(
          `/v1/apps/${APP}/optouts/export?${queryString(r, { channel, format: 'ndjson' })}`,
          KEYS.reader,
        );
        const lines = (await ndjson.text()).split('\n').filter((l) => l !== '');
        expect(lines.map((l) => JSON.parse(l))).toEqual(expected);
      });
    }
  }

  // Last: it rewrites the database. A release before migration 0013 wrote the
  // event counts into optout_event_counts, and its transition rows read
  // event_counts_in_row = 0. Moving half of the opt-outs' counts there (their
  // arrays emptied) must change no answer: the names are then read from both.
  it('events stays exact over opt-outs whose counts are in optout_event_counts (before 0013)', async () => {
    const moved = 'cityHash64(transition_id) % 2 = 0';
    await pipeline.clickhouse.command({
      query: `INSERT INTO optout_event_counts
          (app_id, channel, optout_at, transition_id, event_name, days_before, user_id, events, version)
        SELECT app_id, channel, occurred_at, transition_id, name, day, user_id, n, version
        FROM consent_transitions FINAL
        ARRAY JOIN event_names AS name, event_days_before AS day, event_counts AS n
        WHERE ${moved}`,
    });
    await pipeline.clickhouse.command({
      query: `ALTER TABLE consent_transitions UPDATE event_counts_in_row = 0,
          event_names = CAST([] AS Array(String)), event_days_before = CAST([] AS Array(UInt8)),
          event_counts = CAST([] AS Array(UInt32))
        WHERE ${moved}`,
    });
    await mutationsDone(pipeline.clickhouse);
    expect(await count('SELECT count() AS n FROM optout_event_counts')).toBeGreaterThan(0);
    expect(
      await count(
        'SELECT countIf(event_counts_in_row = 1 AND length(event_names) > 0) AS n FROM consent_transitions',
      ),
    ).toBeGreaterThan(0);
    for (const r of ranges)
      for (const channel of ['PUSH', 'EMAIL'] as const)
        for (const mode of ['total', 'unique'] as const) {
          const params = {
            appId: APP,
            channel,
            range: reference.resolveRange(r, NOW),
            lookbackDays: 4,
            count: mode,
          };
          expect(
            await body('events', queryString(r, { channel, lookback_days: '4', count: mode })),
            `${r.period} ${r.tz} ${channel} ${mode}`,
          ).toEqual(reference.lastEvents(events, params, NOW));
        }
  });

  const count = (query: string) => countOf(pipeline.clickhouse, query);
});
