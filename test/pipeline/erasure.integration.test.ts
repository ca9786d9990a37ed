// Erasure end to end, and "erased stays erased" (SPEC 6): DELETE on the API
// (admin key) -> control topic -> the ingest instance holding the user records
// the erasure in the ledger and deletes the user's rows from every table of the
// catalogue that holds user data -> the job reads done. Then the user's old
// events come back every way they can (redelivered, the topics replayed from
// the beginning by a new consumer group position): every table stays at zero
// rows for the user, the export never shows them, everyone else's facts stay
// exact, and an event of the user after the erasure is new data.
import { identifier, sql, TABLES, userDataTables } from '@optout/clickhouse';
import type { InputEvent } from '@optout/events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeysJson, KEYS, type RunningServer, startServer } from '../query/harness.ts';
import { generateEvents } from '../support/generate.ts';
import { createTestPipeline, type TestPipeline } from '../support/pipeline.ts';
import { exposure, optOutFacts, resolveRange, transitions } from '../support/reference.ts';
import { settleRollup } from '../support/rollup.ts';
import { waitFor } from '../support/wait.ts';
import { readOptOutFacts, readTransitions } from './facts.ts';

const now = Date.now();

async function rowsOfUser(p: TestPipeline, appId: string, userId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of userDataTables()) {
    const r = await p.clickhouse.query({
      query:
        sql`SELECT count() AS n FROM ${identifier(table.name)} WHERE app_id = ${appId} AND user_id = ${userId}`
          .text,
      format: 'JSONEachRow',
    });
    counts[table.name] = Number((await r.json<{ n: string }>())[0]?.n ?? 0);
  }
  return counts;
}

