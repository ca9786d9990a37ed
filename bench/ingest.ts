// (a) Ingest throughput end to end, beside a bare consumer on the same
// records; (c) per-user state size. Each run uses fresh unique topics, a fresh
// database and a fresh consumer group, all dropped afterwards.
import { createKafka, startTopicReader, type TopicReader } from '@optout/kafka';
import { Simulation } from '../services/simulator/src/model/stream.ts';
import { createSender } from '../services/simulator/src/send.ts';
import {
  type BenchTopics,
  type Connection,
  createTopics,
  dropDatabase,
  dropTopics,
  fmt,
  metricSum,
  requireScript,
  type SectionResult,
  scrape,
  startIngest,
  topicsFor,
  uniquePrefix,
  waitAllCommitted,
} from './common.ts';
import { median } from './stats.ts';

const PARTITIONS = 4;
/** The simulator makes about 5.5 events per user per day; 30 days of history. */
const EVENTS_PER_USER = 150;

export interface ProduceResult {
  events: number;
  users: number;
  seconds: number;
}

/** Produces exactly `n` simulated events (30 days of history, in time order) into `t`. */
export async function produceEvents(
  conn: Connection,
  t: BenchTopics,
  n: number,
  seed: number,
): Promise<ProduceResult> {
  const users = Math.max(10, Math.ceil(n / EVENTS_PER_USER));
  const sim = new Simulation({ seed, apps: 3, users, campaigns: 12, days: 30, endMs: Date.now() });
  const sender = await createSender({
    brokers: conn.KAFKA_BROKERS.split(','),
    topics: t.inputs,
    maxInFlight: 4,
  });
  const started = performance.now();
  let sent = 0;
  const seen = new Set<string>();
  try {
    // The history first (time order, up to now); should it hold fewer than n events, what follows.
    const history = sim.history(5000)[Symbol.iterator]();
    const after = sim.continuation(5000)[Symbol.iterator]();
    while (sent < n) {
      let next = history.next();
      if (next.done) next = after.next();
      if (next.done) break;
      const batch = next.value.slice(0, n - sent);
      for (const input of batch) seen.add(`${input.event.app_id}:${input.event.user_id}`);
      await sender.send(batch);
      sent += batch.length;
    }
    await sender.flush();
  } finally {
    await sender.close();
  }
  return { events: sent, users: seen.size, seconds: (performance.now() - started) / 1000 };
}

/**
 * A consumer that only counts (packages/kafka's topic reader: the same client
 * library, no decoding, no state, no commits): the ceiling ingest is compared
 * with. ms from its start to `n` records.
 */
async function bareConsume(conn: Connection, t: BenchTopics, n: number, timeoutMs: number): Promise<number> {
  const kafka = createKafka({ brokers: conn.KAFKA_BROKERS.split(','), clientId: 'optout-bench-bare' });
  let count = 0;
  let reached: (ms: number) => void = () => {};
  const done = new Promise<number>((resolve) => {
    reached = resolve;
  });
  const started = performance.now();
  let reader: TopicReader | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    reader = await startTopicReader(kafka, {
      topics: Object.values(t.inputs),
      groupId: `${t.control}-bare`,
      maxBytesPerPartition: 2 * 1024 * 1024,
      onBatch: ({ records }) => {
        count += records.length;
        if (count >= n) reached(performance.now() - started);
      },
    });
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`bare consumer: ${count}/${n} after ${timeoutMs / 1000}s`)),
        timeoutMs,
      );
    });
    return await Promise.race([done, late]);
  } finally {
    clearTimeout(timer);
    await reader?.stop();
  }
}

