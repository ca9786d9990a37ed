// Reads what recomputing a user's facts needs from the durable raw events: the
// user's whole consent history, and their pushes, interactions and app events
// over a time range. One query per table for a whole round's users (grouped so
// that each query's time range stays narrow), never one per event.
//
// The raw tables are sorted by (app_id, user_id, occurred_at_ms) and partitioned
// by month (migration 0008), so these reads touch the users' own granules in the
// months asked for. Rows are de-duplicated here by event_id (ReplacingMergeTree
// collapses duplicates only when it merges).
import { identifier, join, type SqlFragment, sql, TABLES } from '@optout/clickhouse';
import { type Channel, type ConsentRecord, compareByTimeThenId, type EventKind } from '@optout/events';
import type { AppActivity, Interaction, UserEvents } from '../optout/facts.ts';

export interface UserRef {
  appId: string;
  userId: string;
}

export interface UserRead extends UserRef {
  /** Closed range of occurred_at (epoch ms) whose events are wanted. */
  from: number;
  to: number;
  /** Events at or before this instant are erased (SPEC 6) and never read back; -Infinity if none. */
  erasedThrough: number;
}

export interface UserHistory {
  consent: Map<Channel, ConsentRecord[]>;
  events: UserEvents;
  /** The range `events` is complete for (consent is complete for all time). */
  from: number;
  to: number;
  /** eventIdHash of every event held, to recognise a duplicate (history-cache.ts). */
  ids: Set<number>;
  /**
   * The opt-out detail rows this partition has written for the user since the
   * history was read: key hash -> content hash (sink/rows.ts FactRows). Empty
   * for a fresh read: nothing is known to be durable, so everything is written.
   */
  written: Map<number, number>;
}

/** The tag of each kind in eventIdHash (and in the `kind` column of the reads below). */
export const KIND_TAG: Readonly<Record<EventKind, string>> = {
  consentChange: 'c',
  pushSent: 'p',
  campaignInteraction: 'i',
  appEvent: 'a',
};

/**
 * A 53-bit hash of an event's kind and id (two 32-bit FNV-1a variants), exact
 * in a double: two different events of one user collide with odds of about
 * n^2 / 2^54, i.e. never in practice.
 */
export function eventIdHash(kind: string, id: string): number {
  let a = 0x811c9dc5 ^ kind.charCodeAt(0);
  let b = 0x01000193 ^ id.length;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return (a >>> 0) * 0x200000 + ((b >>> 0) & 0x1fffff);
}

/** Runs a SELECT and returns its rows (JSONEachRow); the caller retries on failure. */
export type Select = (query: SqlFragment, label: string) => Promise<Record<string, unknown>[]>;

export const userKey = (appId: string, userId: string) => `${appId}:${userId}`;

/** Users whose ranges fit one query: at most this span and this many users. */
const GROUP_SPAN_MS = 120 * 86_400_000;
const GROUP_USERS = 2000;
/**
 * At most this many bytes of (app_id, user_id) literals in one query: the
 * server refuses a query text longer than max_query_size (256 KiB by default,
 * a setting the operator may not let us raise), and ids may be 256 characters.
 */
export const MAX_USER_LIST_BYTES = 128 * 1024;

const pair = (u: UserRef) => sql`(${u.appId}, ${u.userId})`;
/** Bytes the pair takes in the IN list, escapes and separator included. */
const listBytes = (u: UserRef) => Buffer.byteLength(pair(u).text) + 2;

