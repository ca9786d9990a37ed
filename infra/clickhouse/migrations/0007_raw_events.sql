-- The events themselves, de-duplicated by event_id (same id = same content).
-- They are the durable half of ingest's per-user state: on partition assignment
-- ingest restores the state of that partition's users from here (key_hash is
-- Kafka's murmur2 of the record key, so `key_hash % partitions = p` selects them).
-- They also feed, through materialized views, the "latest known" tables and
-- campaign reach. Invariant kept by ingest: facts are written before raw events,
-- and raw events before offsets are committed.
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

CREATE MATERIALIZED VIEW IF NOT EXISTS campaign_reach_from_push TO campaign_reach AS
SELECT app_id, assumeNotNull(campaign_id) AS campaign_id, occurred_at AS sent_at, user_id
FROM raw_push_sent
WHERE isNotNull(campaign_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS campaign_names_from_push TO campaign_names AS
SELECT app_id, assumeNotNull(campaign_id) AS campaign_id, assumeNotNull(campaign_name) AS campaign_name,
       occurred_at_ms AS observed_at_ms, event_id
FROM raw_push_sent
WHERE isNotNull(campaign_id) AND isNotNull(campaign_name);

CREATE MATERIALIZED VIEW IF NOT EXISTS campaign_names_from_interactions TO campaign_names AS
SELECT app_id, campaign_id, assumeNotNull(campaign_name) AS campaign_name, occurred_at_ms AS observed_at_ms, event_id
FROM raw_campaign_interactions
WHERE isNotNull(campaign_name);

CREATE MATERIALIZED VIEW IF NOT EXISTS user_external_ids_from_app_events TO user_external_ids AS
SELECT app_id, user_id, assumeNotNull(external_id) AS external_id, occurred_at_ms AS observed_at_ms, event_id
FROM raw_app_events
WHERE isNotNull(external_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS user_external_ids_from_consent TO user_external_ids AS
SELECT app_id, user_id, assumeNotNull(external_id) AS external_id, occurred_at_ms AS observed_at_ms, event_id
FROM raw_consent_changes
WHERE isNotNull(external_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS user_identifiers_from_consent TO user_identifiers AS
SELECT app_id, user_id, identifiers, occurred_at_ms AS observed_at_ms, event_id
FROM raw_consent_changes
WHERE identifiers != '{}';
