-- Who was sent a push of which campaign, when (to the second). Reach is a distinct
-- count of user_id, so a replayed row changes nothing; merges collapse replays.
CREATE TABLE IF NOT EXISTS campaign_reach
(
    app_id String,
    campaign_id String,
    sent_at DateTime('UTC'),
    user_id String
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(sent_at)
ORDER BY (app_id, campaign_id, sent_at, user_id);
