// Records that cannot be used go, unchanged, to the dead-letter topic with headers
// that say why and where they came from; they are counted, and the pipeline goes on.
import { createKafka, DLQ_HEADERS, partitionForKey, readTopic, type TopicRecord } from '@optout/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStack } from '../support/env.ts';
import { createTestPipeline, type TestPipeline } from '../support/pipeline.ts';

const readLetters = (topic: string, count: number) =>
  readTopic(createKafka({ brokers: testStack().brokers, clientId: 'dlq-reader' }), topic, count);

const header = (m: TopicRecord, name: string) => m.headers[name]?.toString();

describe('dead letters', () => {
  let p: TestPipeline;
  beforeAll(async () => {
    p = await createTestPipeline({ partitions: 3 });
  });
  afterAll(async () => {
    await p?.cleanup();
  });

  it('dead-letters garbage, unknown schema ids, invalid records and misplaced records, and keeps going', async () => {
    const t = Date.now() - 3_600_000;
    const valid = {
      event_id: 'ok-1',
      app_id: 'app',
      user_id: 'u-1',
      occurred_at: t,
      channel: 'PUSH' as const,
      status: 'OPTED_OUT' as const,
      source: null,
      external_id: null,
      identifiers: {},
    };
    await p.codec.prepareEncode(['consentChange']);
    const noApp = await p.codec.encode('consentChange', { ...valid, event_id: 'bad-app', app_id: '' });
    const misplaced = await p.codec.encode('consentChange', {
      ...valid,
      event_id: 'misplaced',
      user_id: 'u-2',
    });
    const rightPartition = partitionForKey('app:u-2', p.partitions);
    const wrongPartition = (rightPartition + 1) % p.partitions;
    const garbage = Buffer.from('definitely not avro');
    const unknownId = Buffer.from([0, 0, 0, 0x03, 0xe7, 1, 2, 3]);
    const topic = p.topics.consentChange;
    await p.produceRaw(topic, [
      { key: 'app:u-9', value: garbage },
      { key: 'app:u-9', value: unknownId },
      { key: ':u-1', value: noApp },
    ]);
    await p.produceRaw(topic, [{ key: 'app:u-2', value: misplaced, partition: wrongPartition }]);
    await p.produce([{ kind: 'consentChange', event: valid }]);
    const ingest = await p.startIngest();
    await p.waitForCaughtUp();

    const letters = await readLetters(p.dlqTopic, 4);
    const byReason = new Map(letters.map((m) => [header(m, DLQ_HEADERS.reason), m]));
    expect([...byReason.keys()].sort()).toEqual([
      'bad_magic',
      'invalid',
      'unknown_schema',
      'wrong_partition',
    ]);
    // Unchanged value and key, with where it came from.
    expect(byReason.get('bad_magic')!.value).toEqual(garbage);
    expect(byReason.get('unknown_schema')!.value).toEqual(unknownId);
    expect(header(byReason.get('invalid')!, DLQ_HEADERS.detail)).toMatch(/app_id/);
    const moved = byReason.get('wrong_partition')!;
    expect(moved.key?.toString()).toBe('app:u-2');
    expect(header(moved, DLQ_HEADERS.topic)).toBe(topic);
    expect(header(moved, DLQ_HEADERS.partition)).toBe(String(wrongPartition));
    expect(header(moved, DLQ_HEADERS.offset)).toMatch(/^\d+$/);

    // The valid record behind them was processed.
    const rows = await (
      await p.clickhouse.query({
        query: 'SELECT DISTINCT transition_id FROM consent_transitions',
        format: 'JSONEachRow',
      })
    ).json();
    expect(rows).toEqual([{ transition_id: 'ok-1' }]);

    const metrics = await (await fetch(`http://127.0.0.1:${ingest.port}/metrics`)).text();
    const counted = [...metrics.matchAll(/^optout_ingest_records_dead_lettered_total\{([^}]*)\} (\d+)/gm)];
    expect(counted.reduce((sum, m) => sum + Number(m[2]), 0)).toBe(4);
    expect(metrics).toMatch(
      /optout_ingest_records_dead_lettered_total\{[^}]*reason="wrong_partition"[^}]*\} 1/,
    );
  });
});