describe('erasure', () => {
  let p: TestPipeline;
  let server: RunningServer;
  let events: InputEvent[];
  let victim: { app: string; user: string };
  const ofVictim = (e: InputEvent) => e.event.app_id === victim.app && e.event.user_id === victim.user;

  async function erase(app: string, user: string): Promise<{ status: string; detail: string | null }> {
    const response = await fetch(`${server.base}/v1/apps/${app}/users/${encodeURIComponent(user)}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${KEYS.admin}` },
    });
    expect(response.status).toBe(202);
    const { job_id: jobId } = (await response.json()) as { job_id: string };
    return waitFor(async () => {
      const job = (await (await server.get(`/v1/apps/${app}/erasures/${jobId}`, KEYS.admin)).json()) as {
        status: string;
        detail: string | null;
      };
      return job.status === 'done' || job.status === 'failed' ? job : undefined;
    }, 'the erasure job to end');
  }

  const exportText = async () =>
    (
      await server.get(`/v1/apps/${victim.app}/optouts/export?period=last_month&format=ndjson`, KEYS.admin)
    ).text();

  beforeAll(async () => {
    events = generateEvents({ seed: 31, now });
    p = await createTestPipeline({ partitions: 3 });
    await p.produce(events);
    await p.startIngest();
    await p.waitForCaughtUp();
    // The exposure rollup has rows of every user, the victim's among them.
    await settleRollup(p.clickhouse);
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

  it('deletes the user from every table that holds user data; the job says done', async () => {
    const before = await rowsOfUser(p, victim.app, victim.user);
    expect(before.consent_transitions).toBeGreaterThan(0);
    expect(before.raw_consent).toBeGreaterThan(0);
    expect(before.consent_index).toBeGreaterThan(0);
    expect(before.exposure_optouts).toBeGreaterThan(0);
    expect(await exportText()).toContain(`"user_id":${JSON.stringify(victim.user)}`);

    const denied = await fetch(
      `${server.base}/v1/apps/${victim.app}/users/${encodeURIComponent(victim.user)}`,
      {
        method: 'DELETE',
        headers: { authorization: `Bearer ${KEYS.reader}` },
      },
    );
    expect(denied.status).toBe(403);

    expect((await erase(victim.app, victim.user)).status).toBe('done');
    const after = await rowsOfUser(p, victim.app, victim.user);
    expect(Object.keys(after).sort()).toEqual(
      Object.values(TABLES)
        .filter((t) => 'erasure' in t)
        .map((t) => t.name)
        .sort(),
    );
    for (const [table, n] of Object.entries(after)) expect(n, table).toBe(0);
    expect(await exportText()).not.toContain(`"user_id":${JSON.stringify(victim.user)}`);
    const rest = events.filter((e) => !ofVictim(e));
    expect(await readTransitions(p.clickhouse)).toEqual(transitions(rest));

    // The rollup takes the erasure's mark into account: it sweeps again without the user,
    // and stores nothing of theirs again, whatever it read while the deletion ran.
    await settleRollup(p.clickhouse);
    for (const [table, n] of Object.entries(await rowsOfUser(p, victim.app, victim.user)))
      expect(n, table).toBe(0);
    const answer = await server.get(
      `/v1/apps/${victim.app}/optouts/exposure?period=last_month&window_days=7`,
      KEYS.admin,
    );
    const range = resolveRange({ period: 'last_month', tz: 'UTC' }, now);
    expect(await answer.json()).toEqual(
      exposure(rest, { appId: victim.app, channel: 'PUSH', range, windowDays: 7 }, now),
    );
  });

  it('stays erased when the old events are redelivered and the topics replayed from the start', async () => {
    const rest = events.filter((e) => !ofVictim(e));
    // Redelivered: the victim's events once more, as a producer retry would.
    await p.produce(events.filter(ofVictim));
    await p.waitForCaughtUp();
    // Replayed: every instance stops, the group goes back to the beginning of
    // every topic, and a new instance (state restored from ClickHouse) reads it all again.
    await p.stopIngest();
    for (const topic of [...Object.values(p.topics), p.controlTopic])
      await p.admin.resetOffsets({ groupId: p.groupId, topic, earliest: true });
    await p.startIngest();
    await p.waitForCaughtUp();
    for (const [table, n] of Object.entries(await rowsOfUser(p, victim.app, victim.user)))
      expect(n, table).toBe(0);
    expect(await exportText()).not.toContain(`"user_id":${JSON.stringify(victim.user)}`);
    expect(await readTransitions(p.clickhouse)).toEqual(transitions(rest));
    expect(await readOptOutFacts(p.clickhouse)).toEqual(optOutFacts(rest));

    // An event of the user after the erasure is new data.
    const fresh: InputEvent = {
      kind: 'consentChange',
      event: {
        event_id: 'after-erasure',
        app_id: victim.app,
        user_id: victim.user,
        occurred_at: Date.now() + 1000,
        channel: 'PUSH',
        status: 'OPTED_OUT',
        source: 'api',
        external_id: 'crm-new',
        identifiers: {},
      },
    };
    await p.produce([fresh]);
    await p.waitForCaughtUp();
    const again = await rowsOfUser(p, victim.app, victim.user);
    expect(again.raw_consent).toBe(1);
    expect(again.user_external_ids).toBe(1);
    expect(await readTransitions(p.clickhouse)).toEqual(transitions([...rest, fresh]));
  });

  it('is not held up by an unrelated mutation that never finishes', async () => {
    await p.clickhouse.command({
      query: 'CREATE TABLE unrelated (k UInt8, x UInt8) ENGINE = MergeTree ORDER BY k',
    });
    await p.clickhouse.command({ query: 'INSERT INTO unrelated VALUES (1, 1)' });
    // A mutation that fails on every attempt stays unfinished forever.
    await p.clickhouse.command({ query: 'ALTER TABLE unrelated UPDATE x = throwIf(k = 1) WHERE 1' });
    const other = transitions(events).find((t) => t.app_id === victim.app && t.user_id !== victim.user)!;
    const job = await erase(other.app_id, other.user_id);
    expect(job).toMatchObject({ status: 'done' });
    const stuck = await p.clickhouse.query({
      query:
        "SELECT count() AS n FROM system.mutations WHERE database = currentDatabase() AND table = 'unrelated' AND is_done = 0",
      format: 'JSONEachRow',
    });
    expect(Number((await stuck.json<{ n: string }>())[0]?.n)).toBe(1);
  });
});
