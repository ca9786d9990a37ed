// The idempotent producer after a send that failed although the broker had
// written it (the leader died after the append, a timeout): the next send, with
// other records, must not be dropped by the broker as that send's duplicate.
//
// kafkajs takes a failed request's sequence numbers back and gives them to the
// next send; the broker then sees the same producer id and sequence range as
// the written batch and answers success without writing. The cluster producer
// test lost a whole send that way after a leader crash. Here the failure is
// made on purpose against the single-node stack: a socket that lets Produce
// requests reach the broker and then breaks the connection before the answer.
import net from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStack } from '../../../test/support/env.ts';
import { uniqueName } from '../../../test/support/names.ts';
import { createAdmin } from './admin.ts';
import type { KafkaClient } from './client.ts';
import { createRecordProducer } from './producer.ts';
import { readTopic } from './topic-reader.ts';
import { ensureTopics } from './topics.ts';

const PRODUCE_API_KEY = 0;
/** Long enough for the broker to have appended a request on loopback. */
const WRITTEN_AFTER_MS = 500;

describe('an idempotent producer after a failed send', () => {
  /** While true, every Produce request is written and then its connection broken. */
  let breakProduce = false;
  const kafkajs = new Kafka({
    clientId: 'producer-ambiguous-failure',
    brokers: testStack().brokers,
    logLevel: logLevel.NOTHING,
    // Idempotent producers need at least one retry; both attempts break.
    retry: { retries: 1, initialRetryTime: 50 },
    socketFactory: ({ host, port, onConnect }) => {
      const socket = net.connect({ host, port }, onConnect);
      const write = socket.write.bind(socket) as (chunk: Buffer, encoding: BufferEncoding) => boolean;
      socket.write = ((chunk: Buffer, encoding: BufferEncoding) => {
        const result = write(chunk, encoding);
        if (breakProduce && Buffer.isBuffer(chunk) && chunk.readInt16BE(4) === PRODUCE_API_KEY) {
          socket.pause(); // the answer never reaches kafkajs
          setTimeout(() => socket.destroy(new Error('connection broken by the test')), WRITTEN_AFTER_MS);
        }
        return result;
      }) as typeof socket.write;
      return socket;
    },
  });
  const kafka = kafkajs as unknown as KafkaClient;
  const admin = createAdmin(kafka);
  const topic = uniqueName('producer_ambiguous');

  beforeAll(async () => {
    await admin.connect();
    await ensureTopics(admin, { coPartitioned: [topic], dlq: `${topic}.dlq`, partitions: 1 });
  });
  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => {});
    await admin.disconnect();
  });

  it('loses none of the next send, whose records are as many as the failed one', async () => {
    const producer = createRecordProducer(kafka, { idempotent: true });
    await producer.connect();
    const records = (send: string) =>
      Array.from({ length: 10 }, (_, i) => ({ key: 'k', value: `${send}-${i}` }));
    await producer.send(topic, records('before'));

    breakProduce = true;
    await expect(producer.send(topic, records('failed'))).rejects.toThrow();
    breakProduce = false;
    await producer.send(topic, records('after'));
    await producer.disconnect();

    const [offsets] = await admin.fetchTopicOffsets(topic);
    const inTopic = Number(offsets?.high) - Number(offsets?.low);
    const values = (await readTopic(kafka, topic, inTopic)).map((r) => String(r.value));
    // The failed send was written, once (its retry was de-duplicated): the
    // failure was the ambiguous kind. The next send is there too.
    expect(values.filter((v) => v.startsWith('failed')).length).toBe(10);
    expect(values.filter((v) => v.startsWith('after'))).toEqual(records('after').map((r) => r.value));
  });
});
