// The Kafka transport of ingest: a consumer group over co-partitioned topics
// that hands the application whole *rounds* of batches and commits a round's
// offsets only after the application says everything the round produced is
// durable. It knows nothing of what the records mean.
//
// A round is what one fetch delivered: kafkajs gives each topic-partition batch
// of a fetch to its own worker within the same tick, so the batches that reach
// eachBatch before the next macrotask are one round. The application handles a
// round in two stages: `prepare` (CPU: decoding, state, building rows) and the
// `write` it returns (I/O). Once a round is prepared, its batches are released
// to kafkajs, which fetches the next ones: round N+1 is prepared while round N
// is written (a small round only once it is written: see closeRound). Prepares
// run one at a time, writes run one at a time and in
// order, at most MAX_IN_FLIGHT rounds are prepared but not yet committed (the
// memory bound), and a round's offsets are committed in one request after its
// write resolved.
//
// Ordering rule, enforced here: an offset is committed only after the write of
// the round that contains it and of every round before it, so a commit never
// runs ahead of a durable write. If a write fails, nothing more is written or
// committed in that epoch: the rounds prepared after it are dropped, and every
// topic-partition is sought back to its oldest uncommitted offset (kafkajs
// already fetched past it), so they are delivered again. A rebalance starts a
// new epoch too (kafkajs resumes from the committed offsets by itself). The
// application must therefore be idempotent per round.
import type { Logger } from '@optout/observability';
import type { Batch, Consumer, EachBatchPayload } from 'kafkajs';
import { coPartitionedAssigner } from './assigner.ts';
import { type KafkaClient, kafkajsOf } from './client.ts';

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
  kafka: KafkaClient;
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
  /** Resolves true once the round is prepared (kafkajs may fetch on), false when it was dropped. */
  accepted: { resolve: (accepted: boolean) => void; reject: (error: unknown) => void };
}

/** What is in flight (CoPartitionedConsumer.flow), for the service's metrics. */
export interface RoundFlow {
  /** Rounds being prepared or prepared and not yet committed (or dropped): at most MAX_IN_FLIGHT. */
  rounds: number;
  /** The records of those rounds. */
  records: number;
  /** Seconds rounds have waited for a slot since start: backpressure from the writes. */
  waitedSeconds: number;
}

/** Rounds prepared but not yet committed, at most: one being written, one waiting. */
const MAX_IN_FLIGHT = 2;
/**
 * Rounds of fewer records are written before the next fetch (latency, see
 * closeRound); larger ones are pipelined. At the bench's 5,000 events/s a round
 * holds what arrived during one write, about 1,000 records; at full ingest
 * speed rounds are whole fetches of tens of thousands.
 */
const PIPELINE_FROM_RECORDS = 5_000;

