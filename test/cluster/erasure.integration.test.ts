// Erasure on the cluster (SPEC 6): the deletions are mutations of the
// replicated local tables ON CLUSTER, and the job is done only once every
// replica of every shard has carried them out. Checked on each server's own
// tables: with one replica slow to run its mutations, and with one down
// while the erasure was requested.
import { identifier, localTableOf, sql, userDataTables } from '@optout/clickhouse';
import type { InputEvent } from '@optout/events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestHandle } from '../../services/ingest/src/index.ts';
import { readOptOutFacts, readTransitions } from '../pipeline/facts.ts';
import { apiKeysJson, KEYS, type RunningServer, startServer } from '../query/harness.ts';
import {
  CLICKHOUSE_NODES,
  type ClickHouseNode,
  clickhouseRetries,
  clusterTestsEnabled,
  nodeClient,
  replicaOf,
  stopReplica,
} from '../support/cluster.ts';
import { type ClusterPipeline, createClusterPipeline } from '../support/cluster-pipeline.ts';
import { generateEvents } from '../support/generate.ts';
import { optOutFacts, transitions } from '../support/reference.ts';
import { waitFor } from '../support/wait.ts';

interface User {
  app: string;
  user: string;
}

async function command(n: ClickHouseNode, query: string): Promise<void> {
  const client = nodeClient(n);
  try {
    await client.command({ query });
  } finally {
    await client.close();
  }
}

async function count(n: ClickHouseNode, query: string): Promise<number> {
  const client = nodeClient(n);
  try {
    const result = await client.query({ query, format: 'JSONEachRow' });
    return Number((await result.json<{ n: string }>())[0]?.n ?? 0);
  } finally {
    await client.close();
  }
}

