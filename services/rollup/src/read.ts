// What a rollup run reads of one app, from the tables ingest keeps exact for
// any arrival order: first events (user_first_seen, min states), every consent
// change (raw_consent: the rollup derives the transitions itself, with the
// one definition of @optout/events), and the pushes of the time range it
// sweeps (exposure_pushes, sorted by time). Users travel as the cityHash64 of
// their id (./sweep/users.ts). Large reads are RowBinary: 16 bytes a push.
import type { ClickHouseClient } from '@clickhouse/client';
import { join, type SqlFragment, sql } from '@optout/clickhouse';
import {
  CHANNELS,
  type Channel,
  type ConsentRecord,
  compareByTimeThenId,
  transitionsOf,
} from '@optout/events';
import { type PushGrid, quarterOf, type StatusChange } from './sweep/history.ts';
import { UserTable } from './sweep/users.ts';

/** Reads run FINAL with WHERE after it: the server must not move conditions to PREWHERE (query/src/queries/scope.ts). */
export const READ_SETTINGS = { optimize_move_to_prewhere: 0 } as const;

/** Runs `query` in RowBinary and hands each row of `rowBytes` fixed-width bytes to `visit`. */
async function fixedRows(
  client: ClickHouseClient,
  query: SqlFragment,
  rowBytes: number,
  visit: (row: Buffer, offset: number) => void,
): Promise<void> {
  const { stream } = await client.exec({
    query: `${query.text}\nFORMAT RowBinary`,
    clickhouse_settings: READ_SETTINGS,
  });
  let rest: Buffer | null = null;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const buffer: Buffer = rest ? Buffer.concat([rest, chunk]) : chunk;
    const whole = buffer.length - (buffer.length % rowBytes);
    for (let offset = 0; offset < whole; offset += rowBytes) visit(buffer, offset);
    rest = whole < buffer.length ? buffer.subarray(whole) : null;
  }
  // A query that fails after streaming began appends its error text (18.16 sends 200 first).
  if (rest) throw new Error(`ClickHouse stream ended mid-row: ${rest.toString('utf8', 0, 200)}`);
}

/** One consent transition of one user and channel, as an opt-out row needs it. */
export interface UserTransition {
  t: number;
  id: string;
  kind: 'OPT_OUT' | 'OPT_IN';
}

export interface OptOut {
  user: number;
  userId: string;
  channel: Channel;
  t: number;
  id: string;
}

/**
 * The users of an app (by index in `table`), their first events, and what its
 * consent changes make of them: every transition, every opt-out.
 */
export interface AppUsers {
  table: UserTable;
  /** [user] = the first event (epoch ms): of user_first_seen, and of every event read here. */
  firstSeen: number[];
  /** Every transition, in (t, event_id) order. */
  changes: StatusChange[];
  /** Every opt-out, in (t, event_id) order. */
  optOuts: OptOut[];
  /** Per user and channel ("<user>/<channel>"): the transitions, in (t, id) order. */
  transitions: Map<string, UserTransition[]>;
}

/** The user of a hash, given an index (and a first event) if new; `seenAt` can only lower it. */
export function intern(
  users: Pick<AppUsers, 'table' | 'firstSeen'>,
  hi: number,
  lo: number,
  seenAt: number,
): number {
  const user = users.table.intern(hi, lo);
  if (user === users.firstSeen.length) users.firstSeen.push(seenAt);
  else if (seenAt < users.firstSeen[user]!) users.firstSeen[user] = seenAt;
  return user;
}

async function readFirstSeen(client: ClickHouseClient, appId: string, users: AppUsers): Promise<void> {
  await fixedRows(
    client,
    sql`SELECT cityHash64(user_id) AS h, minMerge(first_seen_ms) AS seen
        FROM user_first_seen WHERE app_id = ${appId} GROUP BY user_id`,
    16,
    (row, at) => {
      intern(users, row.readUInt32LE(at + 4), row.readUInt32LE(at), Number(row.readBigInt64LE(at + 8)));
    },
  );
}

interface ConsentRow {
  user_id: string;
  hi: number;
  lo: number;
  channel: string;
  occurred_at_ms: string;
  event_id: string;
  status: string;
  source: string | null;
}

