import { createClickHouseClient, migrate, dropDatabase, sql } from '@optout/clickhouse';
import { resolvePeriod } from './src/periods.ts';
import { exportSql } from './src/queries/export.ts';
import { liveOptOuts, liveTransitions } from './src/queries/scope.ts';
const db = 'scratch_mem';
const admin = createClickHouseClient({ url: 'http://127.0.0.1:8123', username: 'default', password: '' });
if (process.argv[2] === 'setup') {
await migrate(admin, { database: db });
await admin.command({ query: `INSERT INTO ${db}.consent_transitions (app_id, channel, occurred_at, transition_id, user_id, kind, occurred_at_ms, source, pushes_before, last_touch_campaign_id, last_touch_at_ms, next_activity_at_ms, version, is_deleted) SELECT 'slow', 'PUSH', toDateTime(1714521600 + number % 432000, 'UTC'), toString(number), concat('user-', toString(number % 1000000)), 'OPT_OUT', (1714521600 + number % 432000) * 1000, NULL, [], '', 0, 0, 1, 0 FROM numbers(3000000)` });
process.exit(0);
}
const c = createClickHouseClient({ url: 'http://127.0.0.1:8123', username: 'optout_reader', password: 'optout_reader', database: db, readOnly: true });
const r = resolvePeriod({ period: 'custom', from: '2024-05-01', to: '2024-05-10' }, new Date());
if (!r.ok) throw 1;
const scope = { appId: 'slow', channel: 'PUSH' as const, range: r.range };
const scopeAll = (cols: any) => liveTransitions({ appId: 'slow', channel: 'PUSH', kinds: 'all', columns: cols, where: sql`user_id IN (SELECT DISTINCT user_id FROM (${liveOptOuts(scope)}))` });
const tests: Record<string, any> = {
  export: sql`SELECT count() FROM (${exportSql(scope)})`,
};
const c2 = createClickHouseClient({ url: 'http://127.0.0.1:8123', username: 'default', password: '', database: db });
for (const [name, q] of Object.entries(tests)) {
  const t0 = Date.now();
  try { const res = await c.query({ query: q.text, format: 'JSONEachRow', clickhouse_settings: { max_execution_time: 60, log_queries: 1, max_bytes_before_external_group_by: '300000000', max_bytes_before_external_sort: '300000000' } }); console.log(name, JSON.stringify(await res.json()), Date.now() - t0, 'ms'); }
  catch (e: any) { console.log(name, 'ERR', e.message.slice(0, 200)); }
}

await new Promise(r => setTimeout(r, 8000));
const log = await (await c2.query({ query: "SELECT type, substring(query, length(query) - 8) AS q, memory_usage, query_duration_ms FROM system.query_log WHERE user = 'optout_reader' AND event_time > now() - 60 AND query LIKE '%slow%' ORDER BY event_time DESC LIMIT 6", format: 'JSONEachRow' })).json();
console.log(JSON.stringify(log));
process.exit(0);
