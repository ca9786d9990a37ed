import { CoPartitioningError, createAdmin, createKafka, ensureTopics } from '@optout/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStack } from '../support/env.ts';
import { uniqueName } from '../support/names.ts';

describe('topic creation', () => {
  const admin = createAdmin(createKafka({ brokers: testStack().brokers, clientId: 'topics-test' }));
  const prefix = uniqueName('topics');
  const names = ['a', 'b', 'c', 'control'].map((n) => `${prefix}.${n}`);
  const dlq = `${prefix}.dlq`;
  beforeAll(() => admin.connect());
  afterAll(async () => {
    await admin.deleteTopics({ topics: [...names, dlq] }).catch(() => {});
    await admin.disconnect();
  });

  it('creates co-partitioned topics, then is a no-op', async () => {
    const first = await ensureTopics(admin, { coPartitioned: names, dlq, partitions: 3 });
    expect(first.created.sort()).toEqual([...names, dlq].sort());
    const second = await ensureTopics(admin, { coPartitioned: names, dlq, partitions: 3 });
    expect(second.created).toEqual([]);
    const metadata = await admin.fetchTopicMetadata({ topics: names });
    expect(metadata.topics.map((t) => t.partitions.length)).toEqual([3, 3, 3, 3]);
  });

  it('refuses to go on when existing topics break co-partitioning', async () => {
    await admin.createPartitions({ topicPartitions: [{ topic: names[1]!, count: 5 }] });
    await expect(ensureTopics(admin, { coPartitioned: names, dlq, partitions: 3 })).rejects.toThrow(
      CoPartitioningError,
    );
    await expect(ensureTopics(admin, { coPartitioned: names, dlq, partitions: 3 })).rejects.toThrow(/=5/);
  });
});
