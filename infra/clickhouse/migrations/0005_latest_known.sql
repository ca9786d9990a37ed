-- "Latest known" values (SPEC 3): the version is the occurred_at (ms) of the record
-- that carried the value, so the latest event wins whatever the arrival order.
-- Ties on occurred_at are broken by event_id (larger wins) to stay deterministic.
CREATE TABLE IF NOT EXISTS campaign_names
(
    app_id String,
    campaign_id String,
    campaign_name String,
    observed_at_ms Int64,
    event_id String
)
ENGINE = ReplacingMergeTree()
ORDER BY (app_id, campaign_id, observed_at_ms, event_id);

CREATE TABLE IF NOT EXISTS user_external_ids
(
    app_id String,
    user_id String,
    external_id String,
    observed_at_ms Int64,
    event_id String
)
ENGINE = ReplacingMergeTree()
ORDER BY (app_id, user_id, observed_at_ms, event_id);

CREATE TABLE IF NOT EXISTS user_identifiers
(
    app_id String,
    user_id String,
    identifiers String,                  -- JSON object of string to string, keys sorted
    observed_at_ms Int64,
    event_id String
)
ENGINE = ReplacingMergeTree()
ORDER BY (app_id, user_id, observed_at_ms, event_id);