/** Every consent change of the app (de-duplicated by event id), its transitions and opt-outs. */
async function readConsent(
  client: ClickHouseClient,
  appId: string,
  users: AppUsers,
): Promise<Pick<AppUsers, 'optOuts' | 'transitions' | 'changes'>> {
  const result = await client.query({
    query:
      sql`SELECT user_id, intDiv(cityHash64(user_id), 4294967296) AS hi, cityHash64(user_id) % 4294967296 AS lo,
                      channel, occurred_at_ms, event_id, status, source
               FROM raw_consent WHERE app_id = ${appId}`.text,
    format: 'JSONEachRow',
    clickhouse_settings: READ_SETTINGS,
  });
  const byUserChannel = new Map<
    string,
    { user: number; userId: string; channel: Channel; records: Map<string, ConsentRecord> }
  >();
  for (const row of await result.json<ConsentRow>()) {
    if (!(CHANNELS as readonly string[]).includes(row.channel)) continue;
    const t = Number(row.occurred_at_ms);
    const user = intern(users, Number(row.hi), Number(row.lo), t);
    const key = `${user}/${row.channel}`;
    let entry = byUserChannel.get(key);
    if (!entry) {
      entry = { user, userId: row.user_id, channel: row.channel as Channel, records: new Map() };
      byUserChannel.set(key, entry);
    }
    entry.records.set(row.event_id, {
      t,
      id: row.event_id,
      status: row.status as ConsentRecord['status'],
      source: row.source,
    });
  }
  const changes: Array<StatusChange & { id: string }> = [];
  const optOuts: OptOut[] = [];
  const transitions = new Map<string, UserTransition[]>();
  for (const [key, { user, userId, channel, records }] of byUserChannel) {
    const list = transitionsOf([...records.values()].sort(compareByTimeThenId));
    transitions.set(
      key,
      list.map((x) => ({ t: x.t, id: x.id, kind: x.kind })),
    );
    for (const x of list) {
      changes.push({ user, channel: CHANNELS.indexOf(channel), t: x.t, out: x.kind === 'OPT_OUT', id: x.id });
      if (x.kind === 'OPT_OUT') optOuts.push({ user, userId, channel, t: x.t, id: x.id });
    }
  }
  changes.sort(compareByTimeThenId);
  optOuts.sort(compareByTimeThenId);
  return { changes, optOuts, transitions };
}

/**
 * Adds the pushes of [fromMs, toMs) to `grid`, each once (FINAL: a redelivered
 * push is stored twice until a merge), in time order; a push's user is
 * interned in `users` (a push is an event: it can only lower a first event).
 * Returns how many.
 */
export async function readPushes(
  client: ClickHouseClient,
  appId: string,
  users: AppUsers,
  grid: PushGrid,
  fromMs: number,
  toMs: number,
): Promise<number> {
  // FINAL is one merge stream per query on 18.16: two time slices merge in parallel.
  const middle = Math.floor((fromMs + toMs) / 2);
  const slice = (lo: number, hi: number) =>
    sql`SELECT cityHash64(user_id) AS h, occurred_at_ms FROM exposure_pushes FINAL
        WHERE app_id = ${appId} AND occurred_at_ms >= ${lo} AND occurred_at_ms < ${hi}`;
  let count = 0;
  await fixedRows(
    client,
    sql`SELECT h, occurred_at_ms FROM (${join([slice(fromMs, middle), slice(middle, toMs)], ' UNION ALL ')})
        ORDER BY occurred_at_ms`,
    16,
    (row, at) => {
      const t = Number(row.readBigInt64LE(at + 8));
      grid.add(intern(users, row.readUInt32LE(at + 4), row.readUInt32LE(at), t), t);
      count++;
    },
  );
  grid.extendTo(quarterOf(toMs - 1) + 1);
  return count;
}

/**
 * The app's users, first events and transitions, read afresh; users keep
 * their index in `table` when one is given (a sweep that goes on), and no
 * first event is later than in `floor` (what was read before: a first event
 * only moves earlier).
 */
export async function loadUsers(
  client: ClickHouseClient,
  appId: string,
  before?: Pick<AppUsers, 'table' | 'firstSeen'>,
): Promise<AppUsers> {
  const users: AppUsers = {
    table: before?.table ?? new UserTable(1 << 16),
    firstSeen: before ? [...before.firstSeen] : [],
    changes: [],
    optOuts: [],
    transitions: new Map(),
  };
  await readFirstSeen(client, appId, users);
  Object.assign(users, await readConsent(client, appId, users));
  return users;
}

export const firstEventOf = (users: AppUsers) =>
  users.firstSeen.reduce((min, t) => Math.min(min, t), Number.POSITIVE_INFINITY);

/** The server's clock, in whole seconds (what marked_at and every version compare with). */
export async function serverNowSeconds(client: ClickHouseClient): Promise<number> {
  const result = await client.query({ query: 'SELECT toUnixTimestamp(now()) AS now', format: 'JSONEachRow' });
  const [row] = await result.json<{ now: number | string }>();
  return Number(row!.now);
}
