// Erasure of one user (SPEC 6, "erased stays erased"), requested at τ.
//
// Inside the round that carries the erase_user message, before any event of
// the round is admitted (so they are filtered already):
//   1. the ledger row (erased_users): from now on no event of the user with
//      occurred_at <= τ is admitted, restored or read back, by any instance;
//   2. one ALTER TABLE ... DELETE per table of the catalogue that holds user
//      data: raw events with occurred_at <= τ, every derived row of the user;
//   3. what the user's events after τ imply is written again (reach,
//      latest-known values, consent index) by INSERT ... SELECT from the raw
//      events after τ, and the round recomputes all of the user's facts. A
//      mutation only touches the data that existed when it was submitted, so
//      these new rows survive it.
// The mutations run in the background; the job is `pending` until every one
// of them (found by the job id written into their WHERE) is done, then `done`.
// Waiting happens outside the round (ErasureJobs), so an erasure never stalls
// the partition, and a mutation of someone else never delays this job.
//
// On a cluster (docs/clickhouse-cluster.md) the deletions are mutations of the
// replicated local tables (a Distributed table takes none: code 48), submitted
// to one replica of each shard, which replicates them to the others; and a
// job is done only once every server lists each of its mutations as done
// (each replica mutates its own copy). Both go to the servers themselves
// (CLICKHOUSE_REPLICA_URLS), not through ON CLUSTER: see reachServers. The
// ledger row and the re-derivations go through the Distributed tables like
// every write.
import {
  type ClickHouseClient,
  clusterOf,
  commandOnEveryShard,
  identifier,
  join,
  localTableOf,
  reachServers,
  type SqlFragment,
  sql,
  TABLES,
  TsvRows,
  userDataTables,
} from '@optout/clickhouse';
import type { Logger } from '@optout/observability';
import type { IngestMetrics } from '../metrics.ts';
import type { ClickHouseSink, Heartbeat } from '../sink/clickhouse-sink.ts';
import type { PartitionState } from '../state/partition-state.ts';
import type { DecodedControl } from './decode.ts';

export type JobStatus = 'pending' | 'done' | 'failed';

/** What an erasure's exposure mark covers: every instant (its views' "for ever", 2100-01-01). */
const ERASED_UNTIL_MS = 4_102_444_800_000;

export async function writeJobStatus(
  sink: ClickHouseSink,
  job: { job_id: string; app_id: string; user_id: string; requested_at: string },
  status: JobStatus,
  detail = '',
  heartbeat?: Heartbeat,
): Promise<void> {
  const rows = new TsvRows(TABLES.erasure_jobs);
  rows.add({
    job_id: job.job_id,
    app_id: job.app_id,
    user_id: job.user_id,
    status,
    requested_at: Math.floor(Date.parse(job.requested_at) / 1000),
    updated_at_ms: Date.now(),
    detail,
  });
  await sink.insert(rows, heartbeat);
}

/** `position(command, '<job id>') > 0` finds the job's mutations in system.mutations. */
const marker = (jobId: string) => sql`${jobId} != ''`;

function deletion(
  table: (typeof TABLES)[keyof typeof TABLES],
  control: DecodedControl,
  through: number,
  onCluster: boolean,
) {
  const { app_id, user_id, job_id } = control.message;
  const erasure = 'erasure' in table ? table.erasure : undefined;
  const time = erasure?.kind === 'through' ? sql` AND ${identifier(erasure.column)} <= ${through}` : sql``;
  return sql`ALTER TABLE ${identifier(onCluster ? localTableOf(table.name) : table.name)} DELETE
    WHERE app_id = ${app_id} AND user_id = ${user_id}${time} AND ${marker(job_id)}`;
}

/**
 * The deletions on one replica of every shard (the first that answers),
 * retried as a whole until every shard took them: a deletion repeated on a
 * shard is harmless. Each ALTER returns once its mutation is recorded in
 * ZooKeeper with its block numbers, so rows written after it survive it.
 */
async function deleteOnEveryShard(sink: ClickHouseSink, deletions: SqlFragment[], heartbeat: Heartbeat) {
  await sink.retrying('erasure_delete', heartbeat, () =>
    commandOnEveryShard(
      sink.client,
      deletions.map((d) => d.text),
    ),
  );
}

