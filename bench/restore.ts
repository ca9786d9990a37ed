// (e) Restore of one partition: what a member does when it is assigned a
// partition (services/ingest/src/state/restore.ts), timed on a partition that
// holds U users with consent changes. The consent_index rows are generated in
// ClickHouse (INSERT ... SELECT FROM numbers), all routed to partition 0 of 4:
// each user has an opt-out and, for two users in three, an opt-in after it.
// Also the V8 heap the restored state takes, per user.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createClickHouseClient, migrate } from '@optout/clickhouse';
import { restorePartition } from '../services/ingest/src/state/restore.ts';
import { type Connection, clickhouse, dropDatabase, type SectionResult, uniquePrefix } from './common.ts';
import { median } from './stats.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const settledHeap = () => {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
};

const PARTITIONS = 4;

export async function benchRestore(
  conn: Connection,
  options: { users: number; runs: number },
): Promise<SectionResult> {
  const database = uniquePrefix('restore');
  const admin = createClickHouseClient({
    url: conn.CLICKHOUSE_URL,
    username: conn.CLICKHOUSE_USER,
    password: conn.CLICKHOUSE_PASSWORD,
  });
  const client = createClickHouseClient({
    url: conn.CLICKHOUSE_URL,
    username: conn.CLICKHOUSE_USER,
    password: conn.CLICKHOUSE_PASSWORD,
    database,
  });
  try {
    await migrate(admin, { database });
    // key_hash = 4n lands every user on partition 0; times spread over a year.
    const rows = `SELECT toUInt16(${PARTITIONS}), toUInt16(0), toUInt32(number * ${PARTITIONS}), 'bench-restore',
             concat('u-', toString(number)), 'PUSH', toInt64(1700000000000 + number * 997 + k * 86400000),
             if(k = 0, 'OPTED_OUT', 'OPTED_IN')
      FROM numbers(${options.users}) ARRAY JOIN if(number % 3 = 0, [0], [0, 1]) AS k`;
    await clickhouse(conn, `INSERT INTO ${database}.consent_index ${rows}`);
    const seconds: number[] = [];
    const bytes: number[] = [];
    let users = 0;
    let changes = 0;
    for (let run = 0; run < options.runs; run++) {
      const before = settledHeap();
      const started = performance.now();
      const { state, stats } = await restorePartition(client, 0, PARTITIONS);
      seconds.push((performance.now() - started) / 1000);
      bytes.push((settledHeap() - before) / state.index.users);
      users = state.index.users;
      changes = stats.changes;
    }
    const on = `one partition of ${PARTITIONS}: ${users.toLocaleString('en')} users, ${changes.toLocaleString('en')} consent changes (consent_index generated in ClickHouse), median of ${options.runs} runs`;
    const s = median(seconds);
    return {
      section: 'restore',
      status: 'ok',
      figures: [
        { name: 'restore of one partition', value: s, unit: 's', measured: on },
        { name: 'restore rate (users)', value: users / s, unit: 'users/s', measured: on },
        { name: 'restore rate (consent changes)', value: changes / s, unit: 'changes/s', measured: on },
        {
          name: 'restored state bytes per user',
          value: median(bytes),
          unit: 'bytes',
          measured: `V8 heap after minus before (forced GC), / users; ${on}`,
        },
      ],
      details: { users, changes, seconds, bytes },
    };
  } finally {
    await client.close();
    await admin.close();
    await dropDatabase(conn, database);
  }
}
