import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { partitionForKey } from './partitioner.ts';

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