const tpKey = (topic: string, partition: number) => `${partition}\u0000${topic}`;

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
  private stopping = false;
  /** Bumped on every join and failure: what was prepared in an older epoch is dropped. */
  private epoch = 0;
  private prepares: Promise<void> = Promise.resolve();
  private writes: Promise<void> = Promise.resolve();
  private inFlight = 0;
  /** Records of the rounds in flight: what MAX_IN_FLIGHT and the fetch size bound. */
  private recordsInFlight = 0;
  /** How long rounds waited for a slot in all: time when the writes, not the fetches, set the pace. */
  private slotWaitMs = 0;
  private readonly slotWaiters: Array<() => void> = [];
  /** Per topic-partition, the first offsets of the prepared, uncommitted batches, oldest first. */
  private readonly uncommitted = new Map<string, { topic: string; partition: number; from: string[] }>();
  /** Last sign of life (fetch, heartbeat, round): for /healthz. */
  lastAliveAt = Date.now();
  /** The newest batch's heartbeat, for keepAlive. */
  private latestHeartbeat: (() => Promise<void>) | null = null;
  private keepAlive: NodeJS.Timeout | undefined;
  joined = false;
  crashed: Error | null = null;

  constructor(
    private readonly o: CoPartitionedConsumerOptions,
    private readonly handler: RoundHandler,
  ) {
    this.consumer = kafkajsOf(o.kafka).consumer({
      groupId: o.groupId,
      partitionAssigners: [coPartitionedAssigner],
      sessionTimeout: o.sessionTimeoutMs,
      // The rebalance timeout bounds how long the group waits for a member that
      // is finishing a round; rounds heartbeat while they retry or restore.
      rebalanceTimeout: Math.max(60_000, o.sessionTimeoutMs * 2),
      heartbeatInterval: this.heartbeatIntervalMs(),
      maxBytesPerPartition: o.maxBytesPerPartition,
      // kafkajs caps a whole fetch at 10 MB by default, which would split a
      // round of topics x partitions into small batches.
      maxBytes: Math.max(10 * 1024 * 1024, o.maxBytesPerPartition * o.topics.length * o.partitionCount),
      maxWaitTimeInMs: 250,
      allowAutoTopicCreation: false,
      readUncommitted: false,
    });
  }

  private heartbeatIntervalMs(): number {
    return Math.min(3000, Math.floor(this.o.sessionTimeoutMs / 5));
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
      // kafkajs resumes every partition from its committed offset.
      this.epoch++;
      this.uncommitted.clear();
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
    // kafkajs heartbeats between the batches it hands out; while rounds are in
    // flight its fetch loop waits in eachBatch (backpressure), so a long write
    // (a backfill's recompute) would outlast the session. Keep the membership
    // alive meanwhile. A failed heartbeat here is left to the round's own
    // (round.heartbeat), which abandons the round when the group moved on.
    this.keepAlive = setInterval(() => {
      if (this.inFlight === 0 || this.latestHeartbeat === null) return;
      this.latestHeartbeat().then(
        () => {
          this.lastAliveAt = Date.now();
        },
        () => {},
      );
    }, this.heartbeatIntervalMs());
    this.keepAlive.unref();
  }

  /**
   * Stops fetching, lets the round in hand finish (or fail uncommitted), leaves
   * the group. Rounds not started yet are left uncommitted, quietly: the next
   * owner of their partitions gets them again.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.keepAlive);
    // What is prepared is written and committed; nothing new is started.
    await this.prepares;
    await this.writes;
    await this.consumer
      .disconnect()
      .catch((err: unknown) => this.o.logger.warn({ err }, 'consumer disconnect failed'));
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    // Stale: fetched before a seek back (see fail()); it will come again.
    if (batch.messages.length === 0 || !payload.isRunning() || payload.isStale() || this.stopping) return;
    this.latestHeartbeat = payload.heartbeat;
    const accepted = await new Promise<boolean>((resolve, reject) => {
      this.pending.push({
        batch: toRecordBatch(batch),
        heartbeat: payload.heartbeat,
        accepted: { resolve, reject },
      });
      if (!this.roundScheduled) {
        this.roundScheduled = true;
        setImmediate(() => this.closeRound());
      }
    });
    // Resolved: kafkajs fetches past it. Committed later, once written.
    if (accepted) payload.resolveOffset(batch.lastOffset());
  }

  /** The rounds and records in flight now, and the seconds rounds have waited for a slot so far. */
  flow(): RoundFlow {
    return { rounds: this.inFlight, records: this.recordsInFlight, waitedSeconds: this.slotWaitMs / 1000 };
  }

  /** Waits until fewer than MAX_IN_FLIGHT rounds are prepared and uncommitted, then takes a slot. */
  private async slot(records: number): Promise<void> {
    if (this.inFlight >= MAX_IN_FLIGHT) {
      const started = performance.now();
      while (this.inFlight >= MAX_IN_FLIGHT)
        await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
      this.slotWaitMs += performance.now() - started;
    }
    this.inFlight++;
    this.recordsInFlight += records;
  }

  private release(records: number): void {
    this.inFlight--;
    this.recordsInFlight -= records;
    this.slotWaiters.shift()?.();
  }

  private closeRound(): void {
    this.roundScheduled = false;
    const members = this.pending;
    this.pending = [];
    const epoch = this.epoch;
    const dropAll = () => {
      for (const m of members) m.accepted.resolve(false);
    };
    const records = members.reduce((n, m) => n + m.batch.records.length, 0);
    this.prepares = this.prepares.then(async () => {
      if (this.stopping || epoch !== this.epoch) return dropAll();
      await this.slot(records);
      const writesBefore = this.writes;
      const round: Round = {
        batches: members.map((m) => m.batch),
        heartbeat: async () => {
          this.lastAliveAt = Date.now();
          await members[0]!.heartbeat();
        },
        drain: () => writesBefore,
      };
      let prepared: PreparedRound;
      try {
        prepared = await this.handler.prepare(round);
      } catch (error) {
        this.release(records);
        // Not resolved: kafkajs delivers these batches again.
        for (const m of members) this.stopping ? m.accepted.resolve(false) : m.accepted.reject(error);
        return;
      }
      if (epoch !== this.epoch) {
        this.release(records);
        return dropAll();
      }
      for (const { batch } of members) {
        const key = tpKey(batch.topic, batch.partition);
        const entry = this.uncommitted.get(key) ?? {
          topic: batch.topic,
          partition: batch.partition,
          from: [],
        };
        entry.from.push(batch.records[0]!.offset);
        this.uncommitted.set(key, entry);
      }
      const written = this.writes.then(() => this.writeRound(epoch, members, prepared, records));
      this.writes = written;
      // A small round is written before kafkajs may fetch on: the next round is
      // then fetched when it can be written at once, with everything that
      // arrived meanwhile. Released at prepare instead, it would be fetched
      // while this one is written and wait a whole write for its turn, and what
      // arrived meanwhile one more: at a steady low rate a record would wait
      // about 3.5 writes instead of 1.5. A large round is released at prepare,
      // so that the CPU of the next prepare overlaps this write (throughput).
      if (records < PIPELINE_FROM_RECORDS) {
        await written;
        // Failed (sought back) or rebalanced: kafkajs must not resolve past it.
        if (epoch !== this.epoch) return dropAll();
      }
      for (const m of members) m.accepted.resolve(true);
    });
  }

  private async writeRound(
    epoch: number,
    members: Pending[],
    prepared: PreparedRound,
    records: number,
  ): Promise<void> {
    try {
      if (epoch !== this.epoch) return;
      await prepared.write();
      // A rejoin meanwhile: the partitions resume from their committed offsets
      // (maybe elsewhere); this member may no longer commit them.
      if (epoch !== this.epoch) return;
      // Only now is everything the round produced durable: commit past it.
      await this.consumer.commitOffsets(
        members.map(({ batch }) => ({
          topic: batch.topic,
          partition: batch.partition,
          offset: (BigInt(batch.lastOffset) + 1n).toString(),
        })),
      );
      for (const { batch } of members)
        this.uncommitted.get(tpKey(batch.topic, batch.partition))?.from.shift();
      this.lastAliveAt = Date.now();
    } catch (error) {
      this.fail(epoch, error);
    } finally {
      this.release(records);
    }
  }

  /** A write or commit failed: drop what follows it and deliver everything uncommitted again. */
  private fail(epoch: number, error: unknown): void {
    if (epoch !== this.epoch) return; // a rejoin already started over
    this.epoch++;
    if (!this.stopping)
      this.o.logger.warn({ event: 'round_failed', err: error }, 'round failed; it will be delivered again');
    this.handler.onCrash(error as Error, true);
    for (const { topic, partition, from } of this.uncommitted.values()) {
      const offset = from[0];
      if (offset === undefined) continue;
      try {
        this.consumer.seek({ topic, partition, offset });
      } catch (err) {
        this.o.logger.warn({ event: 'seek_failed', topic, partition, err }, 'could not seek back');
      }
    }
    this.uncommitted.clear();
  }
}
