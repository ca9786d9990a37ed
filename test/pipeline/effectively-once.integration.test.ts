// The facts in ClickHouse equal the independent reference's answers for the same
// SET of events, however they arrive: in order, shuffled, with duplicates, with
// the ingest process killed (-9) mid-stream, and while a second instance joins
// and the first leaves the group.
import type { InputEvent } from '@optout/events';
import { afterEach, describe, expect, it } from 'vitest';
import { generateEvents, shuffle, withDuplicates } from '../support/generate.ts';
import { createTestPipeline, type TestPipeline } from '../support/pipeline.ts';
import { latestKnown, optOutFacts, transitions } from '../support/reference.ts';
import { waitFor } from '../support/wait.ts';
import { readLatestKnown, readOptOutFacts, readTransitions } from './facts.ts';

const now = Date.now();
const chunks = <T>(items: readonly T[], n: number): T[][] =>
  Array.from({ length: n }, (_, i) =>
    items.slice(Math.floor((i * items.length) / n), Math.floor(((i + 1) * items.length) / n)),
  );
const byTime = (events: readonly InputEvent[]) =>
  [...events].sort(
    (a, b) => a.event.occurred_at - b.event.occurred_at || (a.event.event_id < b.event.event_id ? -1 : 1),
  );

async function expectMatchesReference(p: TestPipeline, events: readonly InputEvent[]) {
  const expectedTransitions = transitions(events);
  expect(expectedTransitions.length).toBeGreaterThan(20); // the generated set is worth checking
  expect(await readTransitions(p.clickhouse)).toEqual(expectedTransitions);
  expect(await readOptOutFacts(p.clickhouse)).toEqual(optOutFacts(events));
  const known = latestKnown(events);
  expect(known.external_ids.length).toBeGreaterThan(0);
  expect(await readLatestKnown(p.clickhouse)).toEqual(known);
}

async function progressMade(p: TestPipeline): Promise<boolean> {
  const result = await p.clickhouse.query({
    query: 'SELECT count() AS n FROM raw_push',
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ n: string }>();
  return Number(row?.n ?? 0) > 0;
}

describe('facts equal the reference whatever the arrival', () => {
  let p: TestPipeline | undefined;
  afterEach(async () => {
    await p?.cleanup();
    p = undefined;
  });

  it('in order', async () => {
    const events = generateEvents({ seed: 11, now });
    p = await createTestPipeline({ partitions: 3 });
    await p.produce(byTime(events));
    await p.startIngest();
    await p.waitForCaughtUp();
    await expectMatchesReference(p, events);
  });

  it('shuffled across and within topics, arriving while ingest runs', async () => {
    const events = generateEvents({ seed: 12, now });
    p = await createTestPipeline({ partitions: 3 });
    await p.startIngest();
    for (const chunk of chunks(shuffle(events, 99), 4)) await p.produce(chunk);
    await p.waitForCaughtUp();
    await expectMatchesReference(p, events);
  });

  it('with duplicate deliveries of the same event_id', async () => {
    const events = generateEvents({ seed: 13, now });
    p = await createTestPipeline({ partitions: 2 });
    await p.startIngest();
    const delivered = withDuplicates(shuffle(events, 7), 8, 0.3);
    expect(delivered.length).toBeGreaterThan(events.length);
    for (const chunk of chunks(delivered, 3)) await p.produce(chunk);
    await p.waitForCaughtUp();
    await expectMatchesReference(p, events);
  });

  it('with the ingest process killed (-9) mid-stream and restarted', async () => {
    const events = generateEvents({ seed: 14, now });
    p = await createTestPipeline({ partitions: 3 });
    const parts = chunks(shuffle(events, 5), 3);
    await p.produce(parts[0]!);
    const first = p.spawnIngest();
    const pipeline = p;
    await waitFor(() => progressMade(pipeline), 'the first ingest process to write something');
    await p.produce(parts[1]!);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    await p.produce(parts[2]!);
    // Redelivered and replayed records must neither be lost nor count twice.
    await p.startIngest();
    await p.waitForCaughtUp(120_000);
    await expectMatchesReference(p, events);
  });

  it('while a second instance joins and the first leaves (rebalance)', async () => {
    const events = generateEvents({ seed: 15, now });
    p = await createTestPipeline({ partitions: 4 });
    const parts = chunks(shuffle(events, 3), 3);
    const a = await p.startIngest();
    await p.produce(parts[0]!);
    const b = await p.startIngest();
    await p.produce(parts[1]!);
    await a.stop(); // b takes every partition over and restores their state
    await p.produce(parts[2]!);
    await p.waitForCaughtUp(120_000);
    expect(b.pipeline.joined).toBe(true);
    await expectMatchesReference(p, events);
  });
});
