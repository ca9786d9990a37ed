// The local stack: a single-node Kafka (KRaft) and a ClickHouse server run as
// plain processes bound to 127.0.0.1, with every file under .local/. No Docker.
//
//   tsx infra/local/stack.ts up | down | status
//
// `up` is idempotent: a server already started by us and answering is left alone.
// `down` stops exactly the processes whose pids we recorded.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { READER_PASSWORD, READER_USER, serverConfigXml, usersXml } from './clickhouse-config.ts';
import { log4jProperties, serverProperties } from './kafka-config.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface StackSettings {
  localDir: string;
  /** Kafka jars, shared by every local dir of this checkout (downloaded once). */
  kafkaLibsDir: string;
  kafkaPort: number;
  kafkaControllerPort: number;
  clickhouseHttpPort: number;
  clickhouseTcpPort: number;
}

export interface StackConnection {
  KAFKA_BROKERS: string;
  CLICKHOUSE_URL: string;
  CLICKHOUSE_USER: string;
  CLICKHOUSE_PASSWORD: string;
  /** Read-only credentials for the query service. */
  CLICKHOUSE_READER_USER: string;
  CLICKHOUSE_READER_PASSWORD: string;
}

export class StackError extends Error {
  override name = 'StackError';
}

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new StackError(`${name} must be a port number (1..65535), got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function settingsFromEnv(): StackSettings {
  return {
    localDir: resolve(process.env.OPTOUT_LOCAL_DIR ?? join(repoRoot, '.local')),
    kafkaLibsDir: join(repoRoot, '.local', 'kafka', 'libs'),
    kafkaPort: intFromEnv('STACK_KAFKA_PORT', 9092),
    kafkaControllerPort: intFromEnv('STACK_KAFKA_CONTROLLER_PORT', 9093),
    clickhouseHttpPort: intFromEnv('STACK_CLICKHOUSE_HTTP_PORT', 8123),
    clickhouseTcpPort: intFromEnv('STACK_CLICKHOUSE_TCP_PORT', 9000),
  };
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

/** A loopback port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// ---------------------------------------------------------------- processes

function readPid(file: string): number | null {
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.setTimeout(500);
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
    socket.once('timeout', () => {
      socket.destroy();
      done(false);
    });
  });
}

async function waitFor(what: string, deadlineMs: number, probe: () => Promise<boolean>, logFile: string) {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
  throw new StackError(
    `${what} did not become ready within ${deadlineMs / 1000}s. Last log lines (${logFile}):\n${tail}`,
  );
}

function startDetached(cmd: string, args: string[], logFile: string, pidFile: string, cwd: string): number {
  mkdirSync(dirname(logFile), { recursive: true });
  const out = openSync(logFile, 'a');
  const child = spawn(cmd, args, { cwd, detached: true, stdio: ['ignore', out, out] });
  if (child.pid === undefined) throw new StackError(`could not start ${cmd}`);
  child.unref();
  writeFileSync(pidFile, String(child.pid));
  return child.pid;
}

async function stopPid(name: string, pidFile: string): Promise<void> {
  const pid = readPid(pidFile);
  if (pid === null || !isAlive(pid)) {
    rmSync(pidFile, { force: true });
    console.log(`${name}: not running`);
    return;
  }
  process.kill(pid, 'SIGTERM');
  const until = Date.now() + 20_000;
  while (isAlive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) {
    process.kill(pid, 'SIGKILL');
    while (isAlive(pid)) await new Promise((r) => setTimeout(r, 50));
  }
  rmSync(pidFile, { force: true });
  console.log(`${name}: stopped (pid ${pid})`);
}

function onPath(binary: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A port held by someone else is a clear error, not a mystery timeout later. */
async function ensurePortFree(port: number, variable: string, what: string) {
  if (await portOpen(port)) {
    throw new StackError(
      `port ${port} (for ${what}) is already in use by another process. Stop it, or choose another port with ${variable}=<port>.`,
    );
  }
}

// ---------------------------------------------------------------- Kafka

function kafkaDirs(s: StackSettings) {
  const dir = join(s.localDir, 'kafka');
  return {
    dir,
    libs: join(dir, 'libs'),
    pidFile: join(dir, 'broker.pid'),
    logFile: join(dir, 'log', 'stdout.log'),
  };
}

function ensureKafkaJars(libs: string) {
  if (existsSync(libs) && readdirSync(libs).some((f) => f.startsWith('kafka_2.13-'))) return;
  if (!onPath('java'))
    throw new StackError(
      'java is not installed: install a JDK 17+ (apt-get install openjdk-17-jre-headless).',
    );
  if (!onPath('mvn'))
    throw new StackError(
      'mvn is not installed: install Maven (apt-get install maven) to fetch the Kafka jars.',
    );
  console.log('kafka: fetching the broker jars from Maven Central (first start only)...');
  mkdirSync(libs, { recursive: true });
  execFileSync(
    'mvn',
    [
      '-q',
      '-B',
      '-f',
      join(repoRoot, 'infra/kafka/pom.xml'),
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${libs}`,
    ],
    { stdio: 'inherit' },
  );
}

