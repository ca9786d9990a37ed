-- Erasure requests (DELETE /v1/apps/{appId}/users/{userId}) and their progress.
-- The query service writes 'pending'; ingest writes 'done' once state and facts are gone.
CREATE TABLE IF NOT EXISTS erasure_jobs
(
    job_id String,
    app_id String,
    user_id String,
    status Enum8('pending' = 1, 'done' = 2, 'failed' = 3),
    requested_at DateTime('UTC'),
    updated_at_ms Int64,
    detail String
)
ENGINE = ReplacingMergeTree(updated_at_ms)
ORDER BY job_id;
