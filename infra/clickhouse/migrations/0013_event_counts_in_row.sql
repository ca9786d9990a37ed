-- The last-events chart (SPEC 5, events) without a second fact table under
-- FINAL: each transition row carries its opt-out's app event counts, as three
-- parallel arrays, one entry per (event name, day-before bucket) with at least
-- one event (the rows optout_event_counts held, 0003). They are versioned with
-- the transition itself, so the chart reads one FINAL of the opt-outs instead
-- of the opt-outs and 4-30 times as many count rows joined on transition_id
-- (docs/benchmarks.md, "Event counts in the transition row").
--
-- event_counts_in_row = 0 (the default) marks rows written before this
-- migration, or by a release without it (its inserts name the old columns):
-- their counts are in optout_event_counts, where that release wrote them. The
-- query service reads those rows' counts from there
-- (services/query/src/queries/events.ts); a replay rewrites them
-- (docs/operations.md, "Upgrading to event counts in the row"). Ingest writes 1.
ALTER TABLE consent_transitions ADD COLUMN event_names Array(String);
ALTER TABLE consent_transitions ADD COLUMN event_days_before Array(UInt8);
ALTER TABLE consent_transitions ADD COLUMN event_counts Array(UInt32);
ALTER TABLE consent_transitions ADD COLUMN event_counts_in_row UInt8 DEFAULT 0;
