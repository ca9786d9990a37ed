// A 400-day history delivered in many ways (topic by topic in any order, in
// time order, with a slice arriving 200 days late), with and without ingest
// crashes and rebalances during the load, and every chart endpoint compared
// with the independent reference over the same SET of events (SPEC 3,
// "History and lateness": the answer may not depend on how the events came).
import type { EventKind, InputEvent } from '@optout/events';
import { expect } from 'vitest';
import { apiKeysJson, KEYS, startServer } from '../query/harness.ts';
import { generateEvents, shuffle } from '../support/generate.ts';
import { createTestPipeline, type TestPipeline } from '../support/pipeline.ts';
import * as reference from '../support/reference.ts';
import { rollupAlongside, settleRollup } from '../support/rollup.ts';
import { waitFor } from '../support/wait.ts';

const DAY = 86_400_000;
/** One clock for the reference, the query server and the generated history. */
export const NOW = Date.now();
export const APP = 'hist-1';

export const HISTORY: readonly InputEvent[] = generateEvents({
  seed: 400,
  now: NOW,
  apps: 2,
  appPrefix: 'hist',
  users: 40,
  days: 400,
  campaigns: 6,
  density: 0.2,
  consentHistories: 4,
});

export type Phase = readonly InputEvent[];

/** Four topic orders of a topic-by-topic backfill: each topic first once, each last once. */
export const TOPIC_ORDERS: EventKind[][] = [
  ['consentChange', 'pushSent', 'campaignInteraction', 'appEvent'],
  ['pushSent', 'appEvent', 'campaignInteraction', 'consentChange'],
  ['appEvent', 'consentChange', 'pushSent', 'campaignInteraction'],
  ['campaignInteraction', 'pushSent', 'consentChange', 'appEvent'],
];

/** Topic by topic in `order`, each topic's events shuffled: a backfill. */
export function topicByTopic(order: readonly EventKind[], seed: number): Phase[] {
  return order.map((kind, i) =>
    shuffle(
      HISTORY.filter((e) => e.kind === kind),
      seed + i,
    ),
  );
}

/** Everything in event-time order, in four consecutive chunks: a live stream. */
export function inTimeOrder(): Phase[] {
  const sorted = [...HISTORY];
  return [0, 1, 2, 3].map((i) =>
    sorted.slice(Math.floor((i * sorted.length) / 4), Math.floor(((i + 1) * sorted.length) / 4)),
  );
}

/**
 * All but a fifth of the events 170..230 days old, shuffled; then, once the
 * rest has settled, the withheld ones: events arriving about 200 days late.
 */
export function withLateSlice(seed: number): { early: Phase[]; late: Phase } {
  const lateOnes = new Set<InputEvent>();
  const all = shuffle(HISTORY, seed);
  all.forEach((e, i) => {
    const age = NOW - e.event.occurred_at;
    if (age >= 170 * DAY && age <= 230 * DAY && i % 5 === 0) lateOnes.add(e);
  });
  const early = all.filter((e) => !lateOnes.has(e));
  const half = Math.floor(early.length / 2);
  return { early: [early.slice(0, half), early.slice(half)], late: [...lateOnes] };
}

async function rawRows(p: TestPipeline): Promise<number> {
  const result = await p.clickhouse.query({
    query: `SELECT (SELECT count() FROM raw_push) + (SELECT count() FROM raw_interaction)
                 + (SELECT count() FROM raw_app_event) + (SELECT count() FROM raw_consent) AS n`,
    format: 'JSONEachRow',
  });
  return Number((await result.json<{ n: string }>())[0]?.n ?? 0);
}

export interface Delivery {
  /** Produced in order; with faults, the crash and the rebalances fall between them. */
  phases: Phase[];
  /** Produced after everything before has been ingested. */
  afterSettled?: Phase;
  faults: boolean;
}

/**
 * Loads the delivery into a fresh pipeline. With faults: an ingest process is
 * killed (-9) once it has written something, a new instance takes over, a
 * second one joins (rebalance) and the first leaves (rebalance again), all
 * while phases are still being produced.
 */
