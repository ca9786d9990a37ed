// Records that cannot poison the pipeline (issue 9): every dead-letter reason
// not covered by dead-letters.integration.test.ts, a burst of refused records
// far bigger than one produce request may carry, a refused record that does
// not fit the dead-letter topic as it is, and control messages ingest cannot
// carry out. Each ends on the dead-letter topic with its reason, is counted, and
// the valid records around them are processed: the consumer never stops.
import { createKafka, DLQ_HEADERS, startTopicReader } from '@optout/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStack } from '../support/env.ts';
import { createTestPipeline, type TestPipeline } from '../support/pipeline.ts';

interface Letter {
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

async function readLetters(topic: string, count: number, timeoutMs = 60_000): Promise<Letter[]> {
  const seen = new Map<string, Letter>();
  let reader: { stop(): Promise<void> } | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`only ${seen.size}/${count} letters on ${topic}`)),
        timeoutMs,
      );
      startTopicReader(createKafka({ brokers: testStack().brokers, clientId: 'dlq-reader' }), {
        topics: [topic],
        maxBytesPerPartition: 4 * 1024 * 1024,
        onBatch: (batch) => {
          for (const record of batch.records) {
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(record.headers)) headers[k] = String(v);
            // Counted by source position: a redelivered letter is the same letter.
            seen.set(`${batch.partition}:${headers[DLQ_HEADERS.topic]}:${headers[DLQ_HEADERS.offset]}`, {
              key: record.key?.toString() ?? null,
              value: record.value,
              headers,
            });
          }
          if (seen.size >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      }).then((r) => {
        reader = r;
      }, reject);
    });
  } finally {
    await reader?.stop();
  }
  return [...seen.values()];
}

const T = Date.now() - 3_600_000;
const consent = (event_id: string, user_id: string) => ({
  event_id,
  app_id: 'app',
  user_id,
  occurred_at: T,
  channel: 'PUSH' as const,
  status: 'OPTED_OUT' as const,
  source: null,
  external_id: null,
  identifiers: {},
});

async function transitionIds(p: TestPipeline): Promise<string[]> {
  const result = await p.clickhouse.query({
    query: 'SELECT DISTINCT transition_id FROM consent_transitions ORDER BY transition_id',
    format: 'JSONEachRow',
  });
  return (await result.json<{ transition_id: string }>()).map((r) => r.transition_id);
}

describe('records that cannot poison the pipeline', () => {
  let p: TestPipeline;
  beforeAll(async () => {
    p = await createTestPipeline({ partitions: 1 });
    await p.codec.prepareEncode(['consentChange', 'appEvent']);
  });
  afterAll(async () => {
    await p?.cleanup();
  });

  it('dead-letters empty, undecodable, wrong-key, too-large and bad control records, and goes on', async () => {
    const good = await p.codec.encode('consentChange', consent('ok-1', 'u-1'));
    // A valid header (magic byte, a known schema id) in front of bytes that are no Avro record.
    const undecodable = Buffer.concat([
      good.subarray(0, 5),
      Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
    ]);
    const huge = await p.codec.encode('appEvent', {
      event_id: 'huge',
      app_id: 'app',
      user_id: 'u-3',
      occurred_at: T,
      event_name: 'x'.repeat(900 * 1024),
      external_id: null,
    });
    const topic = p.topics.consentChange;
    await p.produceRaw(topic, [
      { key: 'app:u-1', value: null },
      { key: 'app:u-1', value: undecodable },
      { key: 'app:someone-else', value: good },
    ]);
    await p.produceRaw(p.topics.appEvent, [{ key: 'app:u-3', value: huge }]);
    await p.produceRaw(p.controlTopic, [
      { key: 'app:u-1', value: Buffer.from('{"type":"erase_everything"}') },
      // JSON can spell a lone surrogate; neither UTF-8 nor a SQL literal can carry it.
      {
        key: 'app:u-1',
        value: Buffer.from(
          '{"type":"erase_user","job_id":"j-1","app_id":"app","user_id":"\\ud800","requested_at":"2026-01-01T00:00:00Z"}',
        ),
      },
    ]);
    await p.produce([{ kind: 'consentChange', event: consent('ok-2', 'u-2') }]);
    const ingest = await p.startIngest();
    await p.waitForCaughtUp();

    const letters = await readLetters(p.dlqTopic, 6);
    const reasons = letters.map((l) => l.headers[DLQ_HEADERS.reason]).sort();
    expect(reasons).toEqual(['bad_control', 'bad_control', 'empty', 'too_large', 'undecodable', 'wrong_key']);
    const byReason = (reason: string) => letters.filter((l) => l.headers[DLQ_HEADERS.reason] === reason);
    expect(byReason('undecodable')[0]!.value).toEqual(undecodable);
    expect(byReason('wrong_key')[0]!.headers[DLQ_HEADERS.detail]).toMatch(/not "app:u-1"/);
    expect(byReason('too_large')[0]!.headers[DLQ_HEADERS.detail]).toMatch(/65536-byte limit/);
    expect(
      byReason('bad_control')
        .map((l) => l.headers[DLQ_HEADERS.detail])
        .sort(),
    ).toEqual([
      expect.stringMatching(/^type/),
      expect.stringMatching(/^user_id: must not contain a lone surrogate/),
    ]);
    expect(await transitionIds(p)).toEqual(['ok-2']);
    const metrics = await (await fetch(`http://127.0.0.1:${ingest.port}/metrics`)).text();
    for (const reason of ['empty', 'undecodable', 'wrong_key', 'too_large', 'bad_control'])
      expect(metrics).toMatch(
        new RegExp(`optout_ingest_records_dead_lettered_total\\{[^}]*reason="${reason}"`),
      );
    await p.stopIngest();
  });

  it('sends a burst of refused records bigger than any one request, and one that only fits cut', async () => {
    // 24 records of 600 KB: 14 MB of dead letters, far over the broker's 1 MB per request.
    const burst = Array.from({ length: 24 }, (_, i) => ({
      key: 'app:u-9',
      value: Buffer.concat([Buffer.from('garbage-'), Buffer.alloc(600 * 1024, i)]),
    }));
    // Just under the broker's limit as it was produced: with the dlq.* headers it is over.
    const tooBigForTheDlq = { key: 'app:u-9', value: Buffer.alloc(1_048_400, 7) };
    // One record per request: the broker takes at most 1 MB per record batch.
    for (const record of [...burst.slice(0, 12), tooBigForTheDlq, ...burst.slice(12)])
      await p.produceRaw(p.topics.pushSent, [record]);
    await p.produce([{ kind: 'consentChange', event: consent('ok-3', 'u-4') }]);
    await p.startIngest();
    await p.waitForCaughtUp(120_000);
    const letters = (await readLetters(p.dlqTopic, 6 + 25)).filter(
      (l) => l.headers[DLQ_HEADERS.topic] === p.topics.pushSent,
    );
    expect(letters).toHaveLength(25);
    const cut = letters.filter((l) => l.headers[DLQ_HEADERS.truncated] !== undefined);
    expect(cut).toHaveLength(1);
    expect(cut[0]!.headers[DLQ_HEADERS.truncated]).toBe('1048400');
    expect(cut[0]!.headers[DLQ_HEADERS.reason]).toBe('too_large');
    expect(letters.filter((l) => l.value?.length === burst[0]!.value.length)).toHaveLength(24);
    expect(await transitionIds(p)).toEqual(['ok-2', 'ok-3']);
  });
});
