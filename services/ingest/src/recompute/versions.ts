// Versions of fact rows: how much durable evidence a row was computed from.
//
// The fact tables are ReplacingMergeTree(version): the row with the highest
// version wins. Ingest computes a row of a consent record r at t only from
// events read back from ClickHouse, i.e. from a snapshot of the durable events,
// and the durable events only grow (an erasure deletes all of the user's facts
// before new ones are written). Two computations of r therefore saw nested
// sets of events, and the one that saw more counts more of them in what r's
// row depends on:
//
//   version(r) = (consent records on r's channel with time <= t + 30 days)
//              + (events within 30 days of t)
//
// The row depends on nothing else: whether r is a transition on the records
// before it, its next opt-in (next_opt_in_at_ms, kept only when within 30
// days) on the records up to t + 30 days, its facts on the events within 30
// days. So equal versions mean equal evidence, hence equal rows, and the most
// complete computation wins whoever wrote it and whenever: a zombie instance,
// a crashed run or a slow retry can only write a row that loses to (or equals,
// with identical content) what the current owner writes from a later
// snapshot. No wall clock, no generation number to reset.
//
// The consent term counts up to t + 30 days, not only up to r (the formula of
// the release before next_opt_in_at_ms): an opt-in within 30 days after r
// changes r's row, so it must raise r's version. For one snapshot the new count
// is >= the old one (every record up to r is at most t), so a row this release
// writes never loses to an older release's row of less or equal evidence. At
// equal evidence (no consent record in (r, t + 30 days]) the two may tie with
// next_opt_in_at_ms -1 (old) against 0 (new): either answers exactly, -1 only
// makes the query take its slower path (services/query winback.ts).
//
// Every version is offset by 2^52: the first release wrote wall-clock
// microseconds (about 1.8e15 in 2026), and a migrated database must let the
// new rows win over those.
export const VERSION_BASE = 2 ** 52;

export function versionOf(consentRecordsThrough: number, eventsInWindow: number): number {
  return VERSION_BASE + consentRecordsThrough + eventsInWindow;
}