describe.runIf(clusterTestsEnabled)('erasure on the cluster', () => {
  let p: ClusterPipeline;
  let ingest: IngestHandle;
  let server: RunningServer;
  const events = generateEvents({ seed: 37, now: Date.now(), apps: 1, users: 30, days: 30 });
  const erased: User[] = [];
  const isErased = (e: InputEvent) =>
    erased.some((u) => u.app === e.event.app_id && u.user === e.event.user_id);

  /** The user's rows in every user-data table, as server n itself holds them. */
  async function rowsOn(n: ClickHouseNode, { app, user }: User): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const table of userDataTables())
      out[table.name] = await count(
        n,
        sql`SELECT count() AS n FROM ${identifier(p.database, localTableOf(table.name))}
            WHERE app_id = ${app} AND user_id = ${user}`.text,
      );
    return out;
  }

  /** The shard holding the user's rows. */
  async function shardOf(user: User): Promise<number> {
    for (const n of CLICKHOUSE_NODES) if ((await rowsOn(n, user)).raw_consent! > 0) return replicaOf(n).shard;
    throw new Error(`no rows of ${user.user} anywhere`);
  }

  async function requestErasure({ app, user }: User): Promise<string> {
    const response = await fetch(`${server.base}/v1/apps/${app}/users/${encodeURIComponent(user)}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${KEYS.admin}` },
    });
    expect(response.status).toBe(202);
    return ((await response.json()) as { job_id: string }).job_id;
  }

  const jobStatus = async (app: string, jobId: string) =>
    ((await (await server.get(`/v1/apps/${app}/erasures/${jobId}`, KEYS.admin)).json()) as { status: string })
      .status;

  const untilDone = (app: string, jobId: string) =>
    waitFor(
      async () => {
        const status = await jobStatus(app, jobId);
        return status === 'done' || status === 'failed' ? status : undefined;
      },
      'the erasure job to end',
      180_000,
    );

  /** The `nth` not yet erased user with an opt-out whose rows live on `shard`. */
  async function userOnShard(shard: number, nth: number): Promise<User> {
    let seen = 0;
    for (const candidate of victims.filter((v) => !erased.some((e) => e.user === v.user)))
      if ((await shardOf(candidate)) === shard && ++seen === nth) return candidate;
    throw new Error(`fewer than ${nth} users with opt-outs on shard ${shard}`);
  }

  const victims = transitions(events)
    .filter((t) => t.kind === 'OPT_OUT')
    .map((t) => ({ app: t.app_id, user: t.user_id }))
    .filter((u, i, all) => all.findIndex((v) => v.user === u.user) === i);

  beforeAll(async () => {
    p = await createClusterPipeline({ prefix: 'cerase' });
    await p.produce(events);
    ingest = await p.startIngest();
    await p.waitForCaughtUp(180_000);
    server = await startServer(p.database, {
      API_KEYS: apiKeysJson(victims[0]!.app),
      TOPIC_CONTROL: p.controlTopic,
      KAFKA_BROKERS: p.env.KAFKA_BROKERS!,
    });
  });
  afterAll(async () => {
    await server?.close();
    await p?.cleanup();
  });

  it('deletes the user on every replica of its shard; the job says done', async () => {
    const victim = victims[0]!;
    const shard = await shardOf(victim);
    const replicas = CLICKHOUSE_NODES.filter((n) => replicaOf(n).shard === shard);
    for (const n of replicas) expect((await rowsOn(n, victim)).consent_transitions).toBeGreaterThan(0);

    erased.push(victim);
    expect(await untilDone(victim.app, await requestErasure(victim))).toBe('done');
    for (const n of CLICKHOUSE_NODES)
      for (const [table, rows] of Object.entries(await rowsOn(n, victim)))
        expect(rows, `${table} on ${n}`).toBe(0);
    const rest = events.filter((e) => !isErased(e));
    expect(await readTransitions(p.clickhouse)).toEqual(transitions(rest));
    expect(await readOptOutFacts(p.clickhouse)).toEqual(optOutFacts(rest));
  });

  it('is done only once every replica has carried the deletions out', async () => {
    // One replica of the user's shard does not run mutations for a while
    // (its merges stopped): the others finish theirs, the job must wait for it.
    const victim = await userOnShard(1, 1);
    const lagging = CLICKHOUSE_NODES.find((n) => replicaOf(n).replica === 's1r2')!;
    const merges = (what: 'STOP' | 'START') =>
      Promise.all(
        userDataTables().map((t) =>
          command(lagging, `SYSTEM ${what} MERGES ${p.database}.${localTableOf(t.name)}`),
        ),
      );
    await merges('STOP');
    erased.push(victim);
    let jobId: string;
    try {
      jobId = await requestErasure(victim);
      const done = (n: ClickHouseNode) =>
        count(
          n,
          sql`SELECT countIf(is_done = 1) AS n FROM system.mutations
              WHERE database = ${p.database} AND position(command, ${jobId}) > 0`.text,
        );
      await waitFor(
        async () => (await done(1)) === userDataTables().length,
        'the deletions to be done on the first replica',
        60_000,
      );
      // The job's row says pending (written once the deletions were submitted),
      // and stays so: the lagging replica still holds the user's rows.
      await waitFor(
        async () => (await jobStatus(victim.app, jobId)) === 'pending',
        'the job to read pending',
        60_000,
      );
      expect(await done(lagging)).toBeLessThan(userDataTables().length);
      expect((await rowsOn(lagging, victim)).raw_consent).toBeGreaterThan(0);
      expect(await jobStatus(victim.app, jobId)).toBe('pending');
    } finally {
      await merges('START');
    }
    expect(await untilDone(victim.app, jobId)).toBe('done');
    for (const n of CLICKHOUSE_NODES)
      for (const [table, rows] of Object.entries(await rowsOn(n, victim)))
        expect(rows, `${table} on ${n}`).toBe(0);
  });

  it('waits while a replica is down, and deletes the user on it once it is back', async () => {
    // Every write waits for every replica (docs/clickhouse-cluster.md): while
    // one is down the erasure, like all of ingest's writes, is retried.
    const victim = await userOnShard(1, 2);
    const stopped = CLICKHOUSE_NODES.find((n) => replicaOf(n).replica === 's1r2')!;
    erased.push(victim);
    let jobId = '';
    await stopReplica(stopped, async () => {
      const retried = await clickhouseRetries(ingest.port);
      jobId = await requestErasure(victim);
      await waitFor(
        async () => (await clickhouseRetries(ingest.port)) > retried,
        'ingest to retry its writes while a replica is down',
        60_000,
      );
      expect(['queued', 'pending']).toContain(await jobStatus(victim.app, jobId));
    });
    expect(await untilDone(victim.app, jobId)).toBe('done');
    for (const n of CLICKHOUSE_NODES)
      for (const [table, rows] of Object.entries(await rowsOn(n, victim)))
        expect(rows, `${table} on ${n}`).toBe(0);
    const rest = events.filter((e) => !isErased(e));
    expect(await readTransitions(p.clickhouse)).toEqual(transitions(rest));
    expect(await readOptOutFacts(p.clickhouse)).toEqual(optOutFacts(rest));
  });
});
