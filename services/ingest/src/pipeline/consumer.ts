// The ingest loop: one consumer group over the four input topics and the control
// topic, co-partitioned (partition p of every topic on the same instance). Each
// partition number is a task with its own per-user state, restored from
// ClickHouse when the partition is assigned, and a queue so its batches (from any
// of the five topics) run one at a time.
//
// Per batch, in this order (the order is what makes it effectively once):
//   1. decode, validate, check key and partition; bad records -> dead-letter topic
//   2. apply to state (duplicates by event_id change nothing)
//   3. write the facts that changed (versioned rows) and the latest-known and
//      reach rows the events carry, in parallel          (all idempotent)
//   4. write the batch's raw events                   (idempotent: keyed by event_id)
//   5. commit the batch's offsets
// A crash anywhere redelivers the batch after the last commit. The state is then
// restored from the raw events (step 4), which only ever hold events whose facts
// are written (step 3), and the redelivered records that are already in it are
// duplicates. So nothing is lost and nothing counts twice.
import type { ClickHouseClient } from '@optout/clickhouse';
import type { EventCodec, EventKind } from '@optout/events';
import { coPartitionedAssigner, type DeadLetter, deadLetterMessage } from '@optout/kafka';
import type { Logger } from '@optout/observability';
import type { Batch, Consumer, Kafka, Producer } from 'kafkajs';
import type { IngestMetrics } from '../metrics.ts';
import { ClickHouseSink, SinkStoppedError } from '../sink/clickhouse-sink.ts';
import { DAY_MS } from '../state/facts.ts';
import type { PartitionState } from '../state/partition-state.ts';
import { restorePartition } from '../state/restore.ts';
import { parseControl } from './control.ts';
import { eraseUserRows, writeJobStatus } from './erasure.ts';
import { processBatch } from './process-batch.ts';

export interface PipelineOptions {
  kafka: Kafka;
  clickhouse: ClickHouseClient;
  codec: EventCodec;
  logger: Logger;
  metrics: IngestMetrics;
  groupId: string;
  topics: Record<EventKind, string>;
  controlTopic: string;
  dlqTopic: string;
  partitionCount: number;
  retentionDays: number;
  maxBytesPerPartition: number;
  sessionTimeoutMs: number;
}

type Heartbeat = () => Promise<void>;

/** One partition number: its state (once restored) and the queue of its batches. */
class PartitionTask {
  private queue: Promise<unknown> = Promise.resolve();
  state: PartitionState | null = null;
  lastPrune = Date.now();

  constructor(readonly partition: number) {}

  run<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work);
    this.queue = next.catch(() => {});
    return next;
  }
}

export class IngestPipeline {
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly sink: ClickHouseSink;
  private readonly tasks = new Map<number, PartitionTask>();
  private readonly kindOf: Map<string, EventKind>;
  private stopping = false;
  private lastVersion = 0;
  /** Last sign of life of the loop (fetch, heartbeat, retry): for /healthz. */
  lastAliveAt = Date.now();
  joined = false;
  crashed: Error | null = null;