/** The rows of the user's events after τ that the deletions of derived tables removed. */
function rederivations(control: DecodedControl, through: number, partitions: number): SqlFragment[] {
  const { app_id, user_id } = control.message;
  const mine = sql`app_id = ${app_id} AND user_id = ${user_id} AND occurred_at_ms > ${through}`;
  const cols = (name: keyof typeof TABLES) => join(TABLES[name].columns.map((c) => identifier(c.name)));
  return [
    sql`INSERT INTO campaign_reach (${cols('campaign_reach')})
        SELECT app_id, assumeNotNull(campaign_id), occurred_at, user_id FROM raw_push
        WHERE ${mine} AND campaign_id IS NOT NULL`,
    sql`INSERT INTO user_external_ids (${cols('user_external_ids')})
        SELECT app_id, user_id, assumeNotNull(external_id), occurred_at_ms, event_id FROM raw_app_event
        WHERE ${mine} AND external_id IS NOT NULL`,
    sql`INSERT INTO user_external_ids (${cols('user_external_ids')})
        SELECT app_id, user_id, assumeNotNull(external_id), occurred_at_ms, event_id FROM raw_consent
        WHERE ${mine} AND external_id IS NOT NULL`,
    sql`INSERT INTO user_identifiers (${cols('user_identifiers')})
        SELECT app_id, user_id, identifiers, occurred_at_ms, event_id FROM raw_consent
        WHERE ${mine} AND identifiers != '{}'`,
    sql`INSERT INTO user_first_seen_in (${cols('user_first_seen_in')})
        SELECT app_id, user_id, min(occurred_at_ms) FROM (
          SELECT app_id, user_id, occurred_at_ms FROM raw_push WHERE ${mine}
          UNION ALL SELECT app_id, user_id, occurred_at_ms FROM raw_interaction WHERE ${mine}
          UNION ALL SELECT app_id, user_id, occurred_at_ms FROM raw_app_event WHERE ${mine}
          UNION ALL SELECT app_id, user_id, occurred_at_ms FROM raw_consent WHERE ${mine}
        ) GROUP BY app_id, user_id`,
    sql`INSERT INTO consent_index (${cols('consent_index')})
        SELECT toUInt16(${partitions}), toUInt16(key_hash % ${partitions}), key_hash, app_id, user_id,
               channel, occurred_at_ms, status
        FROM raw_consent WHERE ${mine}`,
  ];
}

export interface ErasureContext {
  sink: ClickHouseSink;
  partitionCount: number;
  heartbeat: Heartbeat;
}

/**
 * The in-memory half, when the round is prepared (after every earlier round is
 * durable, so consent_index is complete): the partition stops admitting the
 * user's events up to τ at once, forgets the user's history, and its index
 * entry is rebuilt without the user's changes up to τ (the entry may be
 * shared with users of the same key hash: theirs stay).
 */
export async function prepareErasure(
  state: PartitionState,
  control: DecodedControl,
  { sink, partitionCount, heartbeat }: ErasureContext,
): Promise<void> {
  const { message } = control;
  const through = Date.parse(message.requested_at);
  state.recordErasure(control.userKey, through);
  state.histories.forget(control.userKey);
  const rows = await sink.select(
    sql`SELECT channel, occurred_at_ms, status FROM consent_index
        WHERE kafka_partitions = ${partitionCount} AND key_hash = ${control.keyHash}
          AND NOT (app_id = ${message.app_id} AND user_id = ${message.user_id} AND occurred_at_ms <= ${through})`,
    'erasure_index',
    heartbeat,
  );
  state.index.replace(
    control.keyHash,
    rows.map((r) => ({
      t: Number(r.occurred_at_ms),
      channel: r.channel as never,
      status: r.status as never,
    })),
  );
}

/** Steps 1-3 above, durably, before the round's events are written; then the round recomputes the user. */
export async function writeErasure(
  control: DecodedControl,
  { sink, partitionCount, heartbeat }: ErasureContext,
): Promise<void> {
  const { message } = control;
  const through = Date.parse(message.requested_at);
  const ledger = new TsvRows(TABLES.erased_users);
  ledger.add({
    app_id: message.app_id,
    user_id: message.user_id,
    key_hash: control.keyHash,
    erased_through_ms: through,
    job_id: message.job_id,
    recorded_at: Math.floor(Date.now() / 1000),
  });
  await sink.insert(ledger, heartbeat);
  const onCluster = clusterOf(sink.client) !== undefined;
  const deletions = userDataTables().map((table) =>
    deletion(table as (typeof TABLES)[keyof typeof TABLES], control, through, onCluster),
  );
  if (onCluster) await deleteOnEveryShard(sink, deletions, heartbeat);
  else for (const query of deletions) await sink.command(query, 'erasure_delete', heartbeat);
  for (const statement of rederivations(control, through, partitionCount))
    await sink.command(statement, 'erasure_rederive', heartbeat);
  await writeJobStatus(sink, message, 'pending', '', heartbeat);
}

export interface ErasureJobsOptions {
  sink: ClickHouseSink;
  logger: Logger;
  metrics: IngestMetrics;
  /** After this long with mutations unfinished, the job reads `failed` (and is still waited for). */
  deadlineMs: number;
  pollMs?: number;
}

interface TrackedJob {
  job: { job_id: string; app_id: string; user_id: string; requested_at: string };
  since: number;
  failed: boolean;
}

/**
 * Waits, outside the rounds, for each job's own mutations and marks the job
 * done. Jobs left pending by an earlier process (it crashed after committing)
 * are picked up at start.
 */
export class ErasureJobs {
  private readonly jobs = new Map<string, TrackedJob>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;

  constructor(private readonly o: ErasureJobsOptions) {}

  track(job: TrackedJob['job']): void {
    if (!this.jobs.has(job.job_id)) this.jobs.set(job.job_id, { job, since: Date.now(), failed: false });
  }

