// The ingest pipeline: the Kafka transport (packages/kafka CoPartitionedConsumer)
// feeding rounds to processRound, the partitions' states, the dead-letter
// sender and the erasure jobs waiting in the background.
import type { ClickHouseClient } from '@optout/clickhouse';
import type { EventCodec, EventKind } from '@optout/events';
import {
  CoPartitionedConsumer,
  createRecordProducer,
  type KafkaClient,
  type RecordProducer,
  type RoundFlow,
} from '@optout/kafka';
import type { Logger } from '@optout/observability';
import type { IngestMetrics, StateStats } from '../metrics.ts';
import { ClickHouseSink, SinkStoppedError } from '../sink/clickhouse-sink.ts';
import { PartitionStates } from '../state/partition-states.ts';
import { DeadLetters } from './dead-letters.ts';
import { ErasureJobs } from './erasure.ts';
import { PartitionCountChanged, prepareRound } from './round.ts';

export interface PipelineOptions {
  kafka: KafkaClient;
  clickhouse: ClickHouseClient;
  codec: EventCodec;
  logger: Logger;
  metrics: IngestMetrics;
  groupId: string;
  topics: Record<EventKind, string>;
  controlTopic: string;
  dlqTopic: string;
  partitionCount: number;
  maxBytesPerPartition: number;
  sessionTimeoutMs: number;
  erasureDeadlineMs: number;
  cachedEventsPerPartition: number;
  /** Called when the pipeline cannot go on (e.g. the topics were repartitioned under it). */
  onFatal: (error: Error) => void;
  /** Throws PartitionCountChanged when the topics' partition count is no longer partitionCount. */
  checkPartitionCount: () => Promise<void>;
}

export class IngestPipeline {
  private readonly consumer: CoPartitionedConsumer;
  private readonly producer: RecordProducer;
  private readonly sink: ClickHouseSink;
  private readonly states: PartitionStates;
  private readonly erasureJobs: ErasureJobs;
  private stopping = false;

  constructor(private readonly o: PipelineOptions) {
    const stopping = () => this.stopping;
    this.producer = createRecordProducer(o.kafka, { idempotent: true });
    this.sink = new ClickHouseSink({ client: o.clickhouse, logger: o.logger, metrics: o.metrics, stopping });
    this.states = new PartitionStates({
      sink: this.sink,
      partitionCount: o.partitionCount,
      cachedEventsPerPartition: o.cachedEventsPerPartition,
      metrics: o.metrics,
      logger: o.logger,
    });
    this.erasureJobs = new ErasureJobs({
      sink: this.sink,
      logger: o.logger,
      metrics: o.metrics,
      deadlineMs: o.erasureDeadlineMs,
    });
    const deadLetters = new DeadLetters({
      producer: this.producer,
      topic: o.dlqTopic,
      metrics: o.metrics,
      logger: o.logger,
      stopping,
    });
    const kindOf = new Map(Object.entries(o.topics).map(([kind, topic]) => [topic, kind as EventKind]));
    this.consumer = new CoPartitionedConsumer(
      {
        kafka: o.kafka,
        groupId: o.groupId,
        topics: [...Object.values(o.topics), o.controlTopic],
        partitionCount: o.partitionCount,
        sessionTimeoutMs: o.sessionTimeoutMs,
        maxBytesPerPartition: o.maxBytesPerPartition,
        logger: o.logger,
      },
      {
        // Whatever this member held may have moved on elsewhere meanwhile; and a
        // failed round may have left state ahead of what is durable.
        onAssignment: () => this.states.dropAll(),
        onCrash: (error) => {
          this.states.dropAll();
          if (error instanceof PartitionCountChanged) o.onFatal(error);
        },
        prepare: async (round) => {
          if (this.stopping) throw new SinkStoppedError('stopping: round left uncommitted');
          try {
            return await prepareRound(round, {
              codec: o.codec,
              sink: this.sink,
              states: this.states,
              deadLetters,
              erasureJobs: this.erasureJobs,
              metrics: o.metrics,
              logger: o.logger,
              kindOf,
              controlTopic: o.controlTopic,
              partitionCount: o.partitionCount,
              checkPartitionCount: o.checkPartitionCount,
            });
          } catch (error) {
            // Not prepared: its batches come again; what it changed in state is dropped.
            this.states.dropAll();
            if (error instanceof PartitionCountChanged) o.onFatal(error);
            else if (!(error instanceof SinkStoppedError))
              o.logger.warn(
                { event: 'round_failed', err: error },
                'round failed; it will be delivered again',
              );
            throw error;
          }
        },
      },
    );
  }

  get joined(): boolean {
    return this.consumer.joined;
  }

  get crashed(): Error | null {
    return this.consumer.crashed;
  }

  get lastAliveAt(): number {
    return this.consumer.lastAliveAt;
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  stateStats(): StateStats {
    return this.states.stats();
  }

  /** The rounds and records in flight, and the time rounds waited for a slot (metrics.ts). */
  flow(): RoundFlow {
    return this.consumer.flow();
  }

  async start(): Promise<void> {
    await this.producer.connect();
    await this.erasureJobs.start();
    await this.consumer.start();
  }

  /** Stop fetching, let the round in hand finish (or abandon it uncommitted), disconnect. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.erasureJobs.stop();
    await this.consumer.stop();
    await this.producer
      .disconnect()
      .catch((err: unknown) => this.o.logger.warn({ err }, 'producer disconnect failed'));
  }
}
