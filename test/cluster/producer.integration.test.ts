// The project's producer through a leader crash (issue 13): with acks=all,
// replication factor 3 and min.insync.replicas=2, every record whose send
// resolved is in the topic afterwards, while the broker leading the most
// partitions is killed with -9 in the middle of the sends.
//
// kafkajs 2.2.4 failed this in two ways, both fixed in packages/kafka:
// - a send spanning several brokers, retried after the leader's death, skipped
//   every broker that had already answered, including those its partitions
//   had moved to, and resolved without them (tulios/kafkajs#1303). The cluster
//   fault test lost about 4% of its input that way. Fixed by
//   patches/kafkajs@2.2.4.patch (patches/README.md).
// - an idempotent producer handed a failed request's sequence numbers to the
//   next send; when the failed request had in fact been written, the broker
//   dropped the next send as its duplicate. Seen with sends in flight together
//   and after a send that failed for good. Fixed in producer.ts: one send at a
//   time, and a new producer id after a failed send.
import { createAdmin, createKafka, createRecordProducer, ensureTopics, readTopic } from '@optout/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busiestLeader, clusterConnection, clusterTestsEnabled, crashBroker } from '../support/cluster.ts';
import { uniqueName } from '../support/names.ts';
import { waitFor } from '../support/wait.ts';

const PARTITIONS = 12;
/** Records per send: every send spans every partition, so every broker. */
const RECORDS_PER_SEND = 240;
/** Sends in flight at once (as a busy producer has): more of them straddle the crash. */
const SENDERS = 4;

describe.runIf(clusterTestsEnabled)('a producer through a leader crash', () => {
  const kafka = createKafka({
    brokers: clusterConnection().KAFKA_BROKERS.split(','),
    clientId: 'cprod-test',
  });
  const admin = createAdmin(kafka);
  const created: string[] = [];
  beforeAll(() => admin.connect());
  afterAll(async () => {
    await admin.deleteTopics({ topics: created }).catch(() => {});
    await admin.disconnect();
  });

  it.each([{ idempotent: true }, { idempotent: false }])(
    'loses no acknowledged record when the busiest leader is killed -9 mid-send (%o)',
    async ({ idempotent }) => {
      const topic = uniqueName('cprod');
      created.push(topic, `${topic}.dlq`);
      await ensureTopics(admin, {
        coPartitioned: [topic],
        dlq: `${topic}.dlq`,
        partitions: PARTITIONS,
        replicationFactor: 3,
        minInsyncReplicas: 2,
      });
      const producer = createRecordProducer(kafka, { idempotent });
      await producer.connect();

      const acknowledged: string[] = [];
      let sends = 0;
      let failedSends = 0;
      let stop = false;
      // Each sender sends new records until stopped; a send that throws is sent
      // again (its records may then be in the topic twice, never missing).
      const sender = async (s: number) => {
        for (let n = 0; !stop; n++) {
          const values = Array.from({ length: RECORDS_PER_SEND }, (_, i) => `s${s}-n${n}-r${i}`);
          const records = values.map((value, i) => ({ key: `user-${i}`, value }));
          for (;;) {
            try {
              await producer.send(topic, records);
              break;
            } catch {
              failedSends++;
              await new Promise((r) => setTimeout(r, 200));
            }
          }
          sends++;
          acknowledged.push(...values);
        }
      };
      const senders = Array.from({ length: SENDERS }, (_, s) => sender(s));

      await waitFor(async () => sends >= 20, 'the first sends', 60_000);
      const leader = await busiestLeader(admin, [topic]);
      await crashBroker(leader, async () => {
        const before = sends;
        // Long enough for the controllers to fence the broker and move its leaders.
        await waitFor(async () => sends >= before + 40, `sends to go on with broker ${leader} down`, 120_000);
      });
      const afterRestart = sends;
      await waitFor(async () => sends >= afterRestart + 10, 'sends after the restart', 60_000);
      stop = true;
      await Promise.all(senders);
      await producer.disconnect();

      const offsets = await admin.fetchTopicOffsets(topic);
      const inTopic = offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
      const read = new Set(
        (await readTopic(kafka, topic, inTopic, { timeoutMs: 120_000 })).map((r) => String(r.value)),
      );
      const missing = acknowledged.filter((v) => !read.has(v));
      expect(
        { acknowledged: acknowledged.length, missing: missing.length, firstMissing: missing.slice(0, 5) },
        `${failedSends} sends failed and were sent again`,
      ).toEqual({ acknowledged: acknowledged.length, missing: 0, firstMissing: [] });
    },
    420_000,
  );
});
