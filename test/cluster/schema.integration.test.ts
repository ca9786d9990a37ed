// The schema on the cluster (2 shards x 2 replicas): every table of the
// catalogue as a replicated local table on all four servers behind a
// Distributed table sharded by user; a write through it is on both replicas
// of its shard when it returns (ingest reads its own writes back from any
// replica); and a small pipeline run gives the reference's facts, each
// user's rows on one shard only.
import { localTableOf, TABLES, writeClusterOf } from '@optout/clickhouse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLatestKnown, readOptOutFacts, readTransitions } from '../pipeline/facts.ts';
import {
  CLICKHOUSE_NODES,
  clusterConnection,
  clusterTestsEnabled,
  nodeClient,
  replicaOf,
} from '../support/cluster.ts';
import { type ClusterPipeline, createClusterPipeline } from '../support/cluster-pipeline.ts';
import { generateEvents, shuffle, withDuplicates } from '../support/generate.ts';
import { latestKnown, optOutFacts, transitions } from '../support/reference.ts';
import { settleRollup } from '../support/rollup.ts';

async function rows<T>(n: (typeof CLICKHOUSE_NODES)[number], query: string): Promise<T[]> {
  const client = nodeClient(n);
  try {
    return await (await client.query({ query, format: 'JSONEachRow' })).json<T>();
  } finally {
    await client.close();
  }
}

describe.runIf(clusterTestsEnabled)('the schema on the cluster', () => {
  let p: ClusterPipeline;
  const events = generateEvents({ seed: 71, now: Date.now(), apps: 2, users: 30, days: 40, campaigns: 4 });

  beforeAll(async () => {
    p = await createClusterPipeline({ prefix: 'cschema', partitions: 12 });
  });
  afterAll(async () => {
    await p?.cleanup();
  });

  it('has every catalogue table on all four servers: replicated local tables behind Distributed tables', async () => {
    const cluster = clusterConnection().CLICKHOUSE_CLUSTER;
    for (const n of CLICKHOUSE_NODES) {
      const tables = new Map(
        (
          await rows<{ name: string; engine: string; engine_full: string }>(
            n,
            `SELECT name, engine, engine_full FROM system.tables WHERE database = '${p.database}'`,
          )
        ).map((t) => [t.name, t]),
      );
      for (const table of Object.values(TABLES)) {
        const local = tables.get(localTableOf(table.name));
        const distributed = tables.get(table.name);
        expect(local?.engine, `${table.name} on server ${n}`).toEqual(
          table.name === 'user_first_seen_in' ? 'Null' : expect.stringMatching(/^Replicated\w*MergeTree$/),
        );
        expect(distributed?.engine_full, `${table.name} on server ${n}`).toMatch(
          new RegExp(
            `^Distributed\\(${writeClusterOf(cluster)}, ${p.database}, ${localTableOf(table.name)}, `,
          ),
        );
      }
      expect(tables.get('user_first_seen_mv')?.engine).toBe('MaterializedView');
    }
    // The Distributed tables have the catalogue's columns, in its order.
    for (const table of Object.values(TABLES)) {
      const described = await rows<{ name: string }>(1, `DESCRIBE TABLE ${p.database}.${table.name}`);
      expect(
        described.map((c) => c.name),
        table.name,
      ).toEqual(table.columns.map((c) => c.name));
    }
  });

  it('a write through a Distributed table is on both replicas of its shard when it returns', async () => {
    const users = Array.from({ length: 40 }, (_, i) => `ryw-${i}`);
    for (let round = 0; round < 5; round++) {
      const values = users.map((u) => `('ryw', 'c${round}', ${round}, '${u}')`).join(', ');
      await p.clickhouse.command({
        query: `INSERT INTO campaign_reach (app_id, campaign_id, sent_at, user_id) VALUES ${values}`,
      });
      // Straight after the INSERT, each replica's own table, not the Distributed one.
      const held = await Promise.all(
        CLICKHOUSE_NODES.map((n) =>
          rows<{ user_id: string }>(
            n,
            `SELECT DISTINCT user_id FROM ${p.database}.${localTableOf('campaign_reach')}
             WHERE app_id = 'ryw' AND campaign_id = 'c${round}'`,
          ).then((r) => r.map((x) => x.user_id).sort()),
        ),
      );
      for (const shard of [1, 2]) {
        const [a, b] = CLICKHOUSE_NODES.filter((n) => replicaOf(n).shard === shard);
        expect(held[a! - 1], `round ${round}, shard ${shard}`).toEqual(held[b! - 1]);
      }
      // Sharded by user: every user on exactly one shard, all of them somewhere.
      expect([...held[0]!, ...held[2]!].sort()).toEqual([...users].sort());
      expect(held[0]!.filter((u) => held[2]!.includes(u))).toEqual([]);
    }
  });

  it('ingest on the cluster gives the reference facts, each user on one shard', async () => {
    await p.produce(withDuplicates(shuffle(events, 3), 4, 0.2));
    await p.startIngest();
    await p.waitForCaughtUp(180_000);
    expect(await readTransitions(p.clickhouse)).toEqual(transitions(events));
    expect(await readOptOutFacts(p.clickhouse)).toEqual(optOutFacts(events));
    expect(await readLatestKnown(p.clickhouse)).toEqual(latestKnown(events));

    const usersOn = async (n: (typeof CLICKHOUSE_NODES)[number]) =>
      (
        await rows<{ u: string }>(
          n,
          `SELECT DISTINCT concat(app_id, ':', user_id) AS u FROM ${p.database}.raw_app_event_local`,
        )
      )
        .map((r) => r.u)
        .sort();
    const [s1r1, s1r2, s2r1, s2r2] = await Promise.all(CLICKHOUSE_NODES.map(usersOn));
    expect(s1r1).toEqual(s1r2);
    expect(s2r1).toEqual(s2r2);
    expect(s1r1!.filter((u) => s2r1!.includes(u))).toEqual([]);
    expect(s1r1!.length).toBeGreaterThan(0);
    expect(s2r1!.length).toBeGreaterThan(0);
  });

  it('the exposure rollup sweeps on the cluster, and a second pass reads its pending marks', async () => {
    // The first pass builds each app's sweep; the second starts from the stored
    // status and reads the marks behind it through the Distributed tables with
    // an IN subquery over another Distributed table (code 288 unless the writer
    // sends distributed_product_mode, CLUSTER_WRITER_SETTINGS).
    await settleRollup(p.clickhouse, { chunkDays: 400 });
    await settleRollup(p.clickhouse, { chunkDays: 400 });
    const statuses = await (
      await p.clickhouse.query({
        query: 'SELECT DISTINCT app_id FROM exposure_rollups ORDER BY app_id',
        format: 'JSONEachRow',
      })
    ).json<{ app_id: string }>();
    expect(statuses.map((s) => s.app_id)).toEqual([...new Set(events.map((e) => e.event.app_id))].sort());
  });
});
