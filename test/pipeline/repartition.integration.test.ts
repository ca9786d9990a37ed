// The topics gaining partitions under a running ingest (issue 9): the users'
// new records would be routed by the new count and meet other instances'
// state. Ingest stops with an error naming the topics and their counts,
// instead of dead-lettering every moved key as wrong_partition.
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestPipeline, type TestPipeline } from '../support/pipeline.ts';
import { waitFor } from '../support/wait.ts';

describe('repartitioned topics', () => {
  let p: TestPipeline | undefined;
  afterEach(async () => {
    await p?.cleanup();
    p = undefined;
  });

  it('stop ingest with an error that names the topics and the counts', { timeout: 120_000 }, async () => {
    p = await createTestPipeline({ partitions: 2 });
    const child = p.spawnIngest({ PARTITION_CHECK_INTERVAL_MS: '1000' });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const pipeline = p;
    await waitFor(async () => {
      const { groups } = await pipeline.admin.describeGroups([pipeline.groupId]);
      return groups[0]?.state === 'Stable';
    }, 'ingest to join its group');
    const all = [...Object.values(p.topics), p.controlTopic];
    await p.admin.createPartitions({ topicPartitions: all.map((topic) => ({ topic, count: 3 })) });
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(stderr).toMatch(/partition counts changed while ingest ran \(started with 2; now /);
    for (const topic of all) expect(stderr).toContain(`${topic}=3`);
    expect(stderr).toContain('docs/operations.md');
  });
});
