// (b) Freshness: produce-to-fact latency under a steady load. The simulator's
// live stream runs at `rate` events/s (stamped with the wall clock) and, ten
// times a second, one of the events is a marker: an opt-out of a fresh user with
// a known send time. ClickHouse is polled for the markers' consent_transitions
// rows; latency = first seen - sent (poll every 100 ms: +-100 ms resolution).
import type { InputEvent } from '@optout/events';
import { Simulation } from '../services/simulator/src/model/stream.ts';
import { createSender } from '../services/simulator/src/send.ts';
import {
  type Connection,
  clickhouse,
  createTopics,
  dropDatabase,
  dropTopics,
  fmt,
  ingestTimings,
  requireScript,
  type SectionResult,
  startIngest,
  topicsFor,
  uniquePrefix,
} from './common.ts';
import { summarize } from './stats.ts';

const MARKER_APP = 'bench-fresh';
const TICK_MS = 100;
/** The start of the load left out of the "after warm-up" percentile (at most a fifth of it). */
const WARM_UP_MS = 5000;

/** The `n` largest latencies, each with when its marker was sent (ms after the load started). */
function slowestMarkers(latencies: number[], sentOffsets: number[], n: number) {
  return latencies
    .map((ms, i) => ({ ms, sentAfterMs: sentOffsets[i]! }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, n);
}

function marker(n: number, at: number, runId: string): InputEvent {
  return {
    kind: 'consentChange',
    event: {
      event_id: `${runId}-marker-${n}`,
      app_id: MARKER_APP,
      user_id: `fresh-${n}`,
      occurred_at: at,
      channel: 'PUSH',
      status: 'OPTED_OUT',
      source: 'os_settings',
      external_id: null,
      identifiers: {},
    },
  };
}

export async function benchFreshness(
  conn: Connection,
  options: { rate: number; seconds: number },
): Promise<SectionResult> {
  requireScript('ingest', 'the ingest service');
  const prefix = uniquePrefix('fresh');
  const t = topicsFor(prefix);
  let ingest: Awaited<ReturnType<typeof startIngest>> | null = null;
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  // When each latency's marker was sent (ms after the load started): where the tail sits in the run.
  const sentOffsets: number[] = [];
  const seen = new Set<string>();
  let polling = true;
  try {
    await createTopics(conn, t, 4);
    // The steady load starts once the group has joined (/readyz): joining is
    // start-up, measured by the ingest section, not produce-to-fact latency.
    ingest = await startIngest(conn, t, prefix, 'fresh', '/readyz');
    const sim = new Simulation({
      seed: 11,
      apps: 3,
      users: 20_000,
      campaigns: 12,
      days: 0,
      endMs: Date.now(),
    });
    const source = sim.continuation(1000)[Symbol.iterator]();
    let pending: InputEvent[] = [];
    const sender = await createSender({
      brokers: conn.KAFKA_BROKERS.split(','),
      topics: t.inputs,
      maxInFlight: 4,
    });

    let stopPollingAt = Number.POSITIVE_INFINITY;
    // The load starts right after the poller's first request is sent.
    const started = Date.now();
    const poller = (async () => {
      while (polling || (sentAt.size > 0 && latencies.length < sentAt.size)) {
        const text = await clickhouse(
          conn,
          `SELECT transition_id FROM ${prefix}.consent_transitions WHERE app_id = '${MARKER_APP}' FORMAT TabSeparated`,
          10_000,
        ).catch(() => '');
        const now = Date.now();
        for (const id of text.split('\n')) {
          const at = sentAt.get(id);
          if (at === undefined || seen.has(id)) continue;
          seen.add(id);
          latencies.push(now - at);
          sentOffsets.push(at - started);
        }
        if (!polling && Date.now() > stopPollingAt) break;
        await new Promise((r) => setTimeout(r, TICK_MS));
      }
    })();
    let sent = 0;
    let markers = 0;
    while (Date.now() - started < options.seconds * 1000) {
      const due = Math.floor(((Date.now() - started) / 1000) * options.rate) - sent;
      while (pending.length < due) pending = pending.concat(source.next().value ?? []);
      const batch = pending.slice(0, Math.max(0, due));
      pending = pending.slice(batch.length);
      const now = Date.now();
      for (const input of batch) input.event.occurred_at = now;
      const m = marker(markers++, now, prefix);
      batch.push(m);
      sentAt.set(m.event.event_id, now);
      await sender.send(batch);
      sent += batch.length;
      const wait = TICK_MS - (Date.now() - now);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await sender.flush();
    await sender.close();
    const seconds = (Date.now() - started) / 1000;
    stopPollingAt = Date.now() + 60_000;
    polling = false;
    await poller;
    const timings = await ingestTimings(ingest.port);
    const s = summarize(latencies);
    // The slowest markers are those of the first seconds (a fresh process's
    // first rounds: code not yet optimised, the first inserts into each table):
    // the same percentile without them says what a running instance gives.
    const warmUpMs = Math.min(WARM_UP_MS, (options.seconds * 1000) / 5);
    const steady = summarize(latencies.filter((_, i) => sentOffsets[i]! >= warmUpMs));
    const on = `${fmt(sent)} events at ${fmt(sent / seconds)} events/s for ${seconds.toFixed(0)}s, ${latencies.length}/${markers} marker opt-outs seen, 1 run`;
    return {
      section: 'freshness',
      status: latencies.length === markers ? 'ok' : 'failed',
      ...(latencies.length === markers
        ? {}
        : { reason: `${markers - latencies.length} marker opt-outs never reached ClickHouse within 60s` }),
      figures: [
        {
          name: 'produce-to-fact p50',
          value: s.p50,
          unit: 'ms',
          measured: `send of a marker opt-out to its consent_transitions row visible in ClickHouse; ${on}`,
        },
        {
          name: 'produce-to-fact p99',
          value: s.p99,
          unit: 'ms',
          measured: `same, 99th percentile (nearest rank); ${on}`,
        },
        {
          name: 'produce-to-fact p99 after warm-up',
          value: steady.p99,
          unit: 'ms',
          measured: `same, over the ${steady.n} markers sent after the first ${warmUpMs / 1000}s of the load; ${on}`,
        },
        {
          name: 'offered load',
          value: sent / seconds,
          unit: 'events/s',
          measured: 'events actually sent per second during the run',
        },
      ],
      details: {
        latency: s,
        latencyAfterWarmUp: steady,
        slowest: slowestMarkers(latencies, sentOffsets, 5),
        ingestTimings: timings,
      },
    };
  } finally {
    polling = false;
    await ingest?.proc.stop(30_000);
    await dropTopics(conn, t, [`${prefix}-ingest`]);
    await dropDatabase(conn, prefix);
  }
}
