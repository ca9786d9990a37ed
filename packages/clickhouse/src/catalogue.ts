// The one catalogue of the project's tables: name, columns (in insert order,
// with their ClickHouse types) and what erasure does with them. The row
// builders (ingest), the restore and recompute reads, erasure and the tests all
// take table and column names from here; test/clickhouse/catalogue checks it
// against the schema the migrations in infra/clickhouse/migrations create.

/** The column types the project uses, as they are written in TSV (./tsv.ts). */
export type ColumnType =
  | 'String'
  | 'Nullable(String)'
  | 'UInt8'
  | 'UInt16'
  | 'UInt32'
  | 'UInt64'
  | 'Int64'
  | "DateTime('UTC')"
  | 'Array(String)'
  | 'Array(UInt8)'
  | 'Array(UInt16)'
  | 'Array(UInt32)'
  | 'Array(Int64)'
  | 'Enum8'
  /** Written through a view (never inserted directly), read with minMerge. */
  | 'AggregateFunction(min, Int64)';

interface ValueOf {
  String: string;
  'Nullable(String)': string | null;
  UInt8: number;
  UInt16: number;
  UInt32: number;
  UInt64: number;
  Int64: number;
  /** Epoch seconds. */
  "DateTime('UTC')": number;
  'Array(String)': readonly string[];
  'Array(UInt8)': readonly number[];
  'Array(UInt16)': readonly number[];
  'Array(UInt32)': readonly number[];
  'Array(Int64)': readonly number[];
  /** The label. */
  Enum8: string;
  'AggregateFunction(min, Int64)': never;
}

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
}

/**
 * What erasure does with a table's rows of the erased user (SPEC 6):
 * - `through`: delete the rows with `column <= τ` (epoch ms) — the raw events;
 * - `all`: delete every row of the user; ingest re-derives what later events imply
 *   (facts, latest-known values, reach, the consent index);
 * - absent: the table holds no user data.
 */
export type Erasure = { kind: 'through'; column: string } | { kind: 'all' };

export interface TableSpec {
  readonly name: string;
  readonly columns: readonly Column[];
  readonly erasure?: Erasure;
}

const col = <N extends string, T extends ColumnType>(name: N, type: T) => ({ name, type }) as const;

/** A row of a table: one value per column, typed by the column's type. */
export type RowOf<S extends { columns: readonly Column[] }> = {
  [C in S['columns'][number] as C['name']]: ValueOf[C['type']];
};

const rawCommon = [
  col('app_id', 'String'),
  col('user_id', 'String'),
  col('event_id', 'String'),
  col('occurred_at', "DateTime('UTC')"),
  col('occurred_at_ms', 'Int64'),
] as const;

const throughEvent: Erasure = { kind: 'through', column: 'occurred_at_ms' };
const all: Erasure = { kind: 'all' };

