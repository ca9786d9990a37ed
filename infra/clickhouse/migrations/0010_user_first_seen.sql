-- When each user was first seen (their earliest event of any kind), for the
-- exposure chart's "users known before the day" (SPEC 5.1). Ingest inserts one
-- row per user and round into user_first_seen_in (a Null table: it stores
-- nothing); the view folds them into user_first_seen as a min() state, so late
-- and repeated rows only ever lower or keep the minimum: exact whatever the
-- arrival order. Read with minMerge(first_seen_ms) GROUP BY app_id, user_id.
CREATE TABLE IF NOT EXISTS user_first_seen_in
(
    app_id String,
    user_id String,
    seen_at_ms Int64
)
ENGINE = Null;

CREATE TABLE IF NOT EXISTS user_first_seen
(
    app_id String,
    user_id String,
    first_seen_ms AggregateFunction(min, Int64)
)
ENGINE = AggregatingMergeTree()
ORDER BY (app_id, user_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS user_first_seen_mv TO user_first_seen AS
SELECT app_id, user_id, minState(seen_at_ms) AS first_seen_ms
FROM user_first_seen_in
GROUP BY app_id, user_id;
