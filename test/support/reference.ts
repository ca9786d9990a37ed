// The independent brute-force oracle for the pipeline and the query API: every answer
// computed directly from a plain list of events by the SPEC 3-5 definitions
// (docs/api-contract.md for shapes). It imports node built-ins only — never
// packages/ or services/ — so a shared bug cannot hide in both.
//
// Conventions (see each module):
// - the input is the SET of events: deduplicated by event_id, order irrelevant;
// - consent histories are ordered by (occurred_at, event_id ascending);
// - "latest" (last touch, latest known values) = max (occurred_at, event_id);
// - strings compare in UTF-8 byte order (as ClickHouse does);
// - endpoint functions return the full JSON body INCLUDING the app_id/range/channel echo;
//   exportRows returns just the rows.
export * from './reference/endpoints.ts';
export * from './reference/events.ts';
export * from './reference/facts.ts';
export * from './reference/insights.ts';
export * from './reference/time.ts';
