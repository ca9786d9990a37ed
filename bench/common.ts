// Shared pieces of the benchmark sections: the stack connection, fresh unique
// topics and databases (dropped afterwards), the ingest service as a child
// process, Prometheus text parsing and "all committed" detection.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { EventKind } from '@optout/events';
import { createAdmin, createKafka, ensureTopics, type KafkaAdmin } from '@optout/kafka';
import type { StackConnection } from '../infra/local/stack.ts';
import {
  freePort,
  REPO_ROOT,
  type ServiceProcess,
  scriptAvailable,
  startService,
  waitForHttp,
} from '../services/simulator/src/processes.ts';

export type Scale = 'small' | 'full';

export type Connection = StackConnection;

export interface Figure {
  name: string;
  value: number | null;
  unit: string;
  /** What was measured, on how much data, how many runs. */
  measured: string;
}

export interface SectionResult {
  section: string;
  status: 'ok' | 'not available' | 'failed';
  reason?: string;
  figures: Figure[];
  details?: Record<string, unknown>;
}

export class NotAvailable extends Error {
  override name = 'NotAvailable';
}

export function requireScript(script: string, what: string): void {
  if (!scriptAvailable(script))
    throw new NotAvailable(`${what} is not available yet (npm run ${script}: entry file missing)`);
}

export function uniquePrefix(label: string): string {
  return `bench_${label}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export interface BenchTopics {
  inputs: Record<EventKind, string>;
  control: string;
  dlq: string;
  all: string[];
}

export function topicsFor(prefix: string): BenchTopics {
  const inputs = {
    pushSent: `${prefix}-push-sent`,
    campaignInteraction: `${prefix}-campaign-interaction`,
    appEvent: `${prefix}-app-event`,
    consentChange: `${prefix}-consent-change`,
  };
  const control = `${prefix}-control`;
  const dlq = `${prefix}-dlq`;
  return { inputs, control, dlq, all: [...Object.values(inputs), control, dlq] };
}

export function topicEnv(t: BenchTopics): Record<string, string> {
  return {
    TOPIC_PUSH_SENT: t.inputs.pushSent,
    TOPIC_CAMPAIGN_INTERACTION: t.inputs.campaignInteraction,
    TOPIC_APP_EVENT: t.inputs.appEvent,
    TOPIC_CONSENT_CHANGE: t.inputs.consentChange,
    TOPIC_CONTROL: t.control,
    TOPIC_DLQ: t.dlq,
  };
}

export async function withAdmin<T>(conn: Connection, fn: (admin: KafkaAdmin) => Promise<T>): Promise<T> {
  const admin = createAdmin(
    createKafka({ brokers: conn.KAFKA_BROKERS.split(','), clientId: 'optout-bench-admin' }),
  );
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

export async function createTopics(conn: Connection, t: BenchTopics, partitions: number): Promise<void> {
  await withAdmin(conn, async (admin) => {
    await ensureTopics(admin, {
      coPartitioned: [...Object.values(t.inputs), t.control],
      dlq: t.dlq,
      partitions,
    });
  });
}

export async function dropTopics(conn: Connection, t: BenchTopics, groups: string[] = []): Promise<void> {
  await withAdmin(conn, async (admin) => {
    const existing = new Set(await admin.listTopics());
    const topics = t.all.filter((name) => existing.has(name));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 }).catch(() => {});
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => {});
  });
}

/** Runs one statement on ClickHouse over HTTP as the writer; returns the response text. */
export async function clickhouse(conn: Connection, sql: string, timeoutMs = 600_000): Promise<string> {
  const response = await fetch(conn.CLICKHOUSE_URL, {
    method: 'POST',
    body: sql,
    headers: { 'X-ClickHouse-User': conn.CLICKHOUSE_USER, 'X-ClickHouse-Key': conn.CLICKHOUSE_PASSWORD },
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`ClickHouse: ${text.trim().slice(0, 500)}`);
  return text;
}

export async function dropDatabase(conn: Connection, database: string): Promise<void> {
  await clickhouse(conn, `DROP DATABASE IF EXISTS ${database}`).catch(() => {});
}

/** Sum of a Prometheus metric over all its label sets (text exposition format). */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}

export async function scrape(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
  return response.text();
}

export interface IngestRun {
  proc: ServiceProcess;
  port: number;
  groupId: string;
  database: string;
  /** ms from spawn to /healthz answering. */
  startupMs: number;
}

/**
 * Starts `npm run -s ingest` on the bench's topics and database; waits for
 * `probe`: /healthz (the process is up), or /readyz (its group has joined too).
 */
export async function startIngest(
  conn: Connection,
  t: BenchTopics,
  database: string,
  label: string,
  probe: '/healthz' | '/readyz' = '/healthz',
): Promise<IngestRun> {
  requireScript('ingest', 'the ingest service');
  const port = await freePort();
  const groupId = `${database}-ingest`;
  const started = performance.now();
  const proc = startService(
    `ingest-${label}`,
    'ingest',
    {
      ...process.env,
      ...conn,
      ...topicEnv(t),
      CLICKHOUSE_DATABASE: database,
      KAFKA_GROUP_ID: groupId,
      HTTP_PORT: String(port),
      LOG_LEVEL: 'warn',
    },
    join(REPO_ROOT, 'artifacts', 'bench', 'logs', `${database}-ingest-${label}.log`),
  );
  const up = await waitForHttp(`http://127.0.0.1:${port}${probe}`, 120_000, proc);
  if (!up) {
    await proc.stop(5000);
    throw new Error(`ingest did not come up (log ${proc.logFile}):\n${proc.logTail(15)}`);
  }
  return { proc, port, groupId, database, startupMs: performance.now() - started };
}

