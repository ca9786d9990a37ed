import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { murmur2, partitionForKey } from './partitioner.ts';

describe('partitionForKey', () => {
  // kafkajs's DefaultPartitioner is the Java-compatible murmur2: ours must agree with it.
  const kafkajs = Partitioners.DefaultPartitioner();

  it('agrees with kafkajs for many keys and partition counts', () => {
    const keys = [
      '',
      'a',
      'ab',
      'abc',
      'abcd',
      'app-1:user-1',
      'ünïcødé:🙂',
      ...Array.from({ length: 500 }, (_, i) => `app-${i % 7}:user-${i * 7919}`),
    ];
    for (const n of [1, 2, 3, 4, 8, 12, 64]) {
      const partitionMetadata = Array.from({ length: n }, (_, partitionId) => ({
        partitionId,
        leader: 0,
        partitionErrorCode: 0,
        replicas: [0],
        isr: [0],
      }));
      for (const key of keys) {
        const expected = kafkajs({ topic: 't', partitionMetadata, message: { key, value: null } });
        expect(partitionForKey(key, n), `${key} over ${n}`).toBe(expected);
      }
    }
  });
});

describe("the producer's partitioner", () => {
  // murmur2 values from Apache Kafka's UtilsTest.testMurmur2: the partition of a
  // key must be the one Java producers pick, or co-partitioning breaks.
  const JAVA_MURMUR2: [string, number][] = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['abc', 479470107],
  ];

  it('picks toPositive(murmur2(key)) % partitions, as the Java client does', () => {
    // kafkajs's DefaultPartitioner is what createRecordProducer sends with.
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionMetadata = Array.from({ length: 7 }, (_, partitionId) => ({
      partitionId,
      leader: 0,
      partitionErrorCode: 0,
      replicas: [0],
      isr: [0],
    }));
    for (const [key, hash] of JAVA_MURMUR2) {
      expect(murmur2(Buffer.from(key)), key).toBe(hash);
      const partition = partitioner({ topic: 't', partitionMetadata, message: { key, value: null } });
      expect(partition, key).toBe((hash & 0x7fffffff) % 7);
    }
  });
});
