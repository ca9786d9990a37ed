// Versions of fact rows: how much durable evidence a row was computed from.
//
// The fact tables are ReplacingMergeTree(version): the row with the highest
// version wins. Ingest computes a row of a consent record r only from events
// read back from ClickHouse, i.e. from a snapshot of the durable events, and
// the durable events only grow (an erasure deletes all of the user's facts
// before new ones are written). Two computations of r therefore saw nested
// sets of events, and the one that saw more counts more of them in r's window:
//
//   version(r) = (consent records on r's channel up to r) + (events within 30 days of r)
//
// So the most complete computation wins whoever wrote it and whenever: a
// zombie instance, a crashed run or a slow retry can only write a row that
// loses to (or equals, with identical content) what the current owner writes
// from a later snapshot. Equal versions mean equal event sets, hence equal
// rows. No wall clock, no generation number to reset.
//
// Every version is offset by 2^52: the first release wrote wall-clock
// microseconds (about 1.8e15 in 2026), and a migrated database must let the
// new rows win over those.
export const VERSION_BASE = 2 ** 52;

export function versionOf(consentRecordsUpTo: number, eventsInWindow: number): number {
  return VERSION_BASE + consentRecordsUpTo + eventsInWindow;
}
