// Erasure requests (SPEC 6): the query service only publishes the request on
// the control topic; services/ingest deletes state and facts and records the
// job's progress in erasure_jobs. The record is keyed <app_id>:<user_id> with
// kafkajs' default (murmur2, Java-compatible) partitioner, so it lands in the
// same partition number as the user's input records and is applied in order.
import { randomUUID } from 'node:crypto';
import type { Logger } from '@optout/observability';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { ApiError } from './errors.ts';

export interface EraseUserMessage {
  type: 'erase_user';
  job_id: string;
  app_id: string;
  user_id: string;
  requested_at: string;
}

export function createControlProducer(brokers: string[], clientId: string): Producer {
  const kafka = new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING, retry: { retries: 3 } });
  return kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
}

/** Tracks whether the producer is connected (for /readyz) and keeps reconnecting in the background. */
export class ControlChannel {
  private connected = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly log: Logger,
  ) {
    producer.on(producer.events.CONNECT, () => {
      this.connected = true;
    });
    producer.on(producer.events.DISCONNECT, () => {
      this.connected = false;
      this.scheduleConnect();
    });
  }

  get isConnected(): boolean {
    return this.connected;
  }

  start(): void {
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.closed || this.connected) return;
    try {
      await this.producer.connect();
    } catch (error) {
      this.log.warn({ err: error }, 'kafka_producer_connect_failed');
      this.scheduleConnect();
    }
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
    if (!this.connected) throw new ApiError('unavailable', 'Kafka is unavailable; retry later');
    try {
      await this.producer.send({
        topic: this.topic,
        acks: -1,
        messages: [{ key: `${appId}:${userId}`, value: JSON.stringify(message) }],
      });
    } catch (error) {
      this.log.warn({ err: error, job_id: message.job_id }, 'erasure_request_failed');
      throw new ApiError('unavailable', 'could not record the erasure request; retry later');
    }
    this.log.info({ job_id: message.job_id, app_id: appId }, 'erasure_requested');
    return message;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.producer.disconnect().catch(() => undefined);
  }
}