async function kafkaReady(brokers: string): Promise<boolean> {
  const { Kafka, logLevel } = await import('kafkajs');
  const admin = new Kafka({
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 1000,
  }).admin();
  try {
    await admin.connect();
    await admin.listTopics();
    // The group coordinator must answer too, or the first consumer group join fails.
    await admin.describeGroups(['optout-stack-probe']);
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function kafkaUp(s: StackSettings): Promise<void> {
  const { dir, libs, pidFile, logFile } = kafkaDirs(s);
  const brokers = `127.0.0.1:${s.kafkaPort}`;
  const pid = readPid(pidFile);
  if (pid !== null && isAlive(pid)) {
    await waitFor('Kafka', 60_000, () => kafkaReady(brokers), logFile);
    console.log(`kafka: already running (pid ${pid})`);
    return;
  }
  await ensurePortFree(s.kafkaPort, 'STACK_KAFKA_PORT', 'Kafka');
  await ensurePortFree(s.kafkaControllerPort, 'STACK_KAFKA_CONTROLLER_PORT', 'the Kafka controller');
  ensureKafkaJars(libs);
  mkdirSync(join(dir, 'log'), { recursive: true });
  const props = join(dir, 'server.properties');
  writeFileSync(props, serverProperties({ dir, port: s.kafkaPort, controllerPort: s.kafkaControllerPort }));
  writeFileSync(join(dir, 'log4j.properties'), log4jProperties(dir));
  const classpath = `${libs}/*`;
  const jvm = [
    '-Xms256m',
    '-Xmx768m',
    `-Dlog4j.configuration=file:${join(dir, 'log4j.properties')}`,
    '-cp',
    classpath,
  ];
  if (!existsSync(join(dir, 'data', 'meta.properties'))) {
    const clusterId = execFileSync('java', [...jvm, 'kafka.tools.StorageTool', 'random-uuid'], {
      encoding: 'utf8',
    }).trim();
    execFileSync(
      'java',
      [...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props, '--ignore-formatted'],
      {
        stdio: 'ignore',
      },
    );
  }
  const started = startDetached('java', [...jvm, 'kafka.Kafka', props], logFile, pidFile, dir);
  await waitFor('Kafka', 90_000, () => kafkaReady(brokers), logFile);
  console.log(`kafka: started (pid ${started}) on ${brokers}`);
}

// ---------------------------------------------------------------- ClickHouse

function clickhouseDirs(s: StackSettings) {
  const dir = join(s.localDir, 'clickhouse');
  return { dir, pidFile: join(dir, 'server.pid'), logFile: join(dir, 'log', 'stdout.log') };
}

/** A current `clickhouse` binary if there is one, else Debian's clickhouse-server, else install it. */
function clickhouseCommand(): { cmd: string; args: string[] } {
  if (onPath('clickhouse')) return { cmd: 'clickhouse', args: ['server'] };
  if (onPath('clickhouse-server')) return { cmd: 'clickhouse-server', args: [] };
  const root = process.getuid?.() === 0;
  if (!root || !onPath('apt-get')) {
    throw new StackError(
      'no ClickHouse server found on PATH. Install one (Debian: apt-get install clickhouse-server; or a current `clickhouse` binary) and run this again.',
    );
  }
  console.log('clickhouse: installing clickhouse-server with apt-get (first start only)...');
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', 'clickhouse-server', 'clickhouse-client'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return { cmd: 'clickhouse-server', args: [] };
}

async function clickhouseReady(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/?query=${encodeURIComponent('SELECT 1')}`, {
      signal: AbortSignal.timeout(1000),
    });
    return response.ok && (await response.text()).trim() === '1';
  } catch {
    return false;
  }
}

async function clickhouseUp(s: StackSettings): Promise<void> {
  const { dir, pidFile, logFile } = clickhouseDirs(s);
  const url = `http://127.0.0.1:${s.clickhouseHttpPort}`;
  const pid = readPid(pidFile);
  if (pid !== null && isAlive(pid)) {
    await waitFor('ClickHouse', 30_000, () => clickhouseReady(url), logFile);
    console.log(`clickhouse: already running (pid ${pid})`);
    return;
  }
  await ensurePortFree(s.clickhouseHttpPort, 'STACK_CLICKHOUSE_HTTP_PORT', 'ClickHouse HTTP');
  await ensurePortFree(s.clickhouseTcpPort, 'STACK_CLICKHOUSE_TCP_PORT', 'ClickHouse native TCP');
  const { cmd, args } = clickhouseCommand();
  for (const sub of ['data', 'log']) mkdirSync(join(dir, sub), { recursive: true });
  const configFile = join(dir, 'config.xml');
  writeFileSync(
    configFile,
    serverConfigXml({ dir, httpPort: s.clickhouseHttpPort, tcpPort: s.clickhouseTcpPort }),
  );
  writeFileSync(join(dir, 'users.xml'), usersXml());
  const started = startDetached(cmd, [...args, `--config-file=${configFile}`], logFile, pidFile, dir);
  await waitFor('ClickHouse', 60_000, () => clickhouseReady(url), join(dir, 'log', 'server.err.log'));
  console.log(`clickhouse: started (pid ${started}) on ${url}`);
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

function printConnection(conn: StackConnection) {
  console.log('\nConnection settings:');
  for (const [key, value] of Object.entries(conn)) console.log(`  export ${key}=${value}`);
}

async function main(command: string | undefined) {
  switch (command) {
    case 'up': {
      const started = Date.now();
      printConnection(await stackUp());
      console.log(`\nstack up in ${((Date.now() - started) / 1000).toFixed(1)}s`);
      return;
    }
    case 'down':
      return stackDown();
    case 'status':
      process.exitCode = (await stackStatus()) ? 0 : 1;
      return;
    default:
      console.error('usage: stack.ts up | down | status');
      process.exitCode = 2;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv[2]).catch((error: unknown) => {
    console.error(error instanceof StackError ? `stack: ${error.message}` : error);
    process.exitCode = 1;
  });
}
