-- Per opt-out, app event name and day-before bucket: AppEvents of the user with
-- occurred_at in [t - d days, t - (d-1) days), d = days_before in 1..30.
CREATE TABLE IF NOT EXISTS optout_event_counts
(
    app_id String,
    channel String,
    optout_at DateTime('UTC'),
    transition_id String,
    event_name String,
    days_before UInt8,
    user_id String,
    events UInt32,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(optout_at)
ORDER BY (app_id, channel, optout_at, transition_id, event_name, days_before);
