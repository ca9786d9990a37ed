// Erasure requests (SPEC 6): the query service only publishes the request on
// the control topic; services/ingest deletes state and facts and records the
// job's progress in erasure_jobs. The record is keyed <app_id>:<user_id> with
// kafkajs' default (murmur2, Java-compatible) partitioner, so it lands in the
// same partition number as the user's input records and is applied in order.
//
// Only erasure needs Kafka: /readyz does not wait for it, and a request while
// Kafka is unreachable answers 503 within ERASURE_KAFKA_TIMEOUT_MS instead of
// hanging on kafkajs' connection retries.
import { randomUUID } from 'node:crypto';
import { type EraseUserMessage, encodeControl } from '@optout/events';
import { createKafka, createRecordProducer, type KafkaConnection, type RecordProducer } from '@optout/kafka';
import type { Logger } from '@optout/observability';
import { ApiError } from './errors.ts';

export function createControlProducer(connection: KafkaConnection, clientId: string): RecordProducer {
  return createRecordProducer(createKafka({ ...connection, clientId, retries: 3 }), { idempotent: false });
}

/** Runs `work` with a deadline; past it, rejects with `onTimeout()` (the work itself is not stopped). */
async function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Tracks whether the producer is connected (reported by /readyz) and keeps reconnecting in the background. */
export class ControlChannel {
  private connected = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;

  constructor(
    private readonly producer: RecordProducer,
    private readonly topic: string,
    private readonly log: Logger,
    /** Longest wait for a connection plus the broker's acknowledgement of one request. */
    private readonly timeoutMs = 10_000,
  ) {
    producer.onConnectionChange((connected) => {
      this.connected = connected;
      if (!connected) this.scheduleConnect();
    });
  }

  get isConnected(): boolean {
    return this.connected;
  }

  start(): void {
    void this.connect();
  }

  /** One connection attempt at a time: a request waiting for Kafka joins the attempt under way. */
  private connect(): Promise<void> {
    if (this.closed || this.connected) return Promise.resolve();
    this.connecting ??= this.producer
      .connect()
      .then(() => {
        this.connected = true;
      })
      .catch((error: unknown) => {
        this.log.warn({ err: error }, 'kafka_producer_connect_failed');
        this.scheduleConnect();
      })
      .finally(() => {
        this.connecting = undefined;
      });
    return this.connecting;
  }

  private scheduleConnect(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, 5_000);
    this.retryTimer.unref();
  }

  async requestErasure(appId: string, userId: string, now: Date): Promise<EraseUserMessage> {
    const message: EraseUserMessage = {
      type: 'erase_user',
      job_id: randomUUID(),
      app_id: appId,
      user_id: userId,
      requested_at: now.toISOString(),
    };
    const unavailable = () =>
      new ApiError(
        'unavailable',
        'Kafka is unavailable: the erasure request was not recorded; retry later',
      ).retryAfter(5);
    const started = Date.now();
    try {
      // Right after start-up (or an outage) the producer may still be connecting: wait for it, bounded.
      if (!this.connected) await withDeadline(this.connect(), this.timeoutMs, unavailable);
      if (!this.connected) throw unavailable();
      // A send past the deadline may still land later: erasure is idempotent, so a retry is safe.
      await withDeadline(
        this.producer.send(this.topic, [{ key: `${appId}:${userId}`, value: encodeControl(message) }]),
        Math.max(1, this.timeoutMs - (Date.now() - started)),
        unavailable,
      );
    } catch (error) {
      this.log.warn({ err: error, job_id: message.job_id }, 'erasure_request_failed');
      throw error instanceof ApiError ? error : unavailable();
    }
    this.log.info({ job_id: message.job_id, app_id: appId }, 'erasure_requested');
    return message;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    // Bounded: a connection attempt to a broker that never answers would hold it for the request timeout.
    const gaveUp = () => new Error('Kafka producer did not disconnect in time');
    await withDeadline(this.producer.disconnect(), this.timeoutMs, gaveUp).catch(() => undefined);
  }
}
