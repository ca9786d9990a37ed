-- Per opt-out, campaign and day-before bucket: the CampaignInteractions of the user
-- with occurred_at in [t - d days, t - (d-1) days), d = days_before in 1..30.
-- A lookback of L days is the sum over days_before <= L. Rows only ever grow
-- (events are only added); a deleted opt-out hides them through consent_transitions.
CREATE TABLE IF NOT EXISTS optout_campaign_touches
(
    app_id String,
    channel String,
    optout_at DateTime('UTC'),
    transition_id String,
    campaign_id String,
    days_before UInt8,
    user_id String,
    opens UInt32,
    clicks UInt32,
    dismisses UInt32,
    conversions UInt32,
    interactions UInt32,                 -- all types, including ones this version does not know
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(optout_at)
ORDER BY (app_id, channel, optout_at, transition_id, campaign_id, days_before);
