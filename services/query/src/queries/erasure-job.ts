// Status of an erasure job: the latest row of erasure_jobs (written by ingest);
// no row yet means the request is still queued on the control topic.
import { sql } from '@optout/clickhouse';
import { num, type Warehouse } from '../warehouse.ts';

export interface ErasureJob {
  job_id: string;
  app_id: string;
  status: 'queued' | 'pending' | 'done' | 'failed';
  user_id: string | null;
  requested_at: string | null;
  updated_at: string | null;
  detail: string | null;
}

export async function erasureJob(
  warehouse: Warehouse,
  appId: string,
  jobId: string,
  timeoutMs: number,
): Promise<ErasureJob> {
  // job_id is the sorting key and app_id never changes for a job, so both can
  // be filtered before taking the latest row by updated_at_ms.
  const rows = await warehouse.rows(
    sql`
      SELECT
        argMax(status, updated_at_ms) AS status_v,
        argMax(user_id, updated_at_ms) AS user_v,
        argMax(requested_at, updated_at_ms) AS requested_v,
        max(updated_at_ms) AS updated_v,
        argMax(detail, updated_at_ms) AS detail_v
      FROM erasure_jobs
      WHERE job_id = ${jobId} AND app_id = ${appId}
      GROUP BY job_id`,
    { timeoutMs, label: 'erasure_job' },
  );
  const row = rows[0];
  if (!row) {
    return {
      job_id: jobId,
      app_id: appId,
      status: 'queued',
      user_id: null,
      requested_at: null,
      updated_at: null,
      detail: null,
    };
  }
  return {
    job_id: jobId,
    app_id: appId,
    status: String(row.status_v) as ErasureJob['status'],
    user_id: String(row.user_v),
    // DateTime('UTC') comes back as 'YYYY-MM-DD hh:mm:ss'.
    requested_at: new Date(`${String(row.requested_v).replace(' ', 'T')}Z`).toISOString(),
    updated_at: new Date(num(row.updated_v)).toISOString(),
    detail: row.detail_v === '' ? null : String(row.detail_v),
  };
}
