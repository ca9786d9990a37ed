-- One row per consent transition (opt-out or opt-in) of a user on a channel, as
-- decided by services/ingest from the user's whole consent history (SPEC 3).
-- Written by ingest, corrected by re-writing with a higher version; a transition
-- that a late event proves was not one is re-written with is_deleted = 1.
-- Readers take the latest version with FINAL and filter is_deleted after it (never in
-- PREWHERE, which FINAL applies before collapsing versions): see services/query/src/queries/scope.ts.
CREATE TABLE IF NOT EXISTS consent_transitions
(
    app_id String,
    channel String,
    occurred_at DateTime('UTC'),        -- t, truncated to the second (for ranges and partitions)
    transition_id String,                -- event_id of the ConsentChange that made the transition
    user_id String,
    key_hash UInt32,                     -- Kafka murmur2 of '<app_id>:<user_id>': restore finds a partition's facts by it
    kind Enum8('OPT_OUT' = 1, 'OPT_IN' = 2),
    occurred_at_ms Int64,                -- t exactly, epoch milliseconds
    source Nullable(String),
    -- Opt-outs only (empty / 0 for opt-ins):
    pushes_before Array(UInt32),         -- [d-1] = PushSent count in [t - d days, t), d = 1..30
    last_touch_campaign_id String,       -- campaign of the latest CampaignInteraction in [t - 30 days, t), '' if none
    last_touch_at_ms Int64,              -- its occurred_at, 0 if none
    next_activity_at_ms Int64,           -- earliest AppEvent with occurred_at > t, 0 if none known
    version UInt64,
    is_deleted UInt8
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (app_id, channel, occurred_at, transition_id);
