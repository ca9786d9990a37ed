// The Kafka transport of ingest: a consumer group over co-partitioned topics
// that hands the application whole *rounds* of batches and commits a round's
// offsets only after the application says everything the round produced is
// durable. It knows nothing of what the records mean.
//
// A round is what one fetch delivered: kafkajs gives each topic-partition batch
// of a fetch to its own worker within the same tick, so the batches that reach
// eachBatch before the next macrotask are one round. The application gets one
// call per round (one insert per table instead of one per batch), rounds run one
// at a time, and after a round succeeds its offsets are committed in one
// request. If the round fails, nothing is committed: kafkajs redelivers from the
// last commit, so the application must be idempotent per round.
//
// Ordering rule, enforced here: an offset is committed only after the round that
// contains it resolved, and rounds are serial, so a commit never runs ahead of
// a durable write (resolving offsets out of order would make kafkajs commit
// past records whose processing failed).
import type { Logger } from '@optout/observability';
import type { Batch, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { coPartitionedAssigner } from './assigner.ts';

/** The client every producer, consumer and admin of the project is made from (see client.ts). */
export type KafkaClient = Kafka;

export type RecordHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined>;

export interface ConsumedRecord {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeaders;
}

export interface RecordBatch {
  topic: string;
  partition: number;
  records: readonly ConsumedRecord[];
  /** The partition's high watermark when fetched: lag = highWatermark - lastOffset - 1. */
  highWatermark: string;
  lastOffset: string;
}

export interface Round {
  batches: readonly RecordBatch[];
  /**
   * Keeps the group membership alive during long work. Throws when the group is
   * rebalancing or this member was evicted: the round must then be abandoned
   * (its offsets would not commit anyway).
   */
  heartbeat(): Promise<void>;
  /** Resolves once every earlier round is written and committed. */
  drain(): Promise<void>;
}

/** A round whose CPU work is done: what is left is writing it. */
export interface PreparedRound {
  /** Resolves when everything the round produced is durable; then its offsets are committed. */
  write(): Promise<void>;
}

export interface RoundHandler {
  /** After every join, with this member's partition numbers, before any round of them. */
  onAssignment(partitions: number[]): void;
  /**
   * The CPU stage of a round: decoding, state, building rows. May read, must not
   * write: the next round may be prepared while this one is written.
   */
  prepare(round: Round): Promise<PreparedRound>;
  /** kafkajs crashed (it restarts when the error is retriable): state in memory may be stale. */
  onCrash(error: Error, restarting: boolean): void;
}

export interface CoPartitionedConsumerOptions {
  kafka: Kafka;
  groupId: string;
  topics: readonly string[];
  /** Of every topic (they are co-partitioned); bounds the batches of a round. */
  partitionCount: number;
  sessionTimeoutMs: number;
  maxBytesPerPartition: number;
  logger: Logger;
}

interface Pending {
  batch: RecordBatch;
  heartbeat: () => Promise<void>;
  /** Resolves true once the round's offsets are committed, false when it was left uncommitted. */
  done: { resolve: (committed: boolean) => void; reject: (error: unknown) => void };
}

/** A kafkajs batch as the project's RecordBatch (also used by topic-reader.ts). */
export const toRecordBatch = (batch: Batch): RecordBatch => ({
  topic: batch.topic,
  partition: batch.partition,
  highWatermark: batch.highWatermark,
  lastOffset: batch.lastOffset(),
  records: batch.messages.map((m) => ({
    offset: m.offset,
    key: m.key ?? null,
    value: m.value ?? null,
    headers: (m.headers ?? {}) as RecordHeaders,
  })),
});

export class CoPartitionedConsumer {
  private readonly consumer: Consumer;
  private pending: Pending[] = [];
  private roundScheduled = false;
  private rounds: Promise<void> = Promise.resolve();
  private stopping = false;
  /** Last sign of life (fetch, heartbeat, round): for /healthz. */
  lastAliveAt = Date.now();
  joined = false;
  crashed: Error | null = null;

  constructor(
    private readonly o: CoPartitionedConsumerOptions,
    private readonly handler: RoundHandler,
  ) {
    this.consumer = o.kafka.consumer({
      groupId: o.groupId,
      partitionAssigners: [coPartitionedAssigner],
      sessionTimeout: o.sessionTimeoutMs,
      // The rebalance timeout bounds how long the group waits for a member that
      // is finishing a round; rounds heartbeat while they retry or restore.
      rebalanceTimeout: Math.max(60_000, o.sessionTimeoutMs * 2),
      heartbeatInterval: Math.min(3000, Math.floor(o.sessionTimeoutMs / 5)),
      maxBytesPerPartition: o.maxBytesPerPartition,
      // kafkajs caps a whole fetch at 10 MB by default, which would split a
      // round of topics x partitions into small batches.
      maxBytes: Math.max(10 * 1024 * 1024, o.maxBytesPerPartition * o.topics.length * o.partitionCount),
      maxWaitTimeInMs: 250,
      allowAutoTopicCreation: false,
      readUncommitted: false,
    });
  }

  async start(): Promise<void> {
    const { consumer, o } = this;
    const alive = () => {
      this.lastAliveAt = Date.now();
    };
    consumer.on(consumer.events.FETCH_START, alive);
    consumer.on(consumer.events.HEARTBEAT, alive);
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.joined = true;
      alive();
      const partitions = [...new Set(Object.values(payload.memberAssignment).flat())].sort((a, b) => a - b);
      o.logger.info({ event: 'partitions_assigned', partitions, member_id: payload.memberId }, 'assignment');
      this.handler.onAssignment(partitions);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      o.logger.error(
        { event: 'consumer_crash', err: payload.error, restart: payload.restart },
        'consumer crashed',
      );
      if (!payload.restart) this.crashed = payload.error;
      this.handler.onCrash(payload.error, payload.restart);
    });
    await consumer.connect();
    for (const topic of o.topics) await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // Every topic-partition of a fetch gets a worker, so a fetch is one round.
      partitionsConsumedConcurrently: Math.max(1, o.partitionCount * o.topics.length),
      eachBatch: (payload) => this.onBatch(payload),
    });
  }

  /**
   * Stops fetching, lets the round in hand finish (or fail uncommitted), leaves
   * the group. Rounds not started yet are left uncommitted, quietly: the next
   * owner of their partitions gets them again.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.consumer
      .disconnect()
      .catch((err: unknown) => this.o.logger.warn({ err }, 'consumer disconnect failed'));
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (batch.messages.length === 0 || !payload.isRunning() || this.stopping) return;
    const committed = await new Promise<boolean>((resolve, reject) => {
      this.pending.push({
        batch: toRecordBatch(batch),
        heartbeat: payload.heartbeat,
        done: { resolve, reject },
      });
      if (!this.roundScheduled) {
        this.roundScheduled = true;
        setImmediate(() => this.closeRound());
      }
    });
    if (committed) payload.resolveOffset(batch.lastOffset());
  }

  private closeRound(): void {
    this.roundScheduled = false;
    const members = this.pending;
    this.pending = [];
    const run = async (): Promise<boolean> => {
      if (this.stopping) return false;
      const round: Round = {
        batches: members.map((m) => m.batch),
        heartbeat: async () => {
          this.lastAliveAt = Date.now();
          await members[0]!.heartbeat();
        },
        // Rounds are serial here: nothing earlier is in flight.
        drain: async () => {},
      };
      const prepared = await this.handler.prepare(round);
      await prepared.write();
      // Only now is everything the round produced durable: commit past it.
      await this.consumer.commitOffsets(
        members.map(({ batch }) => ({
          topic: batch.topic,
          partition: batch.partition,
          offset: (BigInt(batch.lastOffset) + 1n).toString(),
        })),
      );
      this.lastAliveAt = Date.now();
      return true;
    };
    const result = this.rounds.then(run);
    this.rounds = result.then(
      () => {},
      () => {},
    );
    result.then(
      (committed) => {
        for (const m of members) m.done.resolve(committed);
      },
      (error: unknown) => {
        // While stopping, a failed round is simply left uncommitted (no error to kafkajs).
        for (const m of members) this.stopping ? m.done.resolve(false) : m.done.reject(error);
      },
    );
  }
}