export async function load(delivery: Delivery): Promise<TestPipeline> {
  const p = await createTestPipeline({ partitions: 3, prefix: 'hist' });
  const { phases } = delivery;
  // The exposure rollup sweeps while the events arrive (one step per pass: 400 days a step),
  // sweeping again once marks stop coming for 2 s, as it would in production after 30 s.
  const rollup = rollupAlongside(p.clickhouse, { chunkDays: 400, quietMs: 2000, maxDelayMs: 20_000 });
  if (!delivery.faults) {
    await p.startIngest();
    for (const phase of phases) await p.produce(phase);
  } else {
    const victim = p.spawnIngest();
    await p.produce(phases[0] ?? []);
    await waitFor(async () => (await rawRows(p)) > 0, 'the first ingest process to write something', 60_000);
    await p.produce(phases[1] ?? []);
    victim.kill('SIGKILL');
    await new Promise((resolve) => victim.once('exit', resolve));
    const first = await p.startIngest();
    await p.produce(phases[2] ?? []);
    await p.startIngest(); // joins: the partitions are dealt again
    for (const phase of phases.slice(3)) await p.produce(phase);
    await first.stop(); // leaves: the second instance takes everything
  }
  await p.waitForCaughtUp(240_000);
  if (delivery.afterSettled) {
    await p.produce(delivery.afterSettled);
    await p.waitForCaughtUp(240_000);
  }
  await rollup.stop();
  return p;
}

interface Query {
  endpoint: 'trend' | 'push-pressure' | 'campaigns' | 'events' | 'export' | 'exposure' | 'winback';
  params: Record<string, string>;
}

const RANGES = [
  { period: 'last_year' },
  {
    period: 'custom',
    from: new Date(NOW - 330 * DAY).toISOString().slice(0, 10),
    to: new Date(NOW - 300 * DAY).toISOString().slice(0, 10),
  },
  { period: 'last_week' },
] as const;
const ZONES = ['UTC', 'America/New_York', 'Asia/Kolkata'];

function queries(): Query[] {
  const out: Query[] = [];
  for (const range of RANGES)
    for (const tz of ZONES) {
      const base: Record<string, string> = { ...range, tz, channel: 'PUSH' };
      out.push(
        { endpoint: 'trend', params: { ...base, group_by: 'source' } },
        { endpoint: 'push-pressure', params: { ...base, window_days: '7' } },
        { endpoint: 'push-pressure', params: { ...base, window_days: '30', max_bucket: '20' } },
        { endpoint: 'campaigns', params: { ...base, lookback_days: '30' } },
        { endpoint: 'campaigns', params: { ...base, lookback_days: '3' } },
        { endpoint: 'events', params: { ...base, lookback_days: '30', count: 'total' } },
        { endpoint: 'events', params: { ...base, lookback_days: '7', count: 'unique' } },
        { endpoint: 'export', params: { ...base, format: 'ndjson' } },
        { endpoint: 'export', params: { ...base, format: 'csv' } },
        { endpoint: 'exposure', params: { ...base, window_days: '7' } },
        { endpoint: 'winback', params: base },
      );
    }
  out.push({ endpoint: 'push-pressure', params: { period: 'last_year', tz: 'UTC', channel: 'EMAIL' } });
  out.push({
    endpoint: 'events',
    params: { period: 'last_year', tz: 'UTC', channel: 'EMAIL', count: 'total' },
  });
  return out;
}

const expected = new Map<string, unknown>();