  constructor(private readonly o: PipelineOptions) {
    this.kindOf = new Map(Object.entries(o.topics).map(([kind, topic]) => [topic, kind as EventKind]));
    this.consumer = o.kafka.consumer({
      groupId: o.groupId,
      partitionAssigners: [coPartitionedAssigner],
      sessionTimeout: o.sessionTimeoutMs,
      heartbeatInterval: Math.min(3000, Math.floor(o.sessionTimeoutMs / 5)),
      maxBytesPerPartition: o.maxBytesPerPartition,
      // kafkajs caps a whole fetch at 10 MB by default, which splits the batches of
      // 5 topics x N partitions small; fewer, larger batches mean fewer inserts.
      maxBytes: Math.max(10 * 1024 * 1024, o.maxBytesPerPartition * 5 * o.partitionCount),
      maxWaitTimeInMs: 250,
      allowAutoTopicCreation: false,
      readUncommitted: false,
    });
    this.producer = o.kafka.producer({ idempotent: true, allowAutoTopicCreation: false });
    this.sink = new ClickHouseSink({
      client: o.clickhouse,
      logger: o.logger,
      metrics: o.metrics,
      stopping: () => this.stopping,
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
      this.onAssignment(payload.memberAssignment);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      o.logger.error(
        { event: 'consumer_crash', err: payload.error, restart: payload.restart },
        'consumer crashed',
      );
      if (!payload.restart) this.crashed = payload.error;
      // Whatever state was in memory may be ahead of what is durable: rebuild it.
      this.tasks.clear();
    });
    await this.producer.connect();
    await consumer.connect();
    for (const topic of [...Object.values(o.topics), o.controlTopic])
      await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: Math.max(1, o.partitionCount * 2),
      eachBatch: (payload) =>
        this.onBatch(payload.batch, payload.heartbeat, payload.resolveOffset, payload.isRunning),
    });
  }

  /** Stop fetching, let the batches in hand finish (or abandon them uncommitted), disconnect. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.consumer
      .disconnect()
      .catch((err: unknown) => this.o.logger.warn({ err }, 'consumer disconnect failed'));
    await this.producer
      .disconnect()
      .catch((err: unknown) => this.o.logger.warn({ err }, 'producer disconnect failed'));
  }

  stateStats(): { users: number; events: number } {
    let users = 0;
    let events = 0;
    for (const task of this.tasks.values()) {
      if (!task.state) continue;
      users += task.state.users.size;
      events += task.state.eventCount();
    }
    return { users, events };
  }

  /** Partitions no longer ours: forget their state (another instance restores it). */
  private onAssignment(assignment: Record<string, number[]>) {
    const mine = new Set(Object.values(assignment).flat());
    for (const partition of this.tasks.keys()) if (!mine.has(partition)) this.tasks.delete(partition);
    this.o.logger.info(
      { event: 'partitions_assigned', partitions: [...mine].sort((a, b) => a - b) },
      'assignment',
    );
  }

  private nextVersion(): number {
    // Microseconds of wall-clock time, strictly increasing within the process: a
    // rewrite of a fact always carries a higher version than what it replaces.
    this.lastVersion = Math.max(Date.now() * 1000, this.lastVersion + 1);
    return this.lastVersion;
  }

  private horizon(): number {
    return Date.now() - this.o.retentionDays * DAY_MS;
  }

  private task(partition: number): PartitionTask {
    let task = this.tasks.get(partition);
    if (!task) {
      task = new PartitionTask(partition);
      this.tasks.set(partition, task);
    }
    return task;
  }

  private async ensureState(task: PartitionTask, heartbeat: Heartbeat): Promise<PartitionState> {
    if (task.state) return task.state;
    const timer = this.o.metrics.restoreSeconds.startTimer();
    for (let attempt = 0; ; attempt++) {
      try {
        task.state = await restorePartition({
          client: this.o.clickhouse,
          partition: task.partition,
          partitionCount: this.o.partitionCount,
          horizon: this.horizon(),
          heartbeat,
        });
        break;
      } catch (err) {
        if (this.stopping) throw new SinkStoppedError('stopping during restore');
        this.o.logger.warn(
          { event: 'restore_failed', partition: task.partition, attempt, err },
          'restore failed; retrying',
        );
        await heartbeat().catch(() => {});
        await new Promise((r) => setTimeout(r, Math.min(10_000, 200 * 2 ** Math.min(attempt, 6))));
      }
    }
    const seconds = timer();
    this.o.logger.info(
      { event: 'partition_restored', partition: task.partition, users: task.state.users.size, seconds },
      'state restored',
    );
    return task.state;
  }

  private async onBatch(
    batch: Batch,
    heartbeat: Heartbeat,
    resolveOffset: (offset: string) => void,
    isRunning: () => boolean,
  ): Promise<void> {
    if (batch.messages.length === 0) return;
    const task = this.task(batch.partition);
    try {
      await task.run(async () => {
        if (!isRunning() || this.stopping) return;
        const state = await this.ensureState(task, heartbeat);
        const timer = this.o.metrics.batchSeconds.startTimer();
        const kind = this.kindOf.get(batch.topic);
        if (kind) await this.ingestBatch(kind, batch, state, heartbeat);
        else await this.controlBatch(batch, state, heartbeat);
        const last = batch.lastOffset();
        // Only now is everything the batch produced durable: commit past it.
        await this.consumer.commitOffsets([
          { topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() },
        ]);
        resolveOffset(last);
        timer();
        this.o.metrics.batchSize.observe(batch.messages.length);
        this.o.metrics.lag.set(
          { topic: batch.topic, partition: String(batch.partition) },
          Math.max(0, Number(batch.highWatermark) - Number(last) - 1),
        );
        if (Date.now() - task.lastPrune > 60_000) {
          state.prune(this.horizon());
          task.lastPrune = Date.now();
        }
      });
    } catch (err) {
      if (err instanceof SinkStoppedError) return; // uncommitted: redelivered after restart
      // The state may now hold events whose facts or raw rows were not written:
      // drop it, so the redelivered batch is applied to a state restored from what is durable.
      this.tasks.delete(batch.partition);
      throw err;
    }
  }

  private async ingestBatch(kind: EventKind, batch: Batch, state: PartitionState, heartbeat: Heartbeat) {
    const { metrics, codec } = this.o;
    metrics.recordsIn.inc({ topic: batch.topic }, batch.messages.length);
    await codec.prepare(batch.messages.map((m) => m.value));
    const plan = processBatch(
      {
        kind,
        topic: batch.topic,
        partition: batch.partition,
        partitionCount: this.o.partitionCount,
        messages: batch.messages,
      },
      codec,
      state,
    );
    metrics.decoded.inc({ topic: batch.topic }, plan.decoded);
    if (plan.duplicates) metrics.duplicates.inc({ topic: batch.topic }, plan.duplicates);
    if (plan.late) metrics.late.inc({ topic: batch.topic }, plan.late);
    await this.deadLetter(plan.deadLetters);

    const facts = state.collectFacts(plan.touched, this.horizon(), this.nextVersion());
    // Facts and the latest-known / reach rows in parallel: all of them must be
    // durable before the raw events, which are what a restore rebuilds state from
    // (an event found there is never re-applied, so its rows would never be re-sent).
    const before: Array<[string, Record<string, unknown>[]]> = [...Object.entries(facts), ...plan.derived];
    await Promise.all(before.map(([table, rows]) => this.sink.insert(table, rows, heartbeat)));
    for (const [table, rows] of Object.entries(facts))
      if (rows.length) metrics.factsWritten.inc({ table }, rows.length);
    await this.sink.insert(plan.rawTable, plan.rawRows, heartbeat);
  }

  private async controlBatch(batch: Batch, state: PartitionState, heartbeat: Heartbeat) {
    const { logger, metrics, clickhouse } = this.o;
    metrics.recordsIn.inc({ topic: batch.topic }, batch.messages.length);
    const letters: DeadLetter[] = [];
    for (const message of batch.messages) {
      const parsed = parseControl(message.value);
      if (!parsed.ok) {
        letters.push({
          reason: 'bad_control',
          detail: parsed.detail,
          topic: batch.topic,
          partition: batch.partition,
          offset: message.offset,
          key: message.key ?? null,
          value: message.value ?? null,
          headers: message.headers,
        });
        continue;
      }
      metrics.decoded.inc({ topic: batch.topic });
      const job = parsed.message;
      state.erase(job.app_id, job.user_id);
      await writeJobStatus(clickhouse, job, 'pending');
      await eraseUserRows(clickhouse, job);
      await writeJobStatus(clickhouse, job, 'done');
      await heartbeat();
      metrics.erasures.inc();
      logger.info({ event: 'user_erased', job_id: job.job_id, app_id: job.app_id }, 'user erased');
    }
    await this.deadLetter(letters);
  }

  private async deadLetter(letters: DeadLetter[]) {
    if (letters.length === 0) return;
    await this.producer.send({
      topic: this.o.dlqTopic,
      acks: -1,
      messages: letters.map((l) => deadLetterMessage(l)),
    });
    for (const l of letters) {
      this.o.metrics.deadLettered.inc({ topic: l.topic, reason: l.reason });
      this.o.logger.warn(
        {
          event: 'record_dead_lettered',
          topic: l.topic,
          partition: l.partition,
          offset: l.offset,
          reason: l.reason,
          detail: l.detail,
        },
        'record sent to the dead-letter topic',
      );
    }
  }
}
