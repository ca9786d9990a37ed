// Erasure end to end: DELETE on the API (admin key) -> control topic -> the ingest
// instance holding the user drops its state and deletes its rows -> the job reads
// done. Afterwards no chart or export includes the user, the other users are
// untouched, and a restarted ingest does not bring the user back.
import { identifier, sql } from '@optout/clickhouse';
import type { InputEvent } from '@optout/events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeysJson, KEYS, type RunningServer, startServer } from '../query/harness.ts';
import { generateEvents } from '../support/generate.ts';
import { createTestPipeline, type TestPipeline } from '../support/pipeline.ts';
import { transitions } from '../support/reference.ts';
import { waitFor } from '../support/wait.ts';

const now = Date.now();

async function rowsOfUser(p: TestPipeline, appId: string, userId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of [
    'consent_transitions',
    'optout_campaign_touches',
    'optout_event_counts',
    'campaign_reach',
    'user_external_ids',
    'raw_push_sent',
    'raw_app_events',
    'raw_consent_changes',
  ]) {
    const r = await p.clickhouse.query({
      query:
        sql`SELECT count() AS n FROM ${identifier(table)} WHERE app_id = ${appId} AND user_id = ${userId}`
          .text,
      format: 'JSONEachRow',
    });
    counts[table] = Number((await r.json<{ n: string }>())[0]?.n ?? 0);
  }
  return counts;
}

describe('erasure', () => {
  let p: TestPipeline;
  let server: RunningServer;
  let events: InputEvent[];
  let victim: { app: string; user: string };

  beforeAll(async () => {
    events = generateEvents({ seed: 31, now });
    p = await createTestPipeline({ partitions: 3 });
    await p.produce(events);
    await p.startIngest();
    await p.waitForCaughtUp();
    // A user with at least one opt-out, in an app the test key grants.
    const optOut = transitions(events).find(
      (t) => t.kind === 'OPT_OUT' && t.app_id === 'app-1' && t.channel === 'PUSH',
    )!;
    victim = { app: optOut.app_id, user: optOut.user_id };
    server = await startServer(p.database, {
      API_KEYS: apiKeysJson(victim.app),
      TOPIC_CONTROL: p.controlTopic,
      KAFKA_BROKERS: p.env.KAFKA_BROKERS!,
    });
  });
  afterAll(async () => {
    await server?.close();
    await p?.cleanup();
  });

  it('deletes every row of the user and the job says done; a restart does not bring the user back', async () => {
    const before = await rowsOfUser(p, victim.app, victim.user);
    expect(before.consent_transitions).toBeGreaterThan(0);
    expect(before.raw_consent_changes).toBeGreaterThan(0);
    const exportText = async () =>
      (
        await server.get(`/v1/apps/${victim.app}/optouts/export?period=last_month&format=ndjson`, KEYS.admin)
      ).text();
    expect(await exportText()).toContain(`"user_id":${JSON.stringify(victim.user)}`);

    const others = transitions(events).filter(
      (t) => !(t.app_id === victim.app && t.user_id === victim.user),
    ).length;

    const denied = await fetch(
      `${server.base}/v1/apps/${victim.app}/users/${encodeURIComponent(victim.user)}`,
      {
        method: 'DELETE',
        headers: { authorization: `Bearer ${KEYS.reader}` },
      },
    );
    expect(denied.status).toBe(403);

    const response = await fetch(
      `${server.base}/v1/apps/${victim.app}/users/${encodeURIComponent(victim.user)}`,
      {
        method: 'DELETE',
        headers: { authorization: `Bearer ${KEYS.admin}` },
      },
    );
    expect(response.status).toBe(202);
    const { job_id: jobId } = (await response.json()) as { job_id: string };
    const done = await waitFor(async () => {
      const status = (await (
        await server.get(`/v1/apps/${victim.app}/erasures/${jobId}`, KEYS.admin)
      ).json()) as {
        status: string;
      };
      return status.status === 'done' ? status : undefined;
    }, 'the erasure job to be done');
    expect(done.status).toBe('done');

    const after = await rowsOfUser(p, victim.app, victim.user);
    for (const [table, n] of Object.entries(after)) expect(n, table).toBe(0);
    expect(await exportText()).not.toContain(`"user_id":${JSON.stringify(victim.user)}`);

    // Everyone else is still there.
    const live = await p.clickhouse.query({
      query: `SELECT count() AS n FROM (
                SELECT transition_id, argMax(is_deleted, version) AS deleted FROM consent_transitions GROUP BY transition_id
              ) WHERE deleted = 0`,
      format: 'JSONEachRow',
    });
    expect(Number((await live.json<{ n: string }>())[0]!.n)).toBe(others);

    // A new ingest instance restores state from ClickHouse: the user stays gone,
    // even when unrelated new events arrive and are processed.
    const restarted = await p.startIngest();
    await p.produce([
      {
        kind: 'pushSent',
        event: {
          event_id: 'after-erasure',
          app_id: 'app-2',
          user_id: 'u-1',
          occurred_at: now - 60_000,
          message_id: 'm',
          campaign_id: null,
          campaign_name: null,
          platform: null,
        },
      },
    ]);
    await p.waitForCaughtUp();
    expect(restarted.pipeline.joined).toBe(true);
    const again = await rowsOfUser(p, victim.app, victim.user);
    for (const [table, n] of Object.entries(again)) expect(n, table).toBe(0);
  });
});
