-- What ingest restores a partition's state from, and what keeps erased users erased.
--
-- consent_index: one row per distinct (user, channel, time, status) of the
-- consent changes, routed by the Kafka partition of the user's key for the
-- partition count it was written with. On assignment of partition p ingest
-- reads `kafka_partitions = N AND kafka_partition = p`: a range of the sort key,
-- so ClickHouse skips every other partition's rows. When the topics' partition
-- count changes, ingest rebuilds the index for the new count from raw_consent
-- (consent_index_builds records which counts are built) before consuming.
CREATE TABLE IF NOT EXISTS consent_index
(
    kafka_partitions UInt16,
    kafka_partition UInt16,              -- key_hash % kafka_partitions
    key_hash UInt32,                     -- Kafka's murmur2 of '<app_id>:<user_id>', positive
    app_id String,
    user_id String,
    channel String,
    occurred_at_ms Int64,
    status String
)
ENGINE = ReplacingMergeTree()
ORDER BY (kafka_partitions, kafka_partition, key_hash, app_id, user_id, channel, occurred_at_ms, status);

CREATE TABLE IF NOT EXISTS consent_index_builds
(
    kafka_partitions UInt16,
    built_at DateTime('UTC')
)
ENGINE = ReplacingMergeTree()
ORDER BY kafka_partitions;

-- The erasure ledger (SPEC 6, "erased stays erased"): after the erasure of a user
-- requested at τ (erased_through_ms), no event of that user with occurred_at <= τ
-- is admitted again, whether redelivered, replayed or still unconsumed. Ingest
-- reads it with the partition's state and consults it before admitting any event.
-- It keeps the ids of erased users for as long as such events may come back.
CREATE TABLE IF NOT EXISTS erased_users
(
    app_id String,
    user_id String,
    key_hash UInt32,
    erased_through_ms Int64,
    job_id String,
    recorded_at DateTime('UTC')
)
ENGINE = ReplacingMergeTree()
ORDER BY (app_id, user_id, erased_through_ms, job_id);
