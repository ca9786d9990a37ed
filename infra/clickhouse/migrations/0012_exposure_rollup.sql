-- The exposure rollup (SPEC 5.1 exposure; docs/insights.md "Exposure").
--
-- services/rollup sweeps each app's history in quarter hours and writes, for
-- every quarter-hour instant (every local midnight of every zone is one), the
-- histogram of users at risk by pushes received in the W days before it, and
-- per opt-out what its own day's bucket needs. The query service answers from
-- these rows for the days they are known to be current, and computes the
-- other days exactly from the raw tables.

-- Pushes by time (a copy of raw_push's identity, sorted by time): what the
-- rollup reads a time range of. raw_push is sorted by user, so a time range of
-- it reads every granule of the app.
CREATE TABLE IF NOT EXISTS exposure_pushes
(
    app_id String,
    occurred_at_ms Int64,
    user_id String,
    event_id String
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(toDateTime(intDiv(occurred_at_ms, 1000), 'UTC'))
ORDER BY (app_id, occurred_at_ms, user_id, event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS exposure_pushes_mv TO exposure_pushes AS
SELECT app_id, occurred_at_ms, user_id, event_id
FROM raw_push;

INSERT INTO exposure_pushes
SELECT app_id, occurred_at_ms, user_id, event_id
FROM raw_push;

-- What may have changed behind the rollup. A row is written, by the views
-- below, for every insert of an event that is more than a minute old by the
-- server's clock when it lands (marked_at is that clock, read while the
-- insert is processed): such an event can change instants the rollup already
-- computed (it computes an instant only two minutes after it has passed, so
-- fresher events land before it). The rollup takes a mark into account
-- MARK_SLACK_MS after marked_at (@optout/events exposure-layout.ts), by when
-- the rows of its insert are stored whatever order the views ran in. A push
-- marks (from_ms, to_ms]: its window
-- and the 32 days an opt-out row looks back; a consent change marks
-- everything after it; a first event marks everything after it, per user
-- (the rollup and the query check whether it really lowered the user's first
-- event); an erasure marks the whole history (written by ingest when done).
CREATE TABLE IF NOT EXISTS exposure_marks
(
    app_id String,
    user_id String,                      -- '' except for 'seen' and 'erase'
    kind String,                         -- push, consent, seen, erase
    from_ms Int64,
    to_ms Int64,
    marked_at DateTime('UTC') DEFAULT now()
)
ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(marked_at)
ORDER BY (app_id, marked_at);

CREATE MATERIALIZED VIEW IF NOT EXISTS exposure_push_marks_mv TO exposure_marks AS
SELECT app_id, '' AS user_id, 'push' AS kind, min(occurred_at_ms) AS from_ms,
       max(occurred_at_ms) + 2764800000 AS to_ms, now() AS marked_at
FROM raw_push
WHERE occurred_at_ms < (toInt64(now()) - 60) * 1000
GROUP BY app_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS exposure_consent_marks_mv TO exposure_marks AS
SELECT app_id, '' AS user_id, 'consent' AS kind, min(occurred_at_ms) AS from_ms,
       toInt64(4102444800000) AS to_ms, now() AS marked_at
FROM raw_consent
WHERE occurred_at_ms < (toInt64(now()) - 60) * 1000
GROUP BY app_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS exposure_seen_marks_mv TO exposure_marks AS
SELECT app_id, user_id, 'seen' AS kind, seen_at_ms AS from_ms,
       toInt64(4102444800000) AS to_ms, now() AS marked_at
FROM user_first_seen_in
WHERE seen_at_ms < (toInt64(now()) - 60) * 1000;

-- Users at risk at each quarter-hour instant (day_start): those known before
-- it (an event earlier) and not opted out on the channel at it, counted by
-- the pushes they received in [day_start - W days, day_start). Sparse, the
-- cells in order: cells[i] = (W - 1) * 51 + min(k, 50) for W = 1..30, users[i]
-- its count. minute_of_day first in the key: one zone's midnights are one or
-- two runs of rows.
CREATE TABLE IF NOT EXISTS exposure_day_starts
(
    app_id String,
    channel String,
    minute_of_day UInt16,
    day_start DateTime('UTC'),
    cells Array(UInt16),
    users Array(UInt32),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day_start)
ORDER BY (app_id, channel, minute_of_day, day_start)
SETTINGS index_granularity = 32;

-- Per opt-out (as the rollup derives them from raw_consent) and window W,
-- what its own day's bucket needs whatever the zone (the day starts at most
-- 48 hours before t): the user's first event, whether they were opted out on
-- the channel 48 hours before t and when their status changed since, and
-- their pushes by offset o in quarters before t's quarter: within = pushes
-- with o <= 96 W, recent = the o <= 192, band = o - 96 W of those with
-- 96 W < o <= 96 W + 192 (a day starting u quarters before t's quarter counts
-- within + #(band <= u) - #(recent <= u); @optout/events optOutPushes).
-- A row per W keeps the rows a request reads (FINAL merges them) narrow.
CREATE TABLE IF NOT EXISTS exposure_optouts
(
    app_id String,
    channel String,
    window_days UInt8,
    optout_at DateTime('UTC'),
    transition_id String,
    user_id String,
    optout_at_ms Int64,
    first_seen_ms Int64,
    out_before UInt8,
    flips Array(Int64),
    within UInt32,
    recent Array(UInt16),
    band Array(UInt16),
    version UInt64,
    is_deleted UInt8
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(optout_at)
ORDER BY (app_id, channel, window_days, optout_at, transition_id);

-- How far each app's rollup got: instants before computed_from hold no known
-- user, instants in [computed_from, computed_through] have rows, and every
-- mark with marked_at < marks_through was taken into account.
CREATE TABLE IF NOT EXISTS exposure_rollups
(
    app_id String,
    computed_from DateTime('UTC'),
    computed_through DateTime('UTC'),
    marks_through DateTime('UTC'),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY app_id;