export const TABLES = {
  // Facts (ReplacingMergeTree(version); see 0001..0003).
  consent_transitions: {
    name: 'consent_transitions',
    columns: [
      col('app_id', 'String'),
      col('channel', 'String'),
      col('occurred_at', "DateTime('UTC')"),
      col('transition_id', 'String'),
      col('user_id', 'String'),
      col('key_hash', 'UInt32'),
      col('kind', 'Enum8'),
      col('occurred_at_ms', 'Int64'),
      col('source', 'Nullable(String)'),
      col('pushes_before', 'Array(UInt32)'),
      col('last_touch_campaign_id', 'String'),
      col('last_touch_at_ms', 'Int64'),
      col('next_activity_at_ms', 'Int64'),
      col('next_opt_in_at_ms', 'Int64'),
      col('version', 'UInt64'),
      col('is_deleted', 'UInt8'),
      // The opt-out's app event counts (0013): parallel arrays, one entry per
      // (event name, day-before bucket); in_row 0 = in optout_event_counts instead.
      col('event_names', 'Array(String)'),
      col('event_days_before', 'Array(UInt8)'),
      col('event_counts', 'Array(UInt32)'),
      col('event_counts_in_row', 'UInt8'),
    ],
    erasure: all,
  },
  optout_campaign_touches: {
    name: 'optout_campaign_touches',
    columns: [
      col('app_id', 'String'),
      col('channel', 'String'),
      col('optout_at', "DateTime('UTC')"),
      col('transition_id', 'String'),
      col('campaign_id', 'String'),
      col('days_before', 'UInt8'),
      col('user_id', 'String'),
      col('opens', 'UInt32'),
      col('clicks', 'UInt32'),
      col('dismisses', 'UInt32'),
      col('conversions', 'UInt32'),
      col('interactions', 'UInt32'),
      col('version', 'UInt64'),
    ],
    erasure: all,
  },
  // Written by releases before 0013 (ingest now writes the counts into the
  // transition row); read for the transitions whose event_counts_in_row is 0.
  optout_event_counts: {
    name: 'optout_event_counts',
    columns: [
      col('app_id', 'String'),
      col('channel', 'String'),
      col('optout_at', "DateTime('UTC')"),
      col('transition_id', 'String'),
      col('event_name', 'String'),
      col('days_before', 'UInt8'),
      col('user_id', 'String'),
      col('events', 'UInt32'),
      col('version', 'UInt64'),
    ],
    erasure: all,
  },
  // Derived from single events (0004, 0005): reach and latest-known values.
  campaign_reach: {
    name: 'campaign_reach',
    columns: [
      col('app_id', 'String'),
      col('campaign_id', 'String'),
      col('sent_at', "DateTime('UTC')"),
      col('user_id', 'String'),
    ],
    erasure: all,
  },
  campaign_names: {
    // Campaign metadata, not user data: kept on erasure.
    name: 'campaign_names',
    columns: [
      col('app_id', 'String'),
      col('campaign_id', 'String'),
      col('campaign_name', 'String'),
      col('observed_at_ms', 'Int64'),
      col('event_id', 'String'),
    ],
  },
  user_external_ids: {
    name: 'user_external_ids',
    columns: [
      col('app_id', 'String'),
      col('user_id', 'String'),
      col('external_id', 'String'),
      col('observed_at_ms', 'Int64'),
      col('event_id', 'String'),
    ],
    erasure: all,
  },
  user_identifiers: {
    name: 'user_identifiers',
    columns: [
      col('app_id', 'String'),
      col('user_id', 'String'),
      col('identifiers', 'String'),
      col('observed_at_ms', 'Int64'),
      col('event_id', 'String'),
    ],
    erasure: all,
  },
  // First seen (0010): rows go into the Null table, the view folds them into min states.
  user_first_seen_in: {
    name: 'user_first_seen_in',
    columns: [col('app_id', 'String'), col('user_id', 'String'), col('seen_at_ms', 'Int64')],
  },
  user_first_seen: {
    name: 'user_first_seen',
    columns: [
      col('app_id', 'String'),
      col('user_id', 'String'),
      col('first_seen_ms', 'AggregateFunction(min, Int64)'),
    ],
    erasure: all,
  },
  // The events themselves (0008).
  raw_push: {
    name: 'raw_push',
    columns: [
      ...rawCommon,
      col('message_id', 'String'),
      col('campaign_id', 'Nullable(String)'),
      col('campaign_name', 'Nullable(String)'),
      col('platform', 'Nullable(String)'),
    ],
    erasure: throughEvent,
  },
  raw_interaction: {
    name: 'raw_interaction',
    columns: [
      ...rawCommon,
      col('campaign_id', 'String'),
      col('campaign_name', 'Nullable(String)'),
      col('message_id', 'Nullable(String)'),
      col('interaction', 'String'),
    ],
    erasure: throughEvent,
  },
  raw_app_event: {
    name: 'raw_app_event',
    columns: [...rawCommon, col('event_name', 'String'), col('external_id', 'Nullable(String)')],
    erasure: throughEvent,
  },
  raw_consent: {
    name: 'raw_consent',
    columns: [
      ...rawCommon,
      col('key_hash', 'UInt32'),
      col('channel', 'String'),
      col('status', 'String'),
      col('source', 'Nullable(String)'),
      col('external_id', 'Nullable(String)'),
      col('identifiers', 'String'),
    ],
    erasure: throughEvent,
  },
  // Ingest's durable state (0009).
  consent_index: {
    name: 'consent_index',
    columns: [
      col('kafka_partitions', 'UInt16'),
      col('kafka_partition', 'UInt16'),
      col('key_hash', 'UInt32'),
      col('app_id', 'String'),
      col('user_id', 'String'),
      col('channel', 'String'),
      col('occurred_at_ms', 'Int64'),
      col('status', 'String'),
    ],
    erasure: all,
  },
  consent_index_builds: {
    name: 'consent_index_builds',
    columns: [col('kafka_partitions', 'UInt16'), col('built_at', "DateTime('UTC')")],
  },
  // Erasure's own records: they name the user so that the user stays erased.
  erased_users: {
    name: 'erased_users',
    columns: [
      col('app_id', 'String'),
      col('user_id', 'String'),
      col('key_hash', 'UInt32'),
      col('erased_through_ms', 'Int64'),
      col('job_id', 'String'),
      col('recorded_at', "DateTime('UTC')"),
    ],
  },
  erasure_jobs: {
    name: 'erasure_jobs',
    columns: [
      col('job_id', 'String'),
      col('app_id', 'String'),
      col('user_id', 'String'),
      col('status', 'Enum8'),
      col('requested_at', "DateTime('UTC')"),
      col('updated_at_ms', 'Int64'),
      col('detail', 'String'),
    ],
  },
  // The exposure rollup (0012, services/rollup): pushes by time, what may have
  // changed behind it, and what it computed.
  exposure_pushes: {
    name: 'exposure_pushes',
    columns: [
      col('app_id', 'String'),
      col('occurred_at_ms', 'Int64'),
      col('user_id', 'String'),
      col('event_id', 'String'),
    ],
    erasure: throughEvent,
  },
  exposure_marks: {
    name: 'exposure_marks',
    columns: [
      col('app_id', 'String'),
      col('user_id', 'String'),
      col('kind', 'String'),
      col('from_ms', 'Int64'),
      col('to_ms', 'Int64'),
      col('marked_at', "DateTime('UTC')"),
    ],
    erasure: all,
  },
  exposure_day_starts: {
    name: 'exposure_day_starts',
    columns: [
      col('app_id', 'String'),
      col('channel', 'String'),
      col('minute_of_day', 'UInt16'),
      col('day_start', "DateTime('UTC')"),
      col('cells', 'Array(UInt16)'),
      col('users', 'Array(UInt32)'),
      col('version', 'UInt64'),
    ],
  },
  exposure_optouts: {
    name: 'exposure_optouts',
    columns: [
      col('app_id', 'String'),
      col('channel', 'String'),
      col('window_days', 'UInt8'),
      col('optout_at', "DateTime('UTC')"),
      col('transition_id', 'String'),
      col('user_id', 'String'),
      col('optout_at_ms', 'Int64'),
      col('first_seen_ms', 'Int64'),
      col('out_before', 'UInt8'),
      col('flips', 'Array(Int64)'),
      col('within', 'UInt32'),
      col('recent', 'Array(UInt16)'),
      col('band', 'Array(UInt16)'),
      col('version', 'UInt64'),
      col('is_deleted', 'UInt8'),
    ],
    erasure: all,
  },
  exposure_rollups: {
    name: 'exposure_rollups',
    columns: [
      col('app_id', 'String'),
      col('computed_from', "DateTime('UTC')"),
      col('computed_through', "DateTime('UTC')"),
      col('marks_through', "DateTime('UTC')"),
      col('version', 'UInt64'),
    ],
  },
} as const satisfies Record<string, TableSpec>;

export type TableName = keyof typeof TABLES;

/** The tables whose rows erasure deletes (SPEC 6), with what it deletes. */
export function userDataTables(): Array<TableSpec & { erasure: Erasure }> {
  return Object.values(TABLES).filter(
    (t): t is typeof t & { erasure: Erasure } => 'erasure' in t && t.erasure !== undefined,
  );
}
