// (d) The query service on a known volume of facts. The fact rows are generated
// directly in ClickHouse with INSERT ... SELECT FROM numbers(...) (not through
// ingest: the point is the read path), matching infra/clickhouse/migrations:
// `bench-query` gets N opt-outs over 30 days from a pool of U users, with
// campaign touches, app event counts, campaign reach and latest-known values,
// opt-ins after a third of the opt-outs (win-back: each opt-out row carries its
// opt-in's time in next_opt_in_at_ms, as ingest writes it), and for exposure every
// user's first-seen time and P pushes per user and day over the 30 days and
// the 7 before them (raw_push); `bench-export` gets E opt-outs of E distinct
// users, for the export.
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createClickHouseClient } from '@optout/clickhouse';
import { rollupUntilSettled } from '../services/rollup/src/index.ts';
import {
  freePort,
  REPO_ROOT,
  runScript,
  type ServiceProcess,
  startService,
  waitForHttp,
} from '../services/simulator/src/processes.ts';
import {
  type Connection,
  clickhouse,
  dropDatabase,
  fmt,
  requireScript,
  type SectionResult,
  uniquePrefix,
} from './common.ts';
import { summarize } from './stats.ts';

export interface QueryBenchOptions {
  optOuts: number;
  users: number;
  exportRows: number;
  requests: number;
  reachRows: number;
  /** Pushes per user per day in raw_push (exposure); default 1. */
  pushesPerUserDay?: number;
}

const DAY_S = 86_400;
const QUERY_APP = 'bench-query';
const EXPORT_APP = 'bench-export';

function isoDay(epochS: number): string {
  return new Date(epochS * 1000).toISOString().slice(0, 10);
}

