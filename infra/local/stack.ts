// The local stack: a single-node Kafka (KRaft) and a ClickHouse server run as
// plain processes bound to 127.0.0.1, with every file under .local/. No Docker.
//
//   tsx infra/local/stack.ts up | down | status [--cluster]
//
// With --cluster: the cluster of three Kafka brokers, ZooKeeper and four
// ClickHouse servers instead (./cluster/stack.ts), on ports of its own.
// `up` is idempotent: a server already started by us and answering is left alone.
// `down` stops exactly the processes whose pids we recorded. Settings (state
// folder, ports, Kafka version, optional SASL_SSL / HTTPS listeners): ./settings.ts.
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clickhouseDirs, clickhouseReady, clickhouseUp } from './clickhouse.ts';
import { READER_PASSWORD, READER_USER } from './clickhouse-config.ts';
import { kafkaDirs, kafkaReady, kafkaUp } from './kafka.ts';
import { isAlive, readPid, stopPid } from './processes.ts';
import { KAFKA_SASL_USER, stackSecrets, WRITER_USER } from './secrets.ts';
import { StackError, type StackSettings, settingsFromEnv } from './settings.ts';
import { stackTlsFiles } from './tls.ts';

export {
  DEFAULT_KAFKA_VERSION,
  kafkaLibsDir,
  StackError,
  type StackSettings,
  settingsFromEnv,
} from './settings.ts';

export interface StackConnection {
  KAFKA_BROKERS: string;
  CLICKHOUSE_URL: string;
  CLICKHOUSE_USER: string;
  CLICKHOUSE_PASSWORD: string;
  /** Read-only credentials for the query service. */
  CLICKHOUSE_READER_USER: string;
  CLICKHOUSE_READER_PASSWORD: string;
}

export function connectionOf(s: StackSettings): StackConnection {
  return {
    KAFKA_BROKERS: `127.0.0.1:${s.kafkaPort}`,
    CLICKHOUSE_URL: `http://127.0.0.1:${s.clickhouseHttpPort}`,
    CLICKHOUSE_USER: 'default',
    CLICKHOUSE_PASSWORD: '',
    CLICKHOUSE_READER_USER: READER_USER,
    CLICKHOUSE_READER_PASSWORD: READER_PASSWORD,
  };
}

/**
 * The variables a service needs for the stack's secure listeners (SPEC 7's
 * names): Kafka over SASL_SSL with SCRAM-SHA-512, ClickHouse over HTTPS with a
 * password, both verified against the stack's own CA. Only the listeners the
 * settings turn on are in it. Created on `up`; read before it, the files may not exist yet.
 */
export interface SecureStackConnection {
  kafka?: {
    KAFKA_BROKERS: string;
    KAFKA_SSL: 'true';
    KAFKA_SSL_CA_FILE: string;
    KAFKA_SASL_MECHANISM: 'scram-sha-512';
    KAFKA_SASL_USERNAME: string;
    KAFKA_SASL_PASSWORD: string;
  };
  clickhouse?: {
    CLICKHOUSE_URL: string;
    CLICKHOUSE_CA_FILE: string;
    CLICKHOUSE_USER: string;
    CLICKHOUSE_PASSWORD: string;
  };
  /** For mutual-TLS tests: a client certificate the stack's CA signed. */
  clientCertFile: string;
  clientKeyFile: string;
}

export function secureConnectionOf(s: StackSettings): SecureStackConnection {
  const secrets = stackSecrets(s.localDir);
  const tls = stackTlsFiles(s.localDir);
  return {
    ...(s.kafkaSaslSslPort === undefined
      ? {}
      : {
          kafka: {
            KAFKA_BROKERS: `127.0.0.1:${s.kafkaSaslSslPort}`,
            KAFKA_SSL: 'true',
            KAFKA_SSL_CA_FILE: tls.caFile,
            KAFKA_SASL_MECHANISM: 'scram-sha-512',
            KAFKA_SASL_USERNAME: KAFKA_SASL_USER,
            KAFKA_SASL_PASSWORD: secrets.kafkaSaslPassword,
          },
        }),
    ...(s.clickhouseHttpsPort === undefined
      ? {}
      : {
          clickhouse: {
            CLICKHOUSE_URL: `https://127.0.0.1:${s.clickhouseHttpsPort}`,
            CLICKHOUSE_CA_FILE: tls.caFile,
            CLICKHOUSE_USER: WRITER_USER,
            CLICKHOUSE_PASSWORD: secrets.clickhouseWriterPassword,
          },
        }),
    clientCertFile: tls.clientCertFile,
    clientKeyFile: tls.clientKeyFile,
  };
}

/**
 * The stack named by the environment (KAFKA_BROKERS and CLICKHOUSE_URL both set,
 * the other variables defaulting to the local stack's), or null: then the caller
 * starts the local stack.
 */
export function connectionFromEnv(): StackConnection | null {
  const { KAFKA_BROKERS, CLICKHOUSE_URL } = process.env;
  if (!KAFKA_BROKERS || !CLICKHOUSE_URL) return null;
  const defaults = connectionOf(settingsFromEnv());
  const env = (key: keyof StackConnection) => process.env[key] ?? defaults[key];
  return {
    KAFKA_BROKERS,
    CLICKHOUSE_URL,
    CLICKHOUSE_USER: env('CLICKHOUSE_USER'),
    CLICKHOUSE_PASSWORD: env('CLICKHOUSE_PASSWORD'),
    CLICKHOUSE_READER_USER: env('CLICKHOUSE_READER_USER'),
    CLICKHOUSE_READER_PASSWORD: env('CLICKHOUSE_READER_PASSWORD'),
  };
}

