export {
  createAdmin,
  type GroupDescription,
  type GroupTopicOffsets,
  type KafkaAdmin,
  type NewTopic,
  type PartitionOffsets,
  type TopicMetadata,
} from './admin.ts';
export { CO_PARTITIONED, CoPartitioningError, coPartitionedAssigner, dealPartitions } from './assigner.ts';
export { createKafka, type KafkaClient, type KafkaClientOptions } from './client.ts';
export {
  describeConnection,
  type KafkaConnection,
  type KafkaConnectionConfig,
  type KafkaSasl,
  type KafkaTls,
  kafkaConnection,
} from './connection.ts';
export {
  type ConsumedRecord,
  CoPartitionedConsumer,
  type CoPartitionedConsumerOptions,
  type PreparedRound,
  type RecordBatch,
  type RecordHeaders,
  type Round,
  type RoundFlow,
  type RoundHandler,
} from './consumer.ts';
export {
  type DeadLetter,
  type DeadLetterReason,
  DeadLetterSendAbandoned,
  type DeadLetterSenderOptions,
  DLQ_HEADERS,
  deadLetterMessage,
  sendDeadLetters,
} from './dlq.ts';
export {
  clientCredentialsTokenProvider,
  jwtExpiryMs,
  type OAuthClientCredentials,
  OAuthTokenError,
  type OAuthTokenProvider,
} from './oauth.ts';
export { keyHash, murmur2, partitionForKey } from './partitioner.ts';
export {
  createRecordProducer,
  isMessageTooLarge,
  type OutgoingRecord,
  type RecordProducer,
  type RecordProducerOptions,
  type TopicRecords,
} from './producer.ts';
export {
  readTopic,
  startTopicReader,
  type TopicReader,
  type TopicReaderOptions,
  type TopicRecord,
} from './topic-reader.ts';
export {
  checkCoPartitioned,
  ensureTopics,
  partitionCounts,
  type TopicPlan,
  type TopicReport,
} from './topics.ts';
