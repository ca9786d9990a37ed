// `npm run demo`: the whole product on one machine, with realistic data.
//
//  1. the local stack (Kafka + ClickHouse): the one in KAFKA_BROKERS / CLICKHOUSE_URL
//     if both are set, else `stackUp()` starts (or reuses) the project's own;
//  2. ClickHouse migrations and the topics (`npm run -s migrate`, `npm run -s topics`);
//  3. the ingest and query services as child processes (skipped, with a message,
//     while their code does not exist yet);
//  4. DEMO_DAYS of history backfilled as fast as possible, then a live trickle;
//  5. the dashboard URL and a fresh demo API key (only its SHA-256 reaches the
//     query service).
// Ctrl-C / SIGTERM (or DEMO_DURATION_SECONDS): stops the trickle, then query,
// then ingest (SIGTERM, then SIGKILL after 30 s). The stack is left running for
// the next run (`npm run stack:down` stops it) unless DEMO_STOP_STACK=true.
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  clickhouseShape,
  inputTopics,
  kafkaShape,
  loadConfigOrExit,
  parseEnv,
  port,
  positiveInt,
} from '@optout/config';
import { schemaRegistryConnection } from '@optout/events';
import { kafkaConnection } from '@optout/kafka';
import { z } from 'zod';
import { connectionFromEnv, stackDown, stackUp } from '../../../infra/local/stack.ts';
import { Simulation } from './model/stream.ts';
import {
  REPO_ROOT,
  runScript,
  SCRIPT_ENTRIES,
  type ServiceProcess,
  scriptAvailable,
  startService,
  waitForHttp,
} from './processes.ts';
import { formatCount } from './progress.ts';
import { backfill, live, type NoiseOptions, sleep } from './run.ts';
import { createSender, type Sender } from './send.ts';

const demoShape = {
  ...kafkaShape,
  CLICKHOUSE_DATABASE: clickhouseShape.CLICKHOUSE_DATABASE,
  DEMO_USERS: positiveInt(5000),
  DEMO_APPS: positiveInt(3),
  DEMO_CAMPAIGNS: positiveInt(12),
  DEMO_DAYS: z.coerce.number().int().min(0).max(400).default(30),
  DEMO_SEED: z.coerce.number().int().min(0).default(1),
  /** Live events per second after the backfill (0: none). */
  DEMO_RATE: z.coerce.number().min(0).default(20),
  /** Stop by itself after this many seconds (CI smoke test); unset: until Ctrl-C. */
  DEMO_DURATION_SECONDS: z.coerce.number().positive().optional(),
  DEMO_STOP_STACK: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  /** Disorder and malformed records, to show the dead-letter path and convergence. */
  DEMO_MALFORMED: z.coerce.number().min(0).max(0.5).default(0.001),
  DEMO_DUPLICATES: z.coerce.number().min(0).max(1).default(0.005),
  DEMO_OUT_OF_ORDER: z.coerce.number().min(0).max(1).default(0.01),
  TOPIC_PARTITIONS: positiveInt(4),
  QUERY_HTTP_PORT: port(8080),
  INGEST_HTTP_PORT: port(8081),
  ROLLUP_HTTP_PORT: port(8082),
  LOG_LEVEL: z.string().default('info'),
};

const say = (line: string) => process.stdout.write(`demo: ${line}\n`);