/** `users` cut in order into lists whose literals stay under MAX_USER_LIST_BYTES. */
export function boundedLists<T extends UserRef>(users: readonly T[]): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const user of users) {
    const size = listBytes(user);
    if (current.length > 0 && bytes + size > MAX_USER_LIST_BYTES) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(user);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/**
 * The span a group of reads of width class `c` may cover: each member reads at
 * most about one GROUP_SPAN_MS, or its own width, more than it needs.
 */
const spanLimit = (c: number) => (c === 0 ? GROUP_SPAN_MS : GROUP_SPAN_MS * (2 ** c + 1));

/** 0 for a range of at most GROUP_SPAN_MS, else c with width in (GROUP_SPAN_MS * 2^(c-1), GROUP_SPAN_MS * 2^c]. */
function widthClass(read: UserRead): number {
  const width = read.to - read.from;
  return width <= GROUP_SPAN_MS ? 0 : Math.ceil(Math.log2(width / GROUP_SPAN_MS));
}

/**
 * Users with nearby ranges of similar width, a group per query (at most
 * GROUP_USERS, spanLimit and MAX_USER_LIST_BYTES). Grouping by width first
 * matters for backfills: a user whose consent changes spread over a year
 * needs a year-wide range, and sorted among narrow ranges each such user would
 * end a group alone (the 20,000-user backfill's first round: about 50 s of small queries).
 */
export function groups(reads: readonly UserRead[]): UserRead[][] {
  const byClass = new Map<number, UserRead[]>();
  for (const read of reads) {
    const c = widthClass(read);
    const members = byClass.get(c);
    if (members) members.push(read);
    else byClass.set(c, [read]);
  }
  const out: UserRead[][] = [];
  for (const [c, members] of byClass) out.push(...nearby(members, spanLimit(c)));
  return out;
}

/** `reads` sorted by start and cut into groups whose span stays within `limit`. */
function nearby(reads: readonly UserRead[], limit: number): UserRead[][] {
  const sorted = [...reads].sort((a, b) => a.from - b.from);
  const out: UserRead[][] = [];
  let current: UserRead[] = [];
  let lo = 0;
  let hi = 0;
  let bytes = 0;
  for (const read of sorted) {
    const span = Math.max(hi, read.to) - Math.min(lo, read.from);
    const size = listBytes(read);
    if (
      current.length > 0 &&
      (span > limit || current.length >= GROUP_USERS || bytes + size > MAX_USER_LIST_BYTES)
    ) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    bytes += size;
    if (current.length === 0) {
      lo = read.from;
      hi = read.to;
    }
    current.push(read);
    lo = Math.min(lo, read.from);
    hi = Math.max(hi, read.to);
  }
  if (current.length > 0) out.push(current);
  return out;
}

const usersIn = (users: readonly UserRef[]) => sql`(app_id, user_id) IN (${join(users.map(pair))})`;

function timeIn(from: number, to: number): SqlFragment {
  // occurred_at (seconds) prunes the monthly partitions; occurred_at_ms is exact.
  const lo = Math.max(0, Math.floor(from / 1000));
  const hi = Math.max(0, Math.floor(to / 1000));
  return sql`occurred_at >= toDateTime(${lo}, 'UTC') AND occurred_at <= toDateTime(${hi}, 'UTC')
    AND occurred_at_ms >= ${from} AND occurred_at_ms <= ${to}`;
}

const ms = (value: unknown) => Number(value);

export async function readHistories(
  select: Select,
  reads: readonly UserRead[],
): Promise<Map<string, UserHistory>> {
  const out = new Map<string, UserHistory>();
  if (reads.length === 0) return out;
  const byKey = new Map(reads.map((r) => [userKey(r.appId, r.userId), r]));
  for (const r of reads) {
    out.set(userKey(r.appId, r.userId), {
      consent: new Map(),
      events: { pushes: [], interactions: [], appEvents: [] },
      from: r.from,
      to: r.to,
      ids: new Set(),
      written: new Map(),
    });
  }
  // Keeps each event once (by event_id) and only if it survived erasure.
  const admit = (row: Record<string, unknown>): UserHistory | null => {
    const key = userKey(String(row.app_id), String(row.user_id));
    const read = byKey.get(key);
    if (!read || ms(row.occurred_at_ms) <= read.erasedThrough) return null;
    const user = out.get(key)!;
    const id = eventIdHash(String(row.kind), String(row.event_id));
    if (user.ids.has(id)) return null;
    user.ids.add(id);
    return user;
  };

  const queries: Promise<void>[] = [];
  for (const users of boundedLists(reads)) {
    queries.push(
      select(
        sql`SELECT 'c' AS kind, app_id, user_id, event_id, occurred_at_ms, channel, status, source
          FROM ${identifier(TABLES.raw_consent.name)} WHERE ${usersIn(users)}`,
        'recompute_consent',
      ).then((rows) => {
        for (const row of rows) {
          const user = admit(row);
          if (!user) continue;
          const channel = row.channel as Channel;
          let history = user.consent.get(channel);
          if (!history) {
            history = [];
            user.consent.set(channel, history);
          }
          history.push({
            t: ms(row.occurred_at_ms),
            id: String(row.event_id),
            status: row.status as ConsentRecord['status'],
            source: (row.source as string | null) ?? null,
          });
        }
      }),
    );
  }
  for (const group of groups(reads)) {
    const from = Math.min(...group.map((r) => r.from));
    const to = Math.max(...group.map((r) => r.to));
    const where = sql`${usersIn(group)} AND ${timeIn(from, to)}`;
    queries.push(
      select(
        sql`SELECT 'p' AS kind, app_id, user_id, event_id, occurred_at_ms FROM ${identifier(TABLES.raw_push.name)} WHERE ${where}`,
        'recompute_pushes',
      ).then((rows) => {
        for (const row of rows)
          (admit(row)?.events.pushes as number[] | undefined)?.push(ms(row.occurred_at_ms));
      }),
      select(
        sql`SELECT 'i' AS kind, app_id, user_id, event_id, occurred_at_ms, campaign_id, interaction
            FROM ${identifier(TABLES.raw_interaction.name)} WHERE ${where}`,
        'recompute_interactions',
      ).then((rows) => {
        for (const row of rows)
          (admit(row)?.events.interactions as Interaction[] | undefined)?.push({
            t: ms(row.occurred_at_ms),
            id: String(row.event_id),
            campaignId: String(row.campaign_id),
            type: String(row.interaction),
          });
      }),
      select(
        sql`SELECT 'a' AS kind, app_id, user_id, event_id, occurred_at_ms, event_name
            FROM ${identifier(TABLES.raw_app_event.name)} WHERE ${where}`,
        'recompute_app_events',
      ).then((rows) => {
        for (const row of rows)
          (admit(row)?.events.appEvents as AppActivity[] | undefined)?.push({
            t: ms(row.occurred_at_ms),
            name: String(row.event_name),
          });
      }),
    );
  }
  await Promise.all(queries);

  for (const user of out.values()) {
    for (const history of user.consent.values()) history.sort(compareByTimeThenId);
    (user.events.pushes as number[]).sort((a, b) => a - b);
    (user.events.interactions as Interaction[]).sort(compareByTimeThenId);
    (user.events.appEvents as AppActivity[]).sort((a, b) => a.t - b.t);
  }
  return out;
}