  get tracked(): number {
    return this.jobs.size;
  }

  async start(): Promise<void> {
    const rows = await this.o.sink.client
      .query({
        query: `SELECT job_id, any(app_id) AS app, any(user_id) AS user, argMax(status, updated_at_ms) AS s,
                       toString(any(requested_at)) AS requested
                FROM erasure_jobs GROUP BY job_id HAVING s != 'done'`,
        format: 'JSONEachRow',
      })
      .then((r) => r.json<{ job_id: string; app: string; user: string; requested: string }>())
      .catch((err: unknown) => {
        this.o.logger.warn({ event: 'erasure_jobs_scan_failed', err }, 'could not list unfinished erasures');
        return [];
      });
    for (const r of rows)
      this.track({
        job_id: r.job_id,
        app_id: r.app,
        user_id: r.user,
        requested_at: new Date(`${r.requested.replace(' ', 'T')}Z`).toISOString(),
      });
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.poll(), this.o.pollMs ?? 250);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      for (const tracked of [...this.jobs.values()]) await this.check(tracked);
    } catch (err) {
      this.o.logger.warn({ event: 'erasure_poll_failed', err }, 'erasure status check failed; retrying');
    } finally {
      this.running = false;
      this.schedule();
    }
  }

  private async check(tracked: TrackedJob): Promise<void> {
    const { sink, logger, metrics, deadlineMs } = this.o;
    const unfinished = clusterOf(sink.client)
      ? await unfinishedOnCluster(sink.client, tracked.job.job_id)
      : await unfinishedHere(sink.client, tracked.job.job_id);
    if (unfinished.length === 0) {
      // The exposure rollup's rows counted the user: they are stale from the user's first event on
      // (a mark written now, after every deletion is done; migration 0012, docs/insights.md). It
      // does not name the user: the rollup finds them in the ledger.
      await sink.command(
        sql`INSERT INTO exposure_marks (app_id, user_id, kind, from_ms, to_ms)
            VALUES (${tracked.job.app_id}, '', 'erase', 0, ${ERASED_UNTIL_MS})`,
        'erasure_mark',
      );
      await writeJobStatus(sink, tracked.job, 'done');
      this.jobs.delete(tracked.job.job_id);
      metrics.erasures.inc({ status: 'done' });
      logger.info({ event: 'user_erased', job_id: tracked.job.job_id }, 'erasure done');
      return;
    }
    if (!tracked.failed && Date.now() - tracked.since > deadlineMs) {
      tracked.failed = true;
      const tables = unfinished.map((u) => u.table).join(', ');
      await writeJobStatus(
        sink,
        tracked.job,
        'failed',
        `mutations not finished after ${Math.round(deadlineMs / 1000)} s on: ${tables}; still waiting`,
      );
      metrics.erasures.inc({ status: 'failed' });
      logger.error({ event: 'erasure_overdue', job_id: tracked.job.job_id, tables }, 'erasure overdue');
    }
  }
}

interface Unfinished {
  table: string;
}

async function unfinishedHere(client: ClickHouseClient, jobId: string): Promise<Unfinished[]> {
  const result = await client.query({
    query: sql`SELECT table, count() AS unfinished FROM system.mutations
               WHERE database = currentDatabase() AND is_done = 0
                 AND position(command, ${jobId}) > 0
               GROUP BY table`.text,
    format: 'JSONEachRow',
  });
  return result.json<{ table: string; unfinished: string }>();
}

/**
 * The job's mutations on every server of the cluster, asked of each server. A
 * table is unfinished on a server until that server lists the job's mutation
 * of it as done: one it does not list yet counts as unfinished too, since a
 * replica that has just restarted loads its mutations from ZooKeeper only
 * after it answers queries. A server that does not answer fails the check:
 * the job stays pending and is asked again at the next poll.
 */
async function unfinishedOnCluster(client: ClickHouseClient, jobId: string): Promise<Unfinished[]> {
  const reached = await reachServers(client);
  try {
    const servers = new Set(reached.servers.map((s) => `${s.shard}/${s.replica}`));
    if (servers.size < reached.expected.servers)
      throw new Error(
        `only ${servers.size} of the cluster's ${reached.expected.servers} servers answer (CLICKHOUSE_REPLICA_URLS)`,
      );
    const out: Unfinished[] = [];
    for (const server of reached.servers) {
      const result = await server.client.query({
        query: sql`SELECT table, countIf(is_done = 0) AS unfinished FROM system.mutations
                   WHERE database = currentDatabase() AND position(command, ${jobId}) > 0
                   GROUP BY table`.text,
        format: 'JSONEachRow',
      });
      const seen = new Map(
        (await result.json<{ table: string; unfinished: string }>()).map((r) => [
          r.table,
          Number(r.unfinished),
        ]),
      );
      for (const table of userDataTables()) {
        const local = localTableOf(table.name);
        if ((seen.get(local) ?? 1) > 0) out.push({ table: `${local} on ${server.replica}` });
      }
    }
    return out;
  } finally {
    await reached.close();
  }
}