async function main(): Promise<number> {
  const config = loadConfigOrExit(() => parseEnv(demoShape));
  const controller = new AbortController();
  let signals = 0;
  const children: ServiceProcess[] = [];
  const onSignal = (signal: string) => {
    signals++;
    if (signals === 1) {
      say(`${signal}: stopping (again to force)...`);
      controller.abort();
      return;
    }
    for (const child of children) void child.stop(0);
    process.exit(130);
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  // 1. The stack.
  let connection: Record<string, string>;
  const fromEnv = connectionFromEnv();
  if (fromEnv) {
    say(
      `using the stack from the environment (Kafka ${fromEnv.KAFKA_BROKERS}, ClickHouse ${fromEnv.CLICKHOUSE_URL})`,
    );
    connection = { ...fromEnv };
  } else {
    say('starting the local stack (Kafka + ClickHouse)...');
    connection = { ...(await stackUp()) };
  }
  const topics = inputTopics(config);
  const baseEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ...connection,
    KAFKA_BROKERS: connection.KAFKA_BROKERS,
    CLICKHOUSE_DATABASE: config.CLICKHOUSE_DATABASE,
    TOPIC_PUSH_SENT: topics.pushSent,
    TOPIC_CAMPAIGN_INTERACTION: topics.campaignInteraction,
    TOPIC_APP_EVENT: topics.appEvent,
    TOPIC_CONSENT_CHANGE: topics.consentChange,
    TOPIC_DLQ: config.TOPIC_DLQ,
    TOPIC_CONTROL: config.TOPIC_CONTROL,
    TOPIC_PARTITIONS: String(config.TOPIC_PARTITIONS),
    LOG_LEVEL: config.LOG_LEVEL,
  };
  const missing: string[] = [];
  let failed = false;

  // 2. Migrations and topics.
  for (const script of ['migrate', 'topics']) {
    if (!scriptAvailable(script)) {
      missing.push(`${script} (${SCRIPT_ENTRIES[script]})`);
      say(`not available yet: npm run ${script} (${SCRIPT_ENTRIES[script]} is missing); skipping`);
      continue;
    }
    const result = await runScript(script, baseEnv);
    if (result.code !== 0) {
      say(`npm run ${script} failed (exit ${result.code}):\n${result.output.trim()}`);
      return 1;
    }
    say(`${script}: ${result.output.trim().split('\n').join('; ')}`);
  }

  // 3. Services.
  const logDir = join(REPO_ROOT, '.local', 'demo', `${config.CLICKHOUSE_DATABASE}`);
  const apiKey = `demo_${randomBytes(24).toString('base64url')}`;
  const keySha = createHash('sha256').update(apiKey).digest('hex');
  let ingest: ServiceProcess | null = null;
  let rollup: ServiceProcess | null = null;
  let query: ServiceProcess | null = null;
  if (scriptAvailable('ingest')) {
    ingest = startService(
      'ingest',
      'ingest',
      {
        ...baseEnv,
        HTTP_PORT: String(config.INGEST_HTTP_PORT),
        KAFKA_GROUP_ID: process.env.KAFKA_GROUP_ID ?? `optout-ingest-${config.CLICKHOUSE_DATABASE}`,
      },
      join(logDir, 'ingest.log'),
    );
    children.push(ingest);
  } else {
    missing.push(`ingest (${SCRIPT_ENTRIES.ingest})`);
    say(
      `not available yet: the ingest service (${SCRIPT_ENTRIES.ingest} is missing): events go to Kafka but no facts are written`,
    );
  }
  if (scriptAvailable('rollup')) {
    // The exposure rollup: without it the exposure chart is computed from the raw events (slower).
    rollup = startService(
      'rollup',
      'rollup',
      { ...baseEnv, HTTP_PORT: String(config.ROLLUP_HTTP_PORT) },
      join(logDir, 'rollup.log'),
    );
    children.push(rollup);
  }
  if (scriptAvailable('query')) {
    query = startService(
      'query',
      'query',
      {
        ...baseEnv,
        HTTP_PORT: String(config.QUERY_HTTP_PORT),
        CLICKHOUSE_USER: connection.CLICKHOUSE_READER_USER,
        CLICKHOUSE_PASSWORD: connection.CLICKHOUSE_READER_PASSWORD,
        API_KEYS: JSON.stringify([{ key_sha256: keySha, apps: ['*'], admin: true }]),
        API_KEYS_FILE: undefined,
      },
      join(logDir, 'query.log'),
    );
    children.push(query);
  } else {
    missing.push(`query (${SCRIPT_ENTRIES.query})`);
    say(`not available yet: the query service (${SCRIPT_ENTRIES.query} is missing): no dashboard`);
  }
  for (const [proc, httpPort] of [
    [ingest, config.INGEST_HTTP_PORT],
    [rollup, config.ROLLUP_HTTP_PORT],
    [query, config.QUERY_HTTP_PORT],
  ] as const) {
    if (!proc) continue;
    const up = await waitForHttp(`http://127.0.0.1:${httpPort}/healthz`, 90_000, proc);
    if (up) say(`${proc.name}: up on http://127.0.0.1:${httpPort} (pid ${proc.pid}, log ${proc.logFile})`);
    else {
      failed = true;
      say(`${proc.name}: did not come up (log ${proc.logFile}):\n${proc.logTail()}`);
    }
  }
  const dashboard = `http://127.0.0.1:${config.QUERY_HTTP_PORT}/`;
  const banner = () => {
    if (query?.running) {
      say(`dashboard: ${dashboard}`);
      say(
        `API key:   ${apiKey}   (e.g. curl -H 'Authorization: Bearer ${apiKey}' '${dashboard}v1/apps/acme-shop/optouts/trend?period=last_month')`,
      );
    } else say(`dashboard: ${dashboard} (not running: the query service is ${query ? 'down' : 'missing'})`);
  };
  banner();

  // 4. Data.
  const sim = new Simulation({
    seed: config.DEMO_SEED,
    apps: config.DEMO_APPS,
    users: Math.max(config.DEMO_USERS, config.DEMO_APPS),
    campaigns: config.DEMO_CAMPAIGNS,
    days: config.DEMO_DAYS,
    endMs: Date.now(),
  });
  const noise: NoiseOptions = {
    disorder: {
      outOfOrder: config.DEMO_OUT_OF_ORDER,
      duplicates: config.DEMO_DUPLICATES,
      maxDelayBatches: 3,
    },
    malformed: config.DEMO_MALFORMED,
  };
  say(
    `simulating ${formatCount(sim.world.users.length)} users in ${sim.world.apps.map((a) => a.id).join(', ')}, ` +
      `${config.DEMO_DAYS} days of history, then ${config.DEMO_RATE} events/s live`,
  );
  const started = Date.now();
  const deadline =
    config.DEMO_DURATION_SECONDS === undefined ? undefined : started + config.DEMO_DURATION_SECONDS * 1000;
  const deadlineTimer =
    deadline === undefined ? null : setTimeout(() => controller.abort(), deadline - started);
  let sender: Sender | null = null;
  try {
    sender = await createSender({
      // The stack's brokers, with whatever TLS / SASL the environment configures.
      ...kafkaConnection({ ...config, KAFKA_BROKERS: connection.KAFKA_BROKERS!.split(',') }),
      topics,
      registry: schemaRegistryConnection(config),
      acks: -1,
    });
    const history = await backfill(sim, sender, { batchSize: 5000, noise, signal: controller.signal });
    say(
      `backfill: ${formatCount(history.events)} events (+${formatCount(history.malformed)} malformed) in ${history.seconds.toFixed(1)}s`,
    );
    banner();
    if (config.DEMO_RATE > 0 && !controller.signal.aborted) {
      say(
        `live: ${config.DEMO_RATE} events/s ${deadline === undefined ? 'until Ctrl-C' : `for ${Math.max(0, Math.round((deadline - Date.now()) / 1000))}s more`} ` +
          '(children are stopped on exit; the stack is ' +
          (config.DEMO_STOP_STACK ? 'stopped too)' : 'left running: npm run stack:down stops it)'),
      );
      let lastReport = Date.now();
      await live(sim, sender, {
        rate: config.DEMO_RATE,
        noise,
        signal: controller.signal,
        onTick: (totals) => {
          if (Date.now() - lastReport < 30_000) return;
          lastReport = Date.now();
          say(`live: ${formatCount(totals.events)} events sent${childrenStatus(children)}`);
        },
      });
    } else if (!controller.signal.aborted) {
      await sleep(deadline === undefined ? 2 ** 31 - 1 : deadline - Date.now(), controller.signal);
    }
    for (const child of children) {
      if (!child.running) {
        failed = true;
        say(`${child.name} exited unexpectedly (log ${child.logFile}):\n${child.logTail()}`);
      }
    }
    if (ingest?.running) await reportFacts(connection, config.CLICKHOUSE_DATABASE);
  } catch (error) {
    failed = true;
    say(`error: ${(error as Error).message}`);
  } finally {
    if (deadlineTimer) clearTimeout(deadlineTimer);
    await sender?.close().catch(() => {});
    // Children first: query (readers) then ingest (it commits what it wrote).
    for (const child of [...children].reverse()) {
      if (!child.running) continue;
      const code = await child.stop(30_000);
      say(`${child.name}: stopped (exit ${code ?? 'by signal'})`);
    }
    if (config.DEMO_STOP_STACK) {
      await stackDown();
      say('stack stopped');
    } else say('the stack (Kafka, ClickHouse) is left running: `npm run stack:down` stops it');
    if (missing.length > 0) say(`not available yet: ${missing.join(', ')}`);
  }
  return failed ? 1 : 0;
}

function childrenStatus(children: ServiceProcess[]): string {
  const down = children.filter((c) => !c.running).map((c) => c.name);
  return down.length > 0 ? ` (down: ${down.join(', ')})` : '';
}

/** How many opt-outs reached ClickHouse: the end-to-end proof, read with the writer user. */
async function reportFacts(connection: Record<string, string>, database: string): Promise<void> {
  const sql = `SELECT count() FROM ${database}.consent_transitions WHERE kind = 'OPT_OUT'`;
  try {
    const response = await fetch(`${connection.CLICKHOUSE_URL}/?query=${encodeURIComponent(sql)}`, {
      headers: {
        'X-ClickHouse-User': connection.CLICKHOUSE_USER ?? 'default',
        'X-ClickHouse-Key': connection.CLICKHOUSE_PASSWORD ?? '',
      },
      signal: AbortSignal.timeout(5000),
    });
    const text = (await response.text()).trim();
    say(
      response.ok
        ? `ClickHouse ${database}.consent_transitions: ${text} opt-out rows`
        : `ClickHouse: ${text}`,
    );
  } catch (error) {
    say(`ClickHouse: could not count facts (${(error as Error).message})`);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `demo: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
