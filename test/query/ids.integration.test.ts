// App and user ids up to the 256 characters ingest accepts (MAX_ID_LENGTH)
// reach every route of the query service, and longer ones are refused with the
// API's 400 naming the parameter, whatever their encoding. Fastify's default
// maxParamLength (100) used to answer 414 in its own shape before any route ran,
// so a user with a longer id could not be erased.
import { MAX_ID_LENGTH } from '@optout/events';
import { createAdmin, createKafka, type KafkaAdmin, startTopicReader, type TopicReader } from '@optout/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStack } from '../support/env.ts';
import { uniqueName } from '../support/names.ts';
import { waitFor } from '../support/wait.ts';
import { createTestDatabase, KEYS, type RunningServer, startServer } from './harness.ts';

// 256 UTF-16 units, several UTF-8 bytes each: 1,536 characters once percent-encoded.
const LONG_APP = `app-${'é'.repeat(MAX_ID_LENGTH - 4)}`;
const RANGE = 'period=custom&from=2024-05-01&to=2024-05-10';
// biome-ignore lint/suspicious/noExplicitAny: JSON bodies read field by field
type Body = Record<string, any>;

describe('long ids', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let server: RunningServer;
  let admin: KafkaAdmin;
  let reader: TopicReader | undefined;
  const controlTopic = uniqueName('ids-control');
  const received: { key: string; value: Body }[] = [];

  beforeAll(async () => {
    const kafka = createKafka({ brokers: testStack().brokers, clientId: 'query-ids-test' });
    admin = createAdmin(kafka);
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: controlTopic, numPartitions: 2 }], waitForLeaders: true });
    db = await createTestDatabase('query_ids');
    // One opt-out of the long app (a fixture row, as ingest would write it).
    await db.client.command({
      query: `INSERT INTO consent_transitions (app_id, channel, occurred_at, transition_id, user_id, kind,
                occurred_at_ms, source, pushes_before, last_touch_campaign_id, last_touch_at_ms,
                next_activity_at_ms, version, is_deleted)
              VALUES ('${LONG_APP}', 'PUSH', toDateTime(1714651200, 'UTC'), 't-1', 'u-1', 'OPT_OUT',
                1714651200000, NULL, [], '', 0, 0, 1, 0)`,
    });
    server = await startServer(db.database, { TOPIC_CONTROL: controlTopic });
    reader = await startTopicReader(kafka, {
      topics: [controlTopic],
      groupId: uniqueName('ids-control-reader'),
      onBatch: ({ records }) => {
        for (const r of records) received.push({ key: String(r.key), value: JSON.parse(String(r.value)) });
      },
    });
  });

  afterAll(async () => {
    await reader?.stop();
    await server?.close();
    await db?.drop();
    await admin?.deleteTopics({ topics: [controlTopic] }).catch(() => {});
    await admin?.disconnect();
  });

  const erase = (appId: string, userId: string) =>
    fetch(`${server.base}/v1/apps/${encodeURIComponent(appId)}/users/${encodeURIComponent(userId)}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${KEYS.admin}` },
    });

  async function expectBadParam(response: Response, param: string) {
    expect(response.status).toBe(400);
    const body = (await response.json()) as Body;
    expect(body).toEqual({
      error: { code: 'bad_request', message: expect.any(String), details: expect.any(Array) },
    });
    expect(body.error.details.map((d: { param: string }) => d.param)).toEqual([param]);
  }

  it('erases users with ids of 150 and 256 characters (ASCII or not), exactly as given', async () => {
    const users = ['u'.repeat(150), `user:${'ü'.repeat(MAX_ID_LENGTH - 5)}`];
    const jobs: string[] = [];
    for (const userId of users) {
      const response = await erase('app-1', userId);
      expect(response.status, `${userId.length} characters`).toBe(202);
      jobs.push(((await response.json()) as Body).job_id);
    }
    await waitFor(
      async () => jobs.every((job) => received.some((m) => m.value.job_id === job)),
      'the erasure requests on the control topic',
    );
    for (const [i, job] of jobs.entries()) {
      const message = received.find((m) => m.value.job_id === job)!;
      expect(message.value.user_id).toBe(users[i]);
      expect(message.key).toBe(`app-1:${users[i]}`);
    }
  });

  it('answers charts and erasure status for an app id of 256 characters', async () => {
    const trend = await server.get(
      `/v1/apps/${encodeURIComponent(LONG_APP)}/optouts/trend?${RANGE}`,
      KEYS.admin,
    );
    expect(trend.status).toBe(200);
    const body = (await trend.json()) as Body;
    expect(body.app_id).toBe(LONG_APP);
    expect(body.totals.opt_outs).toBe(1);

    const exported = await server.get(
      `/v1/apps/${encodeURIComponent(LONG_APP)}/optouts/export?${RANGE}&format=ndjson`,
      KEYS.admin,
    );
    expect(exported.status).toBe(200);
    expect(
      (await exported.text())
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).user_id),
    ).toEqual(['u-1']);

    const status = await server.get(
      `/v1/apps/${encodeURIComponent(LONG_APP)}/erasures/00000000-0000-4000-8000-000000000000`,
      KEYS.admin,
    );
    expect(status.status).toBe(200);
    expect(((await status.json()) as Body).status).toBe('queued');
  });

  it('refuses ids over 256 characters with 400 naming the parameter', async () => {
    await expectBadParam(await erase('app-1', 'u'.repeat(MAX_ID_LENGTH + 1)), 'userId');
    // Far beyond Fastify's default limit, percent-encoded (12,000 characters): still the API's 400.
    await expectBadParam(await erase('app-1', 'ü'.repeat(2000)), 'userId');
    await expectBadParam(
      await server.get(`/v1/apps/${'a'.repeat(MAX_ID_LENGTH + 1)}/optouts/trend`, KEYS.admin),
      'appId',
    );
    await expectBadParam(await erase('a'.repeat(1000), 'u-1'), 'appId');
  });

  it('answers a malformed escape in an id with 400 in the API error shape', async () => {
    const response = await server.get('/v1/apps/app%zz/optouts/trend', KEYS.admin);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: { code: 'bad_request', message: expect.any(String), details: expect.any(Array) },
    });
  });
});