/** The INSERT ... SELECT statements that fill `db` (ClickHouse 18.16 compatible). */
export function factStatements(db: string, o: QueryBenchOptions, startS: number): string[] {
  const n = o.optOuts;
  const span = 30 * DAY_S;
  const ts = (k: string) => `(toUInt32(${startS}) + intDiv(${k} * ${span}, ${n}))`;
  const user = (k: string) => `concat('u', toString(cityHash64(${k}) % ${o.users}))`;
  const optOut = `CAST('OPT_OUT' AS Enum8('OPT_OUT' = 1, 'OPT_IN' = 2))`;
  const sources = `['os_settings', 'preference_center', 'unsubscribe_link', 'api']`;
  const events = `['app_open', 'screen_view', 'search', 'purchase', 'add_to_cart', 'share', 'login', 'settings_open']`;
  const exportTs = `(toUInt32(${startS}) + intDiv(number * ${span}, ${o.exportRows}))`;
  // Win-back: opt-out k with k % 3 = 0 is followed by an opt-in (row 'i<k>') 1 hour to 20 days
  // later (before today); its opt-out row carries that time as its next opt-in, like ingest would.
  const backAt = (k: string) =>
    `least(toInt64(${ts(k)}) * 1000 + 3600000 + toInt64(cityHash64(${k}, 3) % (20 * 86400000)), toInt64(${startS + span}) * 1000 - 1)`;
  return [
    // Each opt-out carries its 4 app event counts in its row, as ingest writes them (migration 0013).
    `INSERT INTO ${db}.consent_transitions (app_id, channel, occurred_at, transition_id, user_id, kind, occurred_at_ms, source, pushes_before, last_touch_campaign_id, last_touch_at_ms, next_activity_at_ms, next_opt_in_at_ms, version, is_deleted, event_names, event_days_before, event_counts, event_counts_in_row)
     SELECT '${QUERY_APP}', 'PUSH', toDateTime(${ts('number')}), concat('t', toString(number)), ${user('number')}, ${optOut},
       toInt64(${ts('number')}) * 1000, if(number % 10 = 0, NULL, arrayElement(${sources}, (number % 4) + 1)),
       arrayMap(d -> toUInt32(d * (number % 3) + intDiv(d * (number % 7), 3)), arrayMap(i -> i + 1, range(30))),
       concat('cmp-', toString(number % 40)), toInt64(${ts('number')}) * 1000 - 3600000,
       if(number % 3 = 0, toInt64(0), toInt64(${ts('number')}) * 1000 + 86400000),
       if(number % 3 = 0, ${backAt('number')}, toInt64(0)), toUInt64(1), toUInt8(0),
       arrayMap(j -> arrayElement(${events}, j + (number % 2) * 4 + 1), range(4)),
       arrayMap(j -> toUInt8(1 + (number * 4 + j) % 7), range(4)),
       arrayMap(j -> toUInt32(1 + (number * 4 + j) % 5), range(4)), toUInt8(1)
     FROM numbers(${n})`,
    `INSERT INTO ${db}.optout_campaign_touches (app_id, channel, optout_at, transition_id, campaign_id, days_before, user_id, opens, clicks, dismisses, conversions, interactions, version)
     SELECT '${QUERY_APP}', 'PUSH', toDateTime(${ts('intDiv(number, 3)')}), concat('t', toString(intDiv(number, 3))),
       concat('cmp-', toString((intDiv(number, 3) + (number % 3) * 7) % 40)), toUInt8(1 + number % 7), ${user('intDiv(number, 3)')},
       toUInt32(number % 2), toUInt32(number % 3 = 0), toUInt32(number % 5 = 0), toUInt32(number % 11 = 0), toUInt32(1 + number % 2), toUInt64(1)
     FROM numbers(${n * 3})`,
    `INSERT INTO ${db}.campaign_reach (app_id, campaign_id, sent_at, user_id)
     SELECT '${QUERY_APP}', concat('cmp-', toString(number % 40)), toDateTime(toUInt32(${startS}) + intDiv(number * ${span}, ${o.reachRows})), ${user('number')}
     FROM numbers(${o.reachRows})`,
    `INSERT INTO ${db}.campaign_names (app_id, campaign_id, campaign_name, observed_at_ms, event_id)
     SELECT '${QUERY_APP}', concat('cmp-', toString(number)), concat('Campaign ', toString(number)), toInt64(${startS}) * 1000, concat('n', toString(number))
     FROM numbers(40)`,
    `INSERT INTO ${db}.consent_transitions (app_id, channel, occurred_at, transition_id, user_id, kind, occurred_at_ms, source, pushes_before, last_touch_campaign_id, last_touch_at_ms, next_activity_at_ms, next_opt_in_at_ms, version, is_deleted, event_counts_in_row)
     SELECT '${EXPORT_APP}', 'PUSH', toDateTime(${exportTs}), concat('x', toString(number)), concat('x', toString(number)), ${optOut},
       toInt64(${exportTs}) * 1000, 'os_settings', arrayMap(i -> toUInt32(i), range(30)), '', toInt64(0), toInt64(0), toInt64(0), toUInt64(1), toUInt8(0), toUInt8(1)
     FROM numbers(${o.exportRows})`,
    // Win-back: the opt-ins of a third of the opt-outs (backAt above).
    `INSERT INTO ${db}.consent_transitions (app_id, channel, occurred_at, transition_id, user_id, kind, occurred_at_ms, source, pushes_before, last_touch_campaign_id, last_touch_at_ms, next_activity_at_ms, next_opt_in_at_ms, version, is_deleted, event_counts_in_row)
     SELECT '${QUERY_APP}', 'PUSH', toDateTime(intDiv(back, 1000)), concat('i', toString(number)), ${user('number')},
       CAST('OPT_IN' AS Enum8('OPT_OUT' = 1, 'OPT_IN' = 2)), back, 'os_settings', CAST([] AS Array(UInt32)), '', toInt64(0), toInt64(0), toInt64(0), toUInt64(1), toUInt8(0), toUInt8(1)
     FROM (SELECT number, ${backAt('number')} AS back FROM numbers(${n}) WHERE number % 3 = 0)`,
    // The consent changes behind those transitions, for the exposure rollup (which derives
    // the opt-outs from raw_consent): each opt-out, and the opt-in after a third of them.
    `INSERT INTO ${db}.raw_consent (app_id, user_id, event_id, occurred_at, occurred_at_ms, key_hash, channel, status, source, external_id, identifiers)
     SELECT app_id, user_id, transition_id, occurred_at, occurred_at_ms, toUInt32(0), channel,
       if(kind = 'OPT_OUT', 'OPTED_OUT', 'OPTED_IN'), source, NULL, '{}'
     FROM ${db}.consent_transitions WHERE app_id = '${QUERY_APP}'`,
    // Exposure: when each of the U users was first seen (before any of their pushes)...
    `INSERT INTO ${db}.user_first_seen_in (app_id, user_id, seen_at_ms)
     SELECT '${QUERY_APP}', concat('u', toString(number)), (toInt64(${startS}) - ${7 * DAY_S} - toInt64(cityHash64(number, 5) % (200 * ${DAY_S}))) * 1000
     FROM numbers(${o.users})`,
    // ... and P pushes per user per day over the 30 days and the 7 before, at random times.
    `INSERT INTO ${db}.raw_push (app_id, user_id, event_id, occurred_at, occurred_at_ms, message_id, campaign_id, campaign_name, platform)
     SELECT '${QUERY_APP}', ${user('number')}, concat('p', toString(number)), toDateTime(intDiv(at, 1000)), at, '', NULL, NULL, NULL
     FROM (SELECT number, (toInt64(${startS}) - ${7 * DAY_S}) * 1000 + toInt64(cityHash64(number, 7) % (${37 * DAY_S} * 1000)) AS at
           FROM numbers(${Math.round(o.users * (o.pushesPerUserDay ?? 1) * 37)}))`,
    `INSERT INTO ${db}.user_external_ids (app_id, user_id, external_id, observed_at_ms, event_id)
     SELECT app_id, user_id, concat('crm-', user_id), occurred_at_ms, transition_id FROM ${db}.consent_transitions`,
    `INSERT INTO ${db}.user_identifiers (app_id, user_id, identifiers, observed_at_ms, event_id)
     SELECT app_id, user_id, concat('{"email":"', user_id, '@example.com","phone":"+1555', toString(cityHash64(user_id) % 10000000), '"}'), occurred_at_ms, transition_id
     FROM ${db}.consent_transitions`,
  ];
}

