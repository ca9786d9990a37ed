-- The events themselves, de-duplicated by event_id (same id = same content).
-- They are the durable half of ingest's per-user state: on partition assignment
-- ingest restores the state of that partition's users from here (key_hash is
-- Kafka's murmur2 of the record key, so `key_hash % partitions = p` selects them).
-- Invariant kept by ingest: facts are written before raw events, and raw events
-- before offsets are committed. (The "latest known" tables and campaign_reach are
-- written by ingest beside the raw rows, not by materialized views: on 18.16 a
-- view cannot filter out NULLs of a column it also converts under the same name.)
CREATE TABLE IF NOT EXISTS raw_push_sent
(
    app_id String,
    user_id String,
    event_id String,
    occurred_at DateTime('UTC'),
    occurred_at_ms Int64,
    key_hash UInt32,
    message_id String,
    campaign_id Nullable(String),
    campaign_name Nullable(String),
    platform Nullable(String)
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (app_id, user_id, event_id);

CREATE TABLE IF NOT EXISTS raw_campaign_interactions
(
    app_id String,
    user_id String,
    event_id String,
    occurred_at DateTime('UTC'),
    occurred_at_ms Int64,
    key_hash UInt32,
    campaign_id String,
    campaign_name Nullable(String),
    message_id Nullable(String),
    interaction String
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (app_id, user_id, event_id);

CREATE TABLE IF NOT EXISTS raw_app_events
(
    app_id String,
    user_id String,
    event_id String,
    occurred_at DateTime('UTC'),
    occurred_at_ms Int64,
    key_hash UInt32,
    event_name String,
    external_id Nullable(String)
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (app_id, user_id, event_id);

CREATE TABLE IF NOT EXISTS raw_consent_changes
(
    app_id String,
    user_id String,
    event_id String,
    occurred_at DateTime('UTC'),
    occurred_at_ms Int64,
    key_hash UInt32,
    channel String,
    status String,
    source Nullable(String),
    external_id Nullable(String),
    identifiers String                   -- JSON object, keys sorted; '{}' when empty
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (app_id, user_id, event_id);