/** The reference's body for a query (computed once, shared by every delivery). */
function referenceBody({ endpoint, params }: Query): unknown {
  const key = `${endpoint}?${new URLSearchParams(params)}`;
  if (expected.has(key)) return expected.get(key);
  const range = reference.resolveRange(
    { period: params.period as 'custom', from: params.from, to: params.to, tz: params.tz },
    NOW,
  );
  const base = { appId: APP, channel: params.channel as 'PUSH', range };
  const n = (name: string) => Number(params[name]);
  let body: unknown;
  switch (endpoint) {
    case 'trend':
      body = reference.trend(HISTORY, { ...base, groupBy: 'source' }, NOW);
      break;
    case 'push-pressure':
      body = reference.pushPressure(
        HISTORY,
        { ...base, windowDays: n('window_days') || 7, maxBucket: n('max_bucket') || 10 },
        NOW,
      );
      break;
    case 'campaigns':
      body = reference.campaigns(HISTORY, { ...base, lookbackDays: n('lookback_days') || 7, limit: 20 }, NOW);
      break;
    case 'events':
      body = reference.lastEvents(
        HISTORY,
        { ...base, lookbackDays: n('lookback_days') || 7, count: params.count as 'total', limit: 20 },
        NOW,
      );
      break;
    case 'export': {
      const rows = reference.exportRows(HISTORY, base, NOW);
      body = params.format === 'csv' ? reference.exportCsv(rows) : rows;
      break;
    }
    case 'exposure':
      body = reference.exposure(HISTORY, { ...base, windowDays: n('window_days') || 7 }, NOW);
      break;
    case 'winback':
      body = reference.winback(HISTORY, base, NOW);
      break;
  }
  expected.set(key, body);
  return body;
}

/**
 * Every query's body from the API, compared with the reference; fails listing
 * what differs. Then the exposure queries again once the rollup has swept
 * everything: first its days came partly from the raw events (rows the load
 * made stale), now all from its rows.
 */
export async function expectAllEndpointsExact(p: TestPipeline): Promise<void> {
  await compareWithReference(p, queries(), 100);
  await settleRollup(p.clickhouse, { chunkDays: 400 });
  await compareWithReference(
    p,
    queries().filter((q) => q.endpoint === 'exposure'),
    8,
  );
}

/** A response body as the reference writes it: CSV as text, NDJSON as its rows, the rest as JSON. */
function bodyOf(query: Query, text: string): unknown {
  if (query.endpoint !== 'export') return JSON.parse(text);
  if (query.params.format === 'csv') return text;
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

async function compareWithReference(p: TestPipeline, list: Query[], atLeast: number): Promise<void> {
  // In this process, beside the brute-force reference: startServer turns the
  // event-loop overload guard off, which would shed requests (503) here.
  const server = await startServer(
    p.database,
    { TOPIC_CONTROL: p.controlTopic, API_KEYS: apiKeysJson(APP) },
    { now: () => new Date(NOW) },
  );
  try {
    const differing: string[] = [];
    let compared = 0;
    for (const query of list) {
      const url = `/v1/apps/${APP}/optouts/${query.endpoint}?${new URLSearchParams(query.params)}`;
      const response = await server.get(url, KEYS.reader);
      const text = await response.text();
      expect(response.status, text).toBe(200);
      const body = bodyOf(query, text);
      compared++;
      try {
        expect(body).toEqual(referenceBody(query));
      } catch (error) {
        differing.push(`${url}: ${(error as Error).message.split('\n').slice(0, 12).join('\n')}`);
      }
    }
    expect(compared).toBeGreaterThan(atLeast);
    expect(differing, differing.join('\n\n')).toEqual([]);
  } finally {
    await server.close();
  }
}

/** The history is worth checking: opt-outs in every range the comparison looks at. */
export function expectInterestingHistory(): void {
  const outs = reference.transitions(HISTORY).filter((t) => t.kind === 'OPT_OUT' && t.app_id === APP);
  const within = (fromDays: number, toDays: number) =>
    outs.filter((t) => t.occurred_at_ms >= NOW - fromDays * DAY && t.occurred_at_ms < NOW - toDays * DAY)
      .length;
  expect(within(400, 0)).toBeGreaterThan(100);
  expect(within(331, 299)).toBeGreaterThan(5);
  expect(within(8, 0)).toBeGreaterThan(0);
}
