// The "latest known" tables (campaign_names, user_external_ids,
// user_identifiers: migration 0005) are only ever read through the value of
// their latest row per key, by (observed_at_ms, event_id) with the id compared
// as UTF-8 bytes (argMax over that tuple in campaigns.ts, the same order as one
// String in export.ts). A row that a later row of the same key beats can never
// be an answer, so a round writes, per key, only the latest row it has: the
// answers are those of writing every row, for rows of other rounds and of
// other partitions alike. It pays in large rounds (a backfill, a catch-up):
// of a 300,000-event catch-up's 510,000 inserted rows it took out 120,000;
// a live round rarely holds two values of one key (docs/benchmarks.md).
import type { RowOf, TableSpec, TsvRows } from '@optout/clickhouse';

interface Observed {
  observed_at_ms: number;
  event_id: string;
}

/**
 * Whether `a` wins over `b` in that order. The same event again (a redelivered
 * copy: same id, same time) wins too, as a ReplacingMergeTree keeps the last
 * copy of equal keys.
 */
export function observedLater(a: Observed, b: Observed): boolean {
  if (a.observed_at_ms !== b.observed_at_ms) return a.observed_at_ms > b.observed_at_ms;
  if (a.event_id === b.event_id) return true;
  // JavaScript compares UTF-16 units, which order some characters unlike UTF-8
  // bytes; equal times are rare, so the exact byte order costs little here.
  return Buffer.compare(Buffer.from(a.event_id, 'utf8'), Buffer.from(b.event_id, 'utf8')) > 0;
}

/** The latest row per key of one round, for one latest-known table. */
export class LatestRows<S extends TableSpec> {
  private readonly latest = new Map<string, RowOf<S> & Observed>();

  constructor(private readonly rows: TsvRows<S>) {}

  /** `key`: the values of the key columns before the time and the id, as one string that tells keys apart. */
  offer(key: string, row: RowOf<S> & Observed): void {
    const held = this.latest.get(key);
    if (held === undefined || observedLater(row, held)) this.latest.set(key, row);
  }

  /** The table's rows: the latest row of each key offered. */
  flush(): TsvRows<S> {
    for (const row of this.latest.values()) this.rows.add(row);
    this.latest.clear();
    return this.rows;
  }
}
