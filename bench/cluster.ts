// (g) The local cluster (`npm run stack:up -- --cluster`): ingest end to end
// with one instance and with three in one group, on the same number of
// simulated events, through Kafka topics of replication factor 3
// (min.insync.replicas=2, acks=all) into 2 shards x 2 replicas of ClickHouse.
// Everything shares the machine's two cores: the figure says what the
// cluster's synchronous, replicated writes cost and that several instances
// share the work correctly, not how much they speed up (docs/clickhouse-cluster.md).
import { createClickHouseClient, createDatabase, dropDatabase, migrate } from '@optout/clickhouse';
import { ensureTopics } from '@optout/kafka';
import { type ClusterConnection, clusterUp } from '../infra/local/cluster/stack.ts';
import {
  type Connection,
  dropTopics,
  fmt,
  requireScript,
  type SectionResult,
  startIngest,
  topicsFor,
  uniquePrefix,
  waitAllCommitted,
  withAdmin,
} from './common.ts';
import { produceEvents } from './ingest.ts';

const PARTITIONS = 12;

function writer(conn: ClusterConnection) {
  return createClickHouseClient({
    url: conn.CLICKHOUSE_URL,
    username: conn.CLICKHOUSE_USER,
    password: conn.CLICKHOUSE_PASSWORD,
    cluster: conn.CLICKHOUSE_CLUSTER,
    replicaUrls: conn.CLICKHOUSE_REPLICA_URLS.split(','),
  });
}

/** Events/s from the instances' start to every input partition committed. */
async function run(conn: ClusterConnection, events: number, instances: number): Promise<number> {
  const prefix = uniquePrefix(`cluster${instances}`);
  const t = topicsFor(prefix);
  const root = writer(conn);
  const procs: Awaited<ReturnType<typeof startIngest>>[] = [];
  try {
    await withAdmin(conn, (admin) =>
      ensureTopics(admin, {
        coPartitioned: [...Object.values(t.inputs), t.control],
        dlq: t.dlq,
        partitions: PARTITIONS,
        replicationFactor: 3,
        minInsyncReplicas: 2,
      }),
    );
    // Migrated once, ON CLUSTER, before the instances: they start with INGEST_MIGRATE=false.
    await createDatabase(root, prefix);
    await migrate(root, { database: prefix });
    await produceEvents(conn, t, events, 13);
    const env = { ...conn, INGEST_MIGRATE: 'false' } as Connection;
    const started = performance.now();
    // Started together: the clock includes one start-up (tsx, group join), as with one instance.
    procs.push(
      ...(await Promise.all(
        Array.from({ length: instances }, (_, i) => startIngest(env, t, prefix, `i${i + 1}`)),
      )),
    );
    await waitAllCommitted(conn, procs[0]!.groupId, Object.values(t.inputs), 1_800_000, procs[0]!.proc);
    return events / ((performance.now() - started) / 1000);
  } finally {
    await Promise.all(procs.map((p) => p.proc.stop(30_000)));
    await dropTopics(conn, t, procs.length > 0 ? [procs[0]!.groupId] : []);
    await dropDatabase(root, prefix).catch(() => {});
    await root.close();
  }
}

export async function benchCluster(options: { events: number }): Promise<SectionResult> {
  requireScript('ingest', 'the ingest service');
  const upStarted = performance.now();
  const conn = await clusterUp();
  const upSeconds = (performance.now() - upStarted) / 1000;
  const one = await run(conn, options.events, 1);
  const three = await run(conn, options.events, 3);
  const on = `${fmt(options.events)} simulated events (30 days, in time order), 4 topics x ${PARTITIONS} partitions (replication factor 3, min.insync.replicas=2), 2 shards x 2 replicas, all on this machine's cores, 1 run`;
  return {
    section: 'cluster',
    status: 'ok',
    figures: [
      { name: 'ingest, 1 instance', value: Math.round(one), unit: 'events/s', measured: on },
      { name: 'ingest, 3 instances', value: Math.round(three), unit: 'events/s', measured: on },
      {
        name: 'cluster up',
        value: upSeconds,
        unit: 's',
        measured:
          'clusterUp() of the section: ZooKeeper, 4 ClickHouse servers, 3 Kafka brokers (0 when already up)',
      },
    ],
  };
}
