// Writers that lost their partitions, and restores interrupted by rebalances:
// - a zombie: an ingest process paused (SIGSTOP) past its session timeout while
//   the group moves on without it, then resumed with its rounds in hand; what it
//   writes late must not win over the current owner (recompute/versions.ts);
// - a rebalance while a partition's restore is stuck on a slow ClickHouse: the
//   restore completes, the group settles, and nothing restarts forever.
// In both, the facts end up equal to the reference.
import { afterEach, describe, expect, it } from 'vitest';
import { generateEvents, shuffle, withDuplicates } from '../support/generate.ts';
import { createTestPipeline, type TestPipeline } from '../support/pipeline.ts';
import { optOutFacts, transitions } from '../support/reference.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';
import { waitFor } from '../support/wait.ts';
import { readOptOutFacts, readTransitions } from './facts.ts';

const now = Date.now();
const quarters = <T>(items: readonly T[]) =>
  [0, 1, 2, 3].map((i) =>
    items.slice(Math.floor((i * items.length) / 4), Math.floor(((i + 1) * items.length) / 4)),
  );

async function count(p: TestPipeline, query: string): Promise<number> {
  const result = await p.clickhouse.query({ query, format: 'JSONEachRow' });
  return Number((await result.json<{ n: string }>())[0]?.n ?? 0);
}

async function gauge(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(text)?.[1] ?? 0);
}

async function expectExact(p: TestPipeline, events: Parameters<typeof transitions>[0]) {
  expect(await readTransitions(p.clickhouse)).toEqual(transitions(events));
  expect(await readOptOutFacts(p.clickhouse)).toEqual(optOutFacts(events));
}

describe('fencing and restore under rebalances', () => {
  let p: TestPipeline | undefined;
  afterEach(async () => {
    await p?.cleanup();
    p = undefined;
  });

  it('a zombie resumed after the group moved on cannot overwrite the owner', {
    timeout: 240_000,
  }, async () => {
    const events = generateEvents({ seed: 61, now, users: 60, days: 40 });
    p = await createTestPipeline({ partitions: 2 });
    const parts = quarters(withDuplicates(shuffle(events, 9), 3, 0.1));
    const zombie = p.spawnIngest({ INGEST_SESSION_TIMEOUT_MS: '6000' });
    await p.produce(parts[0]!);
    const pipeline = p;
    await waitFor(
      async () => (await count(pipeline, 'SELECT count() AS n FROM raw_push')) > 0,
      'the first writes',
    );
    // Paused with rounds in hand, mid-load.
    await p.produce(parts[1]!);
    zombie.kill('SIGSTOP');
    try {
      // The owner takes every partition once the zombie's session has expired.
      await p.startIngest({ INGEST_SESSION_TIMEOUT_MS: '6000' });
      await p.produce(parts[2]!);
      await p.waitForCaughtUp(120_000);
      await expectExact(
        p,
        events.filter((e) =>
          [...parts[0]!, ...parts[1]!, ...parts[2]!].some((d) => d.event.event_id === e.event.event_id),
        ),
      );
    } finally {
      // Resumed: it finishes (and writes) what it had in hand, is refused its
      // commits, rejoins, and the two share the partitions from then on.
      zombie.kill('SIGCONT');
    }
    await p.produce(parts[3]!);
    await p.waitForCaughtUp(120_000);
    // Give the zombie's late writes every chance to land before comparing.
    await new Promise((r) => setTimeout(r, 3000));
    await p.waitForCaughtUp(120_000);
    await expectExact(p, events);
  });

  it('a rebalance during a long restore completes, and the numbers are exact', {
    timeout: 240_000,
  }, async () => {
    const events = generateEvents({ seed: 62, now, users: 40, days: 30 });
    p = await createTestPipeline({ partitions: 4 });
    const target = new URL(p.env.CLICKHOUSE_URL!);
    const proxy = await startTcpProxy(target.hostname, Number(target.port));
    try {
      const [first, second] = [events.slice(0, events.length >> 1), events.slice(events.length >> 1)];
      const slow = await p.startIngest({ CLICKHOUSE_URL: `http://127.0.0.1:${proxy.port}` });
      // Every reply to the first instance stalls from now on: its first round
      // is stuck restoring its partitions while the group changes around it.
      proxy.hold();
      await p.produce(shuffle(first, 3));
      await waitFor(
        async () => (await gauge(slow.port, 'optout_ingest_restoring_partitions')) > 0,
        'a restore',
      );
      const joining = p.startIngest(); // its JoinGroup starts a rebalance the stuck member must join
      const pipeline = p;
      await waitFor(async () => {
        const { groups } = await pipeline.admin.describeGroups([pipeline.groupId]);
        return groups[0]?.state === 'PreparingRebalance';
      }, 'the group to start rebalancing');
      proxy.release();
      const other = await joining;
      await p.produce(shuffle(second, 4));
      await p.waitForCaughtUp(120_000);
      expect(other.pipeline.joined).toBe(true);
      await expectExact(p, events);
      // Both instances hold partitions: the stuck one rejoined instead of looping.
      await waitFor(
        async () =>
          (await gauge(slow.port, 'optout_ingest_state_partitions')) > 0 &&
          (await gauge(other.port, 'optout_ingest_state_partitions')) > 0,
        'both instances to hold state',
      );
    } finally {
      proxy.release();
      await proxy.close();
    }
  });
});