export async function benchIngest(
  conn: Connection,
  options: { events: number; runs: number },
): Promise<SectionResult> {
  requireScript('ingest', 'the ingest service');
  const runs: Record<string, number>[] = [];
  let failure: string | null = null;
  for (let run = 0; run < options.runs && failure === null; run++) {
    const prefix = uniquePrefix('ingest');
    const t = topicsFor(prefix);
    let ingest: Awaited<ReturnType<typeof startIngest>> | null = null;
    try {
      await createTopics(conn, t, PARTITIONS);
      const produced = await produceEvents(conn, t, options.events, 100 + run);
      process.stderr.write(
        `  run ${run + 1}: produced ${fmt(produced.events)} events in ${produced.seconds.toFixed(1)}s\n`,
      );
      const timeoutMs = Math.max(120_000, options.events * 2);
      const bareMs = await bareConsume(conn, t, produced.events, timeoutMs);
      const r: Record<string, number> = {
        events: produced.events,
        produceEventsPerSec: produced.events / produced.seconds,
        bareEventsPerSec: produced.events / (bareMs / 1000),
      };
      runs.push(r);
      try {
        ingest = await startIngest(conn, t, prefix, `run${run + 1}`);
        r.ingestStartupSeconds = ingest.startupMs / 1000;
        const ingestMs = await waitAllCommitted(
          conn,
          ingest.groupId,
          Object.values(t.inputs),
          timeoutMs,
          ingest.proc,
        );
        r.ingestEventsPerSec = produced.events / (ingestMs / 1000);
        r.ingestSeconds = ingestMs / 1000;
        // How the load was cut into rounds, and what it cost besides: the users
        // recomputed (a user whose opt-out is in one round is recomputed again by
        // each later round that brings events in its windows) and the fact rows.
        const metrics = await scrape(ingest.port);
        r.recordsIn = metricSum(metrics, 'optout_ingest_records_in_total');
        r.rounds = metricSum(metrics, 'optout_ingest_round_records_count');
        r.recomputedUsers = metricSum(metrics, 'optout_ingest_recomputed_users_total');
        r.factRows = metricSum(metrics, 'optout_ingest_facts_written_total');
        // Seconds fetched rounds waited for earlier rounds' writes (ClickHouse setting the pace).
        r.backpressureSeconds = metricSum(metrics, 'optout_ingest_backpressure_wait_seconds_total');
        process.stderr.write(
          `  run ${run + 1}: bare ${fmt(r.bareEventsPerSec!)} ev/s, ingest ${fmt(r.ingestEventsPerSec)} ev/s (${r.ingestSeconds.toFixed(1)}s)\n`,
        );
      } catch (error) {
        // The bare consumer's figure of this run still stands; ingest's is missing.
        failure = `run ${run + 1}: ${(error as Error).message}`;
      }
    } finally {
      await ingest?.proc.stop(30_000);
      await dropTopics(conn, t, [`${t.control}-bare`, `${prefix}-ingest`]);
      await dropDatabase(conn, prefix);
    }
  }
  const med = (key: string) => {
    const values = runs.map((r) => r[key]).filter((v): v is number => v !== undefined);
    return values.length > 0 ? median(values) : null;
  };
  const on = `${fmt(options.events)} simulated events (4 topics x ${PARTITIONS} partitions), median of ${runs.length} run(s)`;
  const ingestRate = med('ingestEventsPerSec');
  const bareRate = med('bareEventsPerSec');
  return {
    section: 'ingest',
    status: failure === null ? 'ok' : 'failed',
    ...(failure === null ? {} : { reason: failure }),
    figures: [
      {
        name: 'ingest throughput',
        value: ingestRate,
        unit: 'events/s',
        measured: `ingest service from /healthz up to all offsets committed (facts written), ${on}`,
      },
      {
        name: 'bare consumer',
        value: bareRate,
        unit: 'events/s',
        measured: `kafkajs consumer (packages/kafka's topic reader) that only counts the same records, from its start (connect, join) to the last one, ${on}`,
      },
      {
        name: 'ingest / bare',
        value: ingestRate !== null && bareRate !== null ? ingestRate / bareRate : null,
        unit: 'ratio',
        measured: 'ratio of the two medians above',
      },
      {
        name: 'producer (simulator)',
        value: med('produceEventsPerSec'),
        unit: 'events/s',
        measured: `simulator generate + Avro encode + send, acks=all, ${on}`,
      },
      {
        name: 'ingest start-up',
        value: med('ingestStartupSeconds'),
        unit: 's',
        measured: 'spawn of `npm run ingest` to /healthz answering (tsx, migrations, group join)',
      },
    ],
    details: { runs },
  };
}