/**
 * Ports freePort hands out: below Linux's ephemeral range (32768-60999 by
 * default), where the kernel picks the local port of every outgoing
 * connection. A port from that range that is free now can be some client's
 * local port a moment later, before the server meant for it binds it: CI saw
 * a test stack's Kafka refused that way. Also clear of the fixed ports of the
 * stacks (8123, 9000, 9092-9093, the Kafka 3.9 step's 18123-19093, the
 * cluster's 29000 and up).
 */
const FREE_PORTS = { from: 20_000, to: 29_000 } as const;

function listenable(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A loopback port nobody listens on right now, outside the ephemeral range (FREE_PORTS). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = FREE_PORTS.from + Math.floor(Math.random() * (FREE_PORTS.to - FREE_PORTS.from));
    if (await listenable(port)) return port;
  }
  throw new StackError(`no free port between ${FREE_PORTS.from} and ${FREE_PORTS.to} after 200 tries`);
}

// ---------------------------------------------------------------- commands

export async function stackUp(s: StackSettings = settingsFromEnv()): Promise<StackConnection> {
  mkdirSync(s.localDir, { recursive: true });
  // One at a time: both are CPU-heavy at start on a 2-core machine.
  await clickhouseUp(s);
  await kafkaUp(s);
  return connectionOf(s);
}

export async function stackDown(s: StackSettings = settingsFromEnv()): Promise<void> {
  await stopPid('kafka', kafkaDirs(s).pidFile);
  await stopPid('clickhouse', clickhouseDirs(s).pidFile);
}

/** Kafka alone (tests that restart a broker use a private one on their own ports). */
export async function kafkaStart(s: StackSettings): Promise<string> {
  mkdirSync(s.localDir, { recursive: true });
  await kafkaUp(s);
  return connectionOf(s).KAFKA_BROKERS;
}

export async function kafkaStop(s: StackSettings): Promise<void> {
  await stopPid('kafka', kafkaDirs(s).pidFile);
}

export async function stackStatus(s: StackSettings = settingsFromEnv()): Promise<boolean> {
  const conn = connectionOf(s);
  const kafkaPid = readPid(kafkaDirs(s).pidFile);
  const chPid = readPid(clickhouseDirs(s).pidFile);
  const kafkaUpNow = kafkaPid !== null && isAlive(kafkaPid) && (await kafkaReady(conn.KAFKA_BROKERS));
  const chUpNow = chPid !== null && isAlive(chPid) && (await clickhouseReady(conn.CLICKHOUSE_URL));
  console.log(`kafka:      ${kafkaUpNow ? `up (pid ${kafkaPid}) ${conn.KAFKA_BROKERS}` : 'down'}`);
  console.log(`clickhouse: ${chUpNow ? `up (pid ${chPid}) ${conn.CLICKHOUSE_URL}` : 'down'}`);
  return kafkaUpNow && chUpNow;
}

function printConnection(conn: StackConnection, s: StackSettings) {
  console.log('\nConnection settings:');
  for (const [key, value] of Object.entries(conn)) console.log(`  export ${key}=${value}`);
  const secure = secureConnectionOf(s);
  // Passwords are shown as a command that reads them, so a CI log never holds them.
  const secretsFile = `${s.localDir}/secrets.json`;
  const fromFile = (field: string) => `"$(node -p "require('${secretsFile}').${field}")"`;
  for (const [title, vars, field] of [
    ['Kafka SASL_SSL', secure.kafka, 'kafkaSaslPassword'],
    ['ClickHouse HTTPS', secure.clickhouse, 'clickhouseWriterPassword'],
  ] as const) {
    if (!vars) continue;
    console.log(`\n${title} (instead of the above):`);
    for (const [key, value] of Object.entries(vars))
      console.log(`  export ${key}=${key.endsWith('_PASSWORD') ? fromFile(field) : value}`);
  }
}

async function clusterMain(command: string | undefined) {
  const cluster = await import('./cluster/stack.ts');
  switch (command) {
    case 'up': {
      const started = Date.now();
      cluster.printClusterConnection(await cluster.clusterUp());
      console.log(`\ncluster up in ${((Date.now() - started) / 1000).toFixed(1)}s`);
      return;
    }
    case 'down':
      return cluster.clusterDown();
    case 'status':
      process.exitCode = (await cluster.clusterStatus()) ? 0 : 1;
      return;
    default:
      console.error('usage: stack.ts up | down | status [--cluster]');
      process.exitCode = 2;
  }
}

async function main(command: string | undefined) {
  if (process.argv.includes('--cluster')) return clusterMain(command);
  switch (command) {
    case 'up': {
      const started = Date.now();
      const settings = settingsFromEnv();
      printConnection(await stackUp(settings), settings);
      console.log(`\nstack up in ${((Date.now() - started) / 1000).toFixed(1)}s`);
      return;
    }
    case 'down':
      return stackDown();
    case 'status':
      process.exitCode = (await stackStatus()) ? 0 : 1;
      return;
    default:
      console.error('usage: stack.ts up | down | status [--cluster]');
      process.exitCode = 2;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv[2]).catch((error: unknown) => {
    console.error(error instanceof StackError ? `stack: ${error.message}` : error);
    process.exitCode = 1;
  });
}
