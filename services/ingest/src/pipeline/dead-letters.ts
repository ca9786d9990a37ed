// The one place where refused records become dead letters: sent (in requests
// that fit the broker, retried until acknowledged), counted and logged. A round
// sends its dead letters before its offsets are committed, so a crash can send
// one twice (the dlq.source.* headers identify it) but never loses one.
import { type DeadLetter, deadLetterMessage, type RecordProducer, sendDeadLetters } from '@optout/kafka';
import type { Logger } from '@optout/observability';
import type { IngestMetrics } from '../metrics.ts';

/** A record a round refused, with why: it goes to the dead-letter topic as it came. */
export type RefusedRecord = DeadLetter;

export class DeadLetters {
  constructor(
    private readonly o: {
      producer: RecordProducer;
      topic: string;
      metrics: IngestMetrics;
      logger: Logger;
      stopping: () => boolean;
    },
  ) {}

  /** Sends a round's refused records; `heartbeat` runs between retries. */
  async send(letters: readonly RefusedRecord[], heartbeat: () => Promise<void>): Promise<void> {
    if (letters.length === 0) return;
    const { metrics, logger } = this.o;
    await sendDeadLetters(
      letters.map((l) => deadLetterMessage(l)),
      {
        producer: this.o.producer,
        topic: this.o.topic,
        stopping: this.o.stopping,
        onRetry: heartbeat,
        onFailure: (err, attempt) => {
          metrics.deadLetterRetries.inc();
          logger.warn(
            { event: 'dead_letter_send_failed', attempt, err },
            'dead-letter send failed; retrying',
          );
        },
      },
    );
    for (const l of letters) {
      metrics.deadLettered.inc({ topic: l.topic, reason: l.reason });
      logger.warn(
        {
          event: 'record_dead_lettered',
          topic: l.topic,
          partition: l.partition,
          offset: l.offset,
          reason: l.reason,
          detail: l.detail.slice(0, 300),
        },
        'record sent to the dead-letter topic',
      );
    }
  }
}