/** Runs the exposure rollup on `appId` until it has swept everything; returns the seconds it took. */
async function rollUp(conn: Connection, db: string, appId: string): Promise<number> {
  const client = createClickHouseClient({
    url: conn.CLICKHOUSE_URL,
    username: conn.CLICKHOUSE_USER,
    password: conn.CLICKHOUSE_PASSWORD,
    database: db,
    requestTimeoutMs: 1_800_000,
  });
  const started = performance.now();
  try {
    await rollupUntilSettled(client, appId, { lagMs: 120_000, quietMs: 0, maxDelayMs: 0, chunkDays: 30 });
  } finally {
    await client.close();
  }
  return (performance.now() - started) / 1000;
}

/** Waits until no merge runs on `db` (or `timeoutMs` passes); returns the ms waited. */
async function mergesSettled(conn: Connection, db: string, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    const running = await clickhouse(conn, `SELECT count() FROM system.merges WHERE database = '${db}'`);
    if (Number(running.trim()) === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return performance.now() - started;
}

async function timedGet(url: string, key: string): Promise<{ ms: number; status: number }> {
  const started = performance.now();
  const response = await fetch(url, {
    headers: { authorization: `Bearer ${key}` },
    signal: AbortSignal.timeout(300_000),
  });
  await response.arrayBuffer();
  return { ms: performance.now() - started, status: response.status };
}

/** Streams the export, counting rows, while sampling the query process's RSS every 50 ms. */
async function timedExport(url: string, key: string, proc: ServiceProcess) {
  const baseline = proc.rssBytes();
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, proc.rssBytes());
  }, 50);
  const started = performance.now();
  let rows = 0;
  let bytes = 0;
  try {
    const response = await fetch(url, {
      headers: { authorization: `Bearer ${key}` },
      signal: AbortSignal.timeout(900_000),
    });
    if (!response.ok || !response.body)
      throw new Error(`export answered ${response.status}: ${await response.text()}`);
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) rows++;
    }
  } finally {
    clearInterval(sampler);
  }
  return {
    seconds: (performance.now() - started) / 1000,
    rows,
    bytes,
    baseline,
    peak: Math.max(peak, proc.rssBytes()),
  };
}

