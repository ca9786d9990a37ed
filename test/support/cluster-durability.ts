// "No offset commit runs ahead of a durable write", checked from outside
// while a test runs: every couple of seconds a sample takes the group's
// committed offsets, then the raw events each ClickHouse server itself holds
// (its _local tables). At the end the topics are read back (offset -> event)
// and every sample is checked: each record below a committed offset must be
// held, at that sample, by every replica of its shard that answered (rows
// only grow, so a row seen after the offsets were read was written before).
import type { ClickHouseClient } from '@optout/clickhouse';
import type { EventKind } from '@optout/events';
import { createKafka, readTopic } from '@optout/kafka';
import {
  CLICKHOUSE_NODES,
  type ClickHouseNode,
  clusterConnection,
  nodeClient,
  replicaOf,
} from './cluster.ts';
import type { TestPipeline } from './pipeline.ts';

const TAG: Record<EventKind, string> = {
  pushSent: 'p',
  campaignInteraction: 'i',
  appEvent: 'a',
  consentChange: 'c',
};
const RAW: Record<EventKind, string> = {
  pushSent: 'raw_push',
  campaignInteraction: 'raw_interaction',
  appEvent: 'raw_app_event',
  consentChange: 'raw_consent',
};

interface Sample {
  /** topic -> partition -> committed offset */
  committed: Map<string, Map<number, number>>;
  /** The servers that answered this sample. */
  live: Set<ClickHouseNode>;
}

export interface DurabilityReport {
  samples: number;
  /** Samples taken while a server was down. */
  samplesWithServerDown: number;
  /** (sample, record) pairs checked. */
  checked: number;
  /** What was committed but not held by every answering replica of its shard, at most 20. */
  violations: string[];
}

export interface DurabilitySampler {
  stop(): Promise<void>;
  /** Reads the topics back and checks every sample (after stop). */
  verify(): Promise<DurabilityReport>;
}

export function startDurabilitySampler(p: TestPipeline, intervalMs = 2000): DurabilitySampler {
  const clients = new Map<ClickHouseNode, ClickHouseClient>(CLICKHOUSE_NODES.map((n) => [n, nodeClient(n)]));
  const kinds = Object.keys(p.topics) as EventKind[];
  const rawIds = `SELECT DISTINCT id FROM (${kinds
    .map((k) => `SELECT concat('${TAG[k]}:', event_id) AS id FROM ${p.database}.${RAW[k]}_local`)
    .join(' UNION ALL ')})`;
  // node -> id -> index of the first sample that saw it there
  const firstSeen = new Map<ClickHouseNode, Map<string, number>>(CLICKHOUSE_NODES.map((n) => [n, new Map()]));
  const samples: Sample[] = [];
  let running = true;

  async function sample(): Promise<void> {
    let offsets: Awaited<ReturnType<TestPipeline['admin']['fetchOffsets']>>;
    try {
      offsets = await p.admin.fetchOffsets({ groupId: p.groupId, topics: Object.values(p.topics) });
    } catch {
      return; // the group coordinator is moving (a broker down): no sample this time
    }
    const index = samples.length;
    const live = new Set<ClickHouseNode>();
    await Promise.all(
      CLICKHOUSE_NODES.map(async (n) => {
        try {
          const rows = await (await clients.get(n)!.query({ query: rawIds, format: 'JSONEachRow' })).json<{
            id: string;
          }>();
          const seen = firstSeen.get(n)!;
          for (const { id } of rows) if (!seen.has(id)) seen.set(id, index);
          live.add(n);
        } catch {
          // down, or restarting: this server is not checked in this sample
        }
      }),
    );
    samples.push({
      committed: new Map(
        offsets.map((t) => [t.topic, new Map(t.partitions.map((q) => [q.partition, Number(q.offset)]))]),
      ),
      live,
    });
  }

  const loop = (async () => {
    while (running) {
      const started = Date.now();
      await sample();
      await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - (Date.now() - started))));
    }
  })();

  return {
    async stop() {
      running = false;
      await loop;
      await Promise.all([...clients.values()].map((c) => c.close()));
    },
    async verify() {
      const kafka = createKafka({
        brokers: clusterConnection().KAFKA_BROKERS.split(','),
        clientId: 'durability',
      });
      const shards = new Map<number, ClickHouseNode[]>();
      for (const n of CLICKHOUSE_NODES)
        shards.set(replicaOf(n).shard, [...(shards.get(replicaOf(n).shard) ?? []), n]);
      const report: DurabilityReport = {
        samples: samples.length,
        samplesWithServerDown: samples.filter((s) => s.live.size < CLICKHOUSE_NODES.length).length,
        checked: 0,
        violations: [],
      };
      let violations = 0;
      for (const kind of kinds) {
        const topic = p.topics[kind];
        const ends = await p.admin.fetchTopicOffsets(topic);
        const total = ends.reduce((sum, e) => sum + Number(e.high), 0);
        const records = await readTopic(kafka, topic, total, { timeoutMs: 120_000 });
        await p.codec.prepare(records.map((r) => r.value));
        // partition -> offset -> id
        const ids = new Map<number, Map<number, string>>();
        for (const r of records) {
          const decoded = p.codec.decode(kind, r.value);
          if (!decoded.ok) throw new Error(`${topic}[${r.partition}]@${r.offset} does not decode`);
          if (!ids.has(r.partition)) ids.set(r.partition, new Map());
          ids.get(r.partition)!.set(Number(r.offset), `${TAG[kind]}:${decoded.event.event_id}`);
        }
        samples.forEach((s, i) => {
          for (const [partition, committed] of s.committed.get(topic) ?? []) {
            for (let offset = 0; offset < committed; offset++) {
              const id = ids.get(partition)?.get(offset);
              if (id === undefined) continue;
              report.checked++;
              const held = (n: ClickHouseNode) =>
                (firstSeen.get(n)!.get(id) ?? Number.POSITIVE_INFINITY) <= i;
              const durable = [...shards.values()].some((replicas) => {
                const answered = replicas.filter((n) => s.live.has(n));
                return answered.length > 0 && answered.every(held);
              });
              if (!durable && violations++ < 20)
                report.violations.push(
                  `sample ${i}: ${topic}[${partition}]@${offset} (${id}) committed, held by ${
                    CLICKHOUSE_NODES.filter((n) => s.live.has(n) && held(n)).join(',') || 'no server'
                  } of ${[...s.live].join(',')}`,
                );
            }
          }
        });
      }
      return report;
    },
  };
}
