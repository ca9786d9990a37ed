// The admin calls the project makes (topics, offsets, consumer groups) behind
// its own interface, so nothing outside packages/kafka depends on the client
// library: replacing kafkajs means reimplementing createAdmin, not its callers.
// Names follow kafkajs' admin (close to Kafka's own Admin client), so today's
// implementation is a thin mapping; only the fields the project reads are kept.
import type { Admin } from 'kafkajs';
import { type KafkaClient, kafkajsOf } from './client.ts';

export interface NewTopic {
  topic: string;
  numPartitions?: number;
  replicationFactor?: number;
}

export interface TopicMetadata {
  name: string;
  partitions: { partitionId: number; leader: number; replicas: number[]; isr: number[] }[];
}

/** One partition's offsets: `low` the first kept, `high` the next to be written (offset = high). */
export interface PartitionOffsets {
  partition: number;
  offset: string;
  high: string;
  low: string;
}

/** A group's committed offsets on one topic; `-1` where it has committed nothing. */
export interface GroupTopicOffsets {
  topic: string;
  partitions: { partition: number; offset: string }[];
}

export interface GroupDescription {
  groupId: string;
  /** Kafka's group state: Empty, PreparingRebalance, CompletingRebalance, Stable or Dead. */
  state: string;
  /** The partition assignor the members agreed on (ours: CO_PARTITIONED). */
  protocol: string;
  members: { memberId: string; clientId: string; clientHost: string }[];
}

export interface KafkaAdmin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  listTopics(): Promise<string[]>;
  /** Resolves false when every topic already existed (or did by a retry: whileUnknownTopic). */
  createTopics(options: { topics: NewTopic[]; waitForLeaders?: boolean; timeout?: number }): Promise<boolean>;
  /** Raises each topic's partition count to `count` (Kafka never lowers it). */
  createPartitions(options: { topicPartitions: { topic: string; count: number }[] }): Promise<boolean>;
  deleteTopics(options: { topics: string[]; timeout?: number }): Promise<void>;
  fetchTopicMetadata(options: { topics: string[] }): Promise<{ topics: TopicMetadata[] }>;
  fetchTopicOffsets(topic: string): Promise<PartitionOffsets[]>;
  fetchOffsets(options: { groupId: string; topics: string[] }): Promise<GroupTopicOffsets[]>;
  /** Moves a group with no active member back to the start (or end) of a topic. */
  resetOffsets(options: { groupId: string; topic: string; earliest: boolean }): Promise<void>;
  describeGroups(groupIds: string[]): Promise<{ groups: GroupDescription[] }>;
  /** Rejects if a group cannot be deleted (e.g. it still has members). */
  deleteGroups(groupIds: string[]): Promise<void>;
}

export function createAdmin(kafka: KafkaClient): KafkaAdmin {
  const admin = kafkajsOf(kafka).admin();
  return {
    connect: () => admin.connect(),
    disconnect: () => admin.disconnect(),
    listTopics: () => admin.listTopics(),
    createTopics: (options) => whileUnknownTopic(() => admin.createTopics(options)),
    async createPartitions(options) {
      const changed = await admin.createPartitions(options);
      // The controller answers once the change is committed; the broker's
      // metadata can show the old count a moment longer (seen on 3.9.1), and
      // whoever checks co-partitioning next must see the new one.
      await untilPartitions(admin, options.topicPartitions);
      return changed;
    },
    deleteTopics: (options) => admin.deleteTopics(options),
    async fetchTopicMetadata(options) {
      const { topics } = await admin.fetchTopicMetadata(options);
      return {
        topics: topics.map(({ name, partitions }) => ({
          name,
          partitions: partitions.map(({ partitionId, leader, replicas, isr }) => ({
            partitionId,
            leader,
            replicas,
            isr,
          })),
        })),
      };
    },
    async fetchTopicOffsets(topic) {
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets.map(({ partition, offset, high, low }) => ({ partition, offset, high, low }));
    },
    async fetchOffsets(options) {
      const committed = await admin.fetchOffsets(options);
      return committed.map(({ topic, partitions }) => ({
        topic,
        partitions: partitions.map(({ partition, offset }) => ({ partition, offset })),
      }));
    },
    resetOffsets: (options) => admin.resetOffsets(options),
    async describeGroups(groupIds) {
      const { groups } = await admin.describeGroups(groupIds);
      return {
        groups: groups.map(({ groupId, state, protocol, members }) => ({
          groupId,
          state,
          protocol,
          members: members.map(({ memberId, clientId, clientHost }) => ({ memberId, clientId, clientHost })),
        })),
      };
    },
    async deleteGroups(groupIds) {
      await admin.deleteGroups(groupIds);
    },
  };
}

async function untilPartitions(admin: Admin, wanted: { topic: string; count: number }[], timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { topics } = await admin.fetchTopicMetadata({ topics: wanted.map((w) => w.topic) });
    const counts = new Map(topics.map((t) => [t.name, t.partitions.length]));
    if (wanted.every((w) => (counts.get(w.topic) ?? 0) >= w.count)) return;
    if (Date.now() > until)
      throw new Error(`partitions added, but the metadata still shows the old counts after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Runs `attempt` again while it fails with UNKNOWN_TOPIC_OR_PARTITION, for up
 * to `deadlineMs`. After creating a topic, kafkajs's createTopics reads the
 * new topic's metadata from a broker to wait for its leaders, and retries
 * only LEADER_NOT_AVAILABLE. On KRaft a broker applies the controller's
 * records asynchronously, so it may not know the topic yet, and kafkajs then
 * gives up with "This server does not host this topic-partition" (seen once in
 * the demo's smoke test in CI). A new attempt finds the topics created and
 * returns at once: createTopics treats TOPIC_ALREADY_EXISTS as done (and so
 * resolves false). The twin of untilPartitions for createPartitions.
 */
export async function whileUnknownTopic<T>(
  attempt: () => Promise<T>,
  options: { deadlineMs?: number; delayMs?: number } = {},
): Promise<T> {
  const { deadlineMs = 30_000, delayMs = 250 } = options;
  const started = Date.now();
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      const unknownTopic = (error as { type?: unknown }).type === 'UNKNOWN_TOPIC_OR_PARTITION';
      if (!unknownTopic || Date.now() - started >= deadlineMs) throw error;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
