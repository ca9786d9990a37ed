// Erasure of one user (SPEC 6): their state is dropped by the caller; here their
// rows go from every table, then the job is marked done. ALTER ... DELETE is a
// mutation (asynchronous on every server version), so we wait for it to finish
// before saying "done".
import { type ClickHouseClient, identifier, sql } from '@optout/clickhouse';
import type { EraseUser } from './control.ts';
import { USER_TABLES } from './control.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function writeJobStatus(
  client: ClickHouseClient,
  job: EraseUser,
  status: 'pending' | 'done' | 'failed',
  detail = '',
): Promise<void> {
  const requested = job.requested_at ? Date.parse(job.requested_at) : Date.now();
  await client.insert({
    table: 'erasure_jobs',
    format: 'JSONEachRow',
    values: [
      {
        job_id: job.job_id,
        app_id: job.app_id,
        user_id: job.user_id,
        status,
        requested_at: Math.floor((Number.isFinite(requested) ? requested : Date.now()) / 1000),
        updated_at_ms: Date.now(),
        detail,
      },
    ],
  });
}

export async function eraseUserRows(
  client: ClickHouseClient,
  job: EraseUser,
  timeoutMs = 120_000,
): Promise<void> {
  for (const table of USER_TABLES) {
    await client.command({
      query:
        sql`ALTER TABLE ${identifier(table)} DELETE WHERE app_id = ${job.app_id} AND user_id = ${job.user_id}`
          .text,
    });
  }
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const result = await client.query({
      query:
        sql`SELECT count() AS pending FROM system.mutations WHERE database = currentDatabase() AND is_done = 0`
          .text,
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ pending: string }>();
    if (Number(row?.pending ?? 0) === 0) return;
    await sleep(100);
  }
  throw new Error(`erasure of ${job.app_id}:${job.user_id}: mutations not done after ${timeoutMs} ms`);
}