/** Committed offsets of `groupId` minus the high watermarks, summed over the input topics. */
export async function committedLag(admin: KafkaAdmin, groupId: string, topics: string[]): Promise<number> {
  let lag = 0;
  const committed = await admin.fetchOffsets({ groupId, topics });
  const byTopic = new Map(committed.map((c) => [c.topic, c.partitions]));
  for (const topic of topics) {
    const ends = await admin.fetchTopicOffsets(topic);
    const done = new Map((byTopic.get(topic) ?? []).map((p) => [p.partition, Number(p.offset)]));
    for (const end of ends) {
      const at = done.get(end.partition) ?? -1;
      lag += Number(end.high) - Math.max(0, at);
    }
  }
  return lag;
}

/**
 * Waits until the consumer group has committed everything on `topics` (ingest
 * commits only after the facts of a batch are written: lag 0 = all facts written).
 * Returns the ms waited, or throws after `timeoutMs`.
 */
export async function waitAllCommitted(
  conn: Connection,
  groupId: string,
  topics: string[],
  timeoutMs: number,
  proc?: ServiceProcess,
): Promise<number> {
  const started = performance.now();
  return withAdmin(conn, async (admin) => {
    let lag = Number.POSITIVE_INFINITY;
    while (performance.now() - started < timeoutMs) {
      if (proc && !proc.running) throw new Error(`ingest exited (log ${proc.logFile}):\n${proc.logTail(15)}`);
      lag = await committedLag(admin, groupId, topics).catch(() => Number.POSITIVE_INFINITY);
      if (lag === 0) return performance.now() - started;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`not all committed after ${timeoutMs / 1000}s (lag ${lag})`);
  });
}

export function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/**
 * Mean seconds per observation of ingest's latency histograms (rounds, inserts
 * per table, recompute reads per query), from its /metrics: where a section's
 * time went inside ingest.
 */
export async function ingestTimings(
  port: number,
): Promise<Record<string, { count: number; meanMs: number; over?: Record<string, number> }>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const sums = new Map<string, number>();
  const counts = new Map<string, number>();
  /** Rounds at or under each bucket bound of 0.1 s and more (cumulative, as Prometheus keeps them). */
  const roundsWithin = new Map<string, number>();
  const line =
    /^optout_(ingest_round|clickhouse_insert|clickhouse_query)_duration_seconds_(sum|count|bucket)(\{[^}]*\})? (\S+)$/;
  for (const l of text.split('\n')) {
    const m = line.exec(l);
    if (!m) continue;
    const [, metric, part, labels = '', value] = m;
    if (part === 'bucket') {
      const le = /le="([^"]+)"/.exec(labels)?.[1];
      if (metric === 'ingest_round' && le !== undefined && le !== '+Inf' && Number(le) >= 0.1)
        roundsWithin.set(`${le}s`, Number(value));
      continue;
    }
    (part === 'sum' ? sums : counts).set(`${metric}${labels}`, Number(value));
  }
  const out: Record<string, { count: number; meanMs: number; over?: Record<string, number> }> = {};
  for (const [name, count] of counts) {
    if (count === 0) continue;
    out[name] = { count, meanMs: Math.round(((sums.get(name) ?? 0) / count) * 10_000) / 10 };
    // How many rounds took longer than each bound: the tail of the rounds.
    if (name.startsWith('ingest_round'))
      out[name].over = Object.fromEntries([...roundsWithin].map(([le, within]) => [le, count - within]));
  }
  return out;
}
