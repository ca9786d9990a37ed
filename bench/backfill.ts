// (f) A backfill: D days of the simulator's history for U users, loaded topic by
// topic as a platform team onboarding would (the consent changes first, then
// the pushes, the interactions, the app events: the order that makes every
// later topic "late" for the opt-outs already known), then ingest starts on it.
// The clock runs from ingest's /healthz to every offset committed, which is
// when every fact is exact (facts are written before their offsets commit).
import type { EventKind } from '@optout/events';
import { Simulation } from '../services/simulator/src/model/stream.ts';
import { createSender } from '../services/simulator/src/send.ts';
import {
  type Connection,
  createTopics,
  dropDatabase,
  dropTopics,
  fmt,
  requireScript,
  type SectionResult,
  startIngest,
  topicsFor,
  uniquePrefix,
  waitAllCommitted,
} from './common.ts';

const PARTITIONS = 4;
const ORDER: EventKind[] = ['consentChange', 'pushSent', 'campaignInteraction', 'appEvent'];

export async function benchBackfill(
  conn: Connection,
  options: { users: number; days: number },
): Promise<SectionResult> {
  requireScript('ingest', 'the ingest service');
  const prefix = uniquePrefix('backfill');
  const t = topicsFor(prefix);
  await createTopics(conn, t, PARTITIONS);
  const endMs = Date.now();
  const groups: string[] = [];
  try {
    const produceStarted = performance.now();
    const perKind: Record<string, number> = {};
    const sender = await createSender({
      brokers: conn.KAFKA_BROKERS.split(','),
      topics: t.inputs,
      maxInFlight: 4,
    });
    try {
      // The same seeded history, generated once per topic: nothing is held in memory.
      for (const kind of ORDER) {
        const sim = new Simulation({
          seed: 365,
          apps: 3,
          users: options.users,
          campaigns: 12,
          days: options.days,
          endMs,
        });
        let sent = 0;
        for (const batch of sim.history(10_000)) {
          const ofKind = batch.filter((e) => e.kind === kind);
          if (ofKind.length > 0) await sender.send(ofKind);
          sent += ofKind.length;
        }
        await sender.flush();
        perKind[kind] = sent;
      }
    } finally {
      await sender.close();
    }
    const produceSeconds = (performance.now() - produceStarted) / 1000;
    const events = Object.values(perKind).reduce((a, b) => a + b, 0);

    const run = await startIngest(conn, t, prefix, 'backfill');
    groups.push(run.groupId);
    const started = performance.now();
    try {
      await waitAllCommitted(conn, run.groupId, Object.values(t.inputs), 6 * 3600_000, run.proc);
    } finally {
      await run.proc.stop(30_000);
    }
    const seconds = (performance.now() - started) / 1000;
    const on = `${options.days} days of simulated history, ${fmt(options.users)} users, ${fmt(events)} events (${ORDER.map((k) => `${k} ${fmt(perKind[k] ?? 0)}`).join(', ')}), produced topic by topic in that order, then ingested from the start, 1 run`;
    return {
      section: 'backfill',
      status: 'ok',
      figures: [
        {
          name: 'backfill until exact',
          value: events / seconds,
          unit: 'events/s',
          measured: `ingest from /healthz up to every offset committed (every fact exact); ${on}`,
        },
        { name: 'backfill time', value: seconds, unit: 's', measured: on },
        { name: 'backfill producer', value: events / produceSeconds, unit: 'events/s', measured: on },
      ],
      details: { events, perKind, seconds, produceSeconds },
    };
  } finally {
    await dropTopics(conn, t, groups);
    await dropDatabase(conn, prefix);
  }
}