export async function benchQuery(conn: Connection, o: QueryBenchOptions): Promise<SectionResult> {
  requireScript('query', 'the query service');
  requireScript('migrate', 'the ClickHouse migrations');
  const db = uniquePrefix('query');
  let proc: ServiceProcess | null = null;
  try {
    const migrated = await runScript('migrate', { ...process.env, ...conn, CLICKHOUSE_DATABASE: db });
    if (migrated.code !== 0) throw new Error(`migrate failed: ${migrated.output}`);
    const todayS = Math.floor(Date.now() / 1000 / DAY_S) * DAY_S;
    const startS = todayS - 30 * DAY_S; // the 30 days before today
    const loadStarted = performance.now();
    for (const statement of factStatements(db, o, startS)) await clickhouse(conn, statement);
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    process.stderr.write(`  facts generated in ClickHouse in ${loadSeconds.toFixed(1)}s\n`);
    // Tens of millions of rows were just inserted: let ClickHouse's background
    // merges of them finish, so the first endpoints measured do not share the
    // cores with them (the later ones would not).
    const settledMs = await mergesSettled(conn, db, 600_000);
    process.stderr.write(`  background merges settled after ${(settledMs / 1000).toFixed(1)}s\n`);
    // The exposure rollup sweeps the generated history, as `npm run rollup` would.
    const rollupSeconds = await rollUp(conn, db, QUERY_APP);
    process.stderr.write(`  exposure rollup swept the history in ${rollupSeconds.toFixed(1)}s\n`);

    const key = `bench_${randomBytes(18).toString('base64url')}`;
    const port = await freePort();
    proc = startService(
      'query-bench',
      'query',
      {
        ...process.env,
        ...conn,
        CLICKHOUSE_DATABASE: db,
        CLICKHOUSE_USER: conn.CLICKHOUSE_READER_USER,
        CLICKHOUSE_PASSWORD: conn.CLICKHOUSE_READER_PASSWORD,
        API_KEYS: JSON.stringify([
          { key_sha256: createHash('sha256').update(key).digest('hex'), apps: ['*'], admin: true },
        ]),
        API_KEYS_FILE: undefined,
        HTTP_PORT: String(port),
        LOG_LEVEL: 'warn',
        // A day the rollup does not answer reads every push of its window (docs/insights.md):
        // give it the time to answer, so a figure says how long instead of only "504".
        QUERY_TIMEOUT_MS: '240000',
      },
      join(REPO_ROOT, 'artifacts', 'bench', 'logs', `${db}-query.log`),
    );
    if (!(await waitForHttp(`http://127.0.0.1:${port}/healthz`, 120_000, proc))) {
      throw new Error(`query service did not come up (log ${proc.logFile}):\n${proc.logTail(15)}`);
    }
    const range = `period=custom&from=${isoDay(startS)}&to=${isoDay(todayS - DAY_S)}&channel=PUSH`;
    const base = `http://127.0.0.1:${port}/v1/apps`;
    const app = `${base}/${QUERY_APP}/optouts`;
    const year = 'period=last_year&channel=PUSH';
    const endpoints: { name: string; url: string; requests: number }[] = [
      { name: 'trend', url: `${app}/trend?${range}`, requests: o.requests },
      { name: 'trend last_year', url: `${app}/trend?${year}`, requests: o.requests },
      { name: 'push-pressure', url: `${app}/push-pressure?${range}`, requests: o.requests },
      { name: 'campaigns', url: `${app}/campaigns?${range}&lookback_days=7`, requests: o.requests },
      { name: 'campaigns last_year', url: `${app}/campaigns?${year}&lookback_days=7`, requests: o.requests },
      { name: 'events', url: `${app}/events?${range}&lookback_days=7&count=total`, requests: o.requests },
      {
        name: 'events last_year',
        url: `${app}/events?${year}&lookback_days=7&count=total`,
        requests: o.requests,
      },
      { name: 'winback', url: `${app}/winback?${range}`, requests: o.requests },
      { name: 'winback last_year', url: `${app}/winback?${year}`, requests: o.requests },
      { name: 'exposure', url: `${app}/exposure?${range}&window_days=7`, requests: o.requests },
      { name: 'exposure last_year', url: `${app}/exposure?${year}&window_days=7`, requests: o.requests },
    ];
    const figures: SectionResult['figures'] = [];
    const details: Record<string, unknown> = { database: db, loadSeconds, settledMs, rollupSeconds };
    const pushes = Math.round(o.users * (o.pushesPerUserDay ?? 1) * 37);
    const data = `${fmt(o.optOuts)} opt-outs over 30 days from ${fmt(o.users)} users, ${fmt(pushes)} pushes (facts and raw pushes generated in ClickHouse, not by ingest)`;
    for (const { name, url, requests } of endpoints) {
      const on = `${data}, ${requests} sequential requests after 1 warm-up`;
      const warm = await timedGet(url, key);
      if (warm.status !== 200) {
        // One endpoint failing (e.g. over the time limit) leaves the others' figures standing.
        details[name] = { status: warm.status, ms: warm.ms };
        for (const figure of ['p50', 'p95']) {
          figures.push({
            name: `${name} ${figure}`,
            value: null,
            unit: 'ms',
            measured: `GET ${name} answered ${warm.status} after ${fmt(warm.ms)} ms, ${data}`,
          });
        }
        continue;
      }
      const samples: number[] = [];
      for (let i = 0; i < requests; i++) samples.push((await timedGet(url, key)).ms);
      const s = summarize(samples);
      details[name] = s;
      figures.push({ name: `${name} p50`, value: s.p50, unit: 'ms', measured: `GET ${name}, ${on}` });
      figures.push({ name: `${name} p95`, value: s.p95, unit: 'ms', measured: `GET ${name}, ${on}` });
    }
    // The contract's default format (csv) and ndjson: the figures named `export`
    // are ndjson's, as before csv was measured too.
    let exportFailure: string | null = null;
    for (const format of ['ndjson', 'csv'] as const) {
      try {
        const exported = await timedExport(
          `${base}/${EXPORT_APP}/optouts/export?${range}&format=${format}`,
          key,
          proc,
        );
        // A CSV body starts with its header line.
        const rows = format === 'csv' ? exported.rows - 1 : exported.rows;
        const name = format === 'csv' ? 'export csv' : 'export';
        details[name] = { ...exported, rows };
        const exportOn = `${fmt(rows)} rows (${fmt(exported.bytes / 1e6)} MB ${format}) of ${fmt(o.exportRows)} opted-out users, 1 run`;
        figures.push({
          name,
          value: rows / exported.seconds,
          unit: 'rows/s',
          measured: `GET export?format=${format} streamed to the end, ${exportOn}`,
        });
        figures.push({
          name: `${name} peak RSS growth`,
          value: (exported.peak - exported.baseline) / 1e6,
          unit: 'MB',
          measured: `query process VmRSS (/proc, every 50 ms) peak minus before, during the export, ${exportOn}`,
        });
      } catch (error) {
        // The chart figures above still stand; the export's are missing.
        exportFailure = `export ${format}: ${(error as Error).message}`;
        break;
      }
    }
    if (exportFailure !== null)
      return { section: 'query', status: 'failed', reason: exportFailure, figures, details };
    return { section: 'query', status: 'ok', figures, details };
  } finally {
    await proc?.stop(15_000);
    await dropDatabase(conn, db);
  }
}
