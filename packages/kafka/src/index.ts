export { CO_PARTITIONED, CoPartitioningError, coPartitionedAssigner, dealPartitions } from './assigner.ts';
export { createKafka, type KafkaClientOptions } from './client.ts';
export { type DeadLetter, type DeadLetterReason, DLQ_HEADERS, deadLetterMessage } from './dlq.ts';
export { keyHash, murmur2, partitionForKey } from './partitioner.ts';
export {
  checkCoPartitioned,
  ensureTopics,
  partitionCounts,
  type TopicPlan,
  type TopicReport,
} from './topics.ts';
