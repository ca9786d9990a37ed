// Creates the pipeline's topics and refuses to go on when existing ones break
// co-partitioning: the four inputs and the control topic must all have the same
// number of partitions, or one user's records would meet on different instances.
import type { KafkaAdmin, NewTopic } from './admin.ts';
import { CoPartitioningError } from './assigner.ts';

/** The admin calls these need: a KafkaAdmin (createAdmin) has them. */
type TopicAdmin = Pick<KafkaAdmin, 'listTopics' | 'fetchTopicMetadata' | 'createTopics'>;

/** A new topic with topic-level configs: createAdmin hands the request to kafkajs as it is. */
type TopicWithConfig = NewTopic & { configEntries: { name: string; value: string }[] };

export interface TopicPlan {
  /** The four input topics and the control topic: co-partitioned. */
  coPartitioned: string[];
  dlq: string;
  partitions: number;
  replicationFactor?: number;
  /**
   * The topics' min.insync.replicas: with acks=all (every producer here) a
   * write is acknowledged only once this many replicas have it, and refused
   * (not silently accepted by one broker) when fewer are in sync. Unset: the
   * broker's default.
   */
  minInsyncReplicas?: number;
}

export interface TopicReport {
  created: string[];
  existing: Record<string, number>;
}

export async function partitionCounts(
  admin: Pick<TopicAdmin, 'listTopics' | 'fetchTopicMetadata'>,
  topics: string[],
): Promise<Record<string, number>> {
  const known = new Set(await admin.listTopics());
  const present = topics.filter((t) => known.has(t));
  if (present.length === 0) return {};
  const { topics: metadata } = await admin.fetchTopicMetadata({ topics: present });
  return Object.fromEntries(metadata.map((t) => [t.name, t.partitions.length]));
}

/** Throws CoPartitioningError naming each topic and its partition count when they differ. */
export function checkCoPartitioned(counts: Record<string, number>, expected?: number): void {
  const values = new Set(Object.values(counts));
  if (expected !== undefined) values.add(expected);
  if (values.size > 1) {
    const list = Object.entries(counts)
      .map(([t, n]) => `${t}=${n}`)
      .join(', ');
    throw new CoPartitioningError(
      `topics are not co-partitioned (${list}${expected === undefined ? '' : `; wanted ${expected}`}): ` +
        'every input topic and the control topic need the same partition count. ' +
        'Add partitions to the smaller ones (kafka-topics --alter --partitions) before starting ingest.',
    );
  }
}

export async function ensureTopics(admin: TopicAdmin, plan: TopicPlan): Promise<TopicReport> {
  const all = [...plan.coPartitioned, plan.dlq];
  const existing = await partitionCounts(admin, all);
  const coExisting = Object.fromEntries(
    Object.entries(existing).filter(([t]) => plan.coPartitioned.includes(t)),
  );
  // Existing co-partitioned topics set the count; new ones follow them.
  const partitions = Object.values(coExisting)[0] ?? plan.partitions;
  checkCoPartitioned(coExisting, partitions);
  const replicationFactor = plan.replicationFactor ?? 1;
  const configEntries =
    plan.minInsyncReplicas === undefined
      ? []
      : [{ name: 'min.insync.replicas', value: String(plan.minInsyncReplicas) }];
  const missing: TopicWithConfig[] = all
    .filter((t) => !(t in existing))
    .map((topic) => ({ topic, numPartitions: partitions, replicationFactor, configEntries }));
  if (missing.length > 0) await admin.createTopics({ topics: missing, waitForLeaders: true });
  return { created: missing.map((t) => t.topic), existing };
}
