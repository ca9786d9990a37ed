// Faults: ClickHouse lost for a while under load (ingest pauses, retries with
// backoff, resumes, and the results are exact), and SIGTERM (the process stops
// within its shutdown deadline, exit 0, and a restart loses and doubles nothing).
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { generateEvents, shuffle } from '../support/generate.ts';
import { createTestPipeline, type TestPipeline } from '../support/pipeline.ts';
import { optOutFacts, transitions } from '../support/reference.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';
import { waitFor } from '../support/wait.ts';
import { readOptOutFacts, readTransitions } from './facts.ts';

const now = Date.now();
const halves = <T>(items: T[]) =>
  [items.slice(0, items.length >> 1), items.slice(items.length >> 1)] as const;

async function metricSum(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+(?:\\.\\d+)?)`, 'gm'))].reduce(
    (s, m) => s + Number(m[1]),
    0,
  );
}

describe('faults', () => {
  let p: TestPipeline | undefined;
  afterEach(async () => {
    await p?.cleanup();
    p = undefined;
  });

  it('ClickHouse unreachable under load: ingest pauses, retries, resumes, and the facts are exact', async () => {
    const events = generateEvents({ seed: 21, now });
    p = await createTestPipeline({ partitions: 3 });
    const target = new URL(p.env.CLICKHOUSE_URL!);
    const proxy = await startTcpProxy(target.hostname, Number(target.port));
    try {
      const [first, second] = halves(shuffle(events, 4));
      const ingest = await p.startIngest({ CLICKHOUSE_URL: `http://127.0.0.1:${proxy.port}` });
      await p.produce(first);
      await p.waitForCaughtUp();
      proxy.cut();
      await p.produce(second);
      const port = ingest.port;
      await waitFor(
        async () => (await metricSum(port, 'optout_clickhouse_retries_total')) >= 3,
        'insert retries',
      );
      // Still alive while it waits (the loop retries; it has not crashed).
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      // The stuck round is in flight, within the cap of two.
      const rounds = await metricSum(port, 'optout_ingest_rounds_in_flight');
      expect(rounds).toBeGreaterThanOrEqual(1);
      expect(rounds).toBeLessThanOrEqual(2);
      expect(await metricSum(port, 'optout_ingest_records_in_flight')).toBeGreaterThan(0);
      proxy.restore();
      await p.waitForCaughtUp(120_000);
      // Everything committed: nothing is left in flight.
      await waitFor(
        async () =>
          (await metricSum(port, 'optout_ingest_rounds_in_flight')) === 0 &&
          (await metricSum(port, 'optout_ingest_records_in_flight')) === 0,
        'no round in flight',
      );
      expect(await readTransitions(p.clickhouse)).toEqual(transitions(events));
      expect(await readOptOutFacts(p.clickhouse)).toEqual(optOutFacts(events));
    } finally {
      await proxy.close();
    }
  });

  it('SIGTERM: stops within the deadline with exit 0; a restart loses and doubles nothing', async () => {
    const events = generateEvents({ seed: 22, now });
    p = await createTestPipeline({ partitions: 3 });
    const [first, second] = halves(shuffle(events, 6));
    await p.produce(first);
    const child = p.spawnIngest({ SHUTDOWN_TIMEOUT_MS: '20000' });
    const pipeline = p;
    await waitFor(async () => {
      const r = await pipeline.clickhouse.query({
        query: 'SELECT count() AS n FROM raw_app_event',
        format: 'JSONEachRow',
      });
      return Number((await r.json<{ n: string }>())[0]?.n) > 0;
    }, 'the ingest process to write');
    await p.produce(second);
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    await p.startIngest();
    await p.waitForCaughtUp();
    expect(await readTransitions(p.clickhouse)).toEqual(transitions(events));
    expect(await readOptOutFacts(p.clickhouse)).toEqual(optOutFacts(events));
  });

  it('/readyz says 503 as soon as shutdown starts, while the round in hand still finishes', async () => {
    const events = generateEvents({ seed: 23, now });
    p = await createTestPipeline({ partitions: 2 });
    const target = new URL(p.env.CLICKHOUSE_URL!);
    const proxy = await startTcpProxy(target.hostname, Number(target.port));
    try {
      const ingest = await p.startIngest({ CLICKHOUSE_URL: `http://127.0.0.1:${proxy.port}` });
      const ready = async () => (await fetch(`http://127.0.0.1:${ingest.port}/readyz`)).status;
      const pipeline = p;
      await waitFor(async () => (await ready()) === 200, 'ingest to be ready');
      // A round stuck on ClickHouse: the shutdown has something in hand to finish.
      proxy.hold();
      await p.produce(events);
      await waitFor(
        async () => (await metricSum(ingest.port, 'optout_ingest_restoring_partitions')) > 0,
        'a round in hand',
      );
      const stopping = ingest.stop();
      const response = await fetch(`http://127.0.0.1:${ingest.port}/readyz`);
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ status: 'not_ready', stopping: true });
      proxy.release();
      await stopping;
      // Whatever it did not finish comes again to the next instance: exact.
      await pipeline.startIngest();
      await pipeline.waitForCaughtUp();
      expect(await readTransitions(pipeline.clickhouse)).toEqual(transitions(events));
    } finally {
      proxy.release();
      await proxy.close();
    }
  });
});
