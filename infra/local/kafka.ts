// The local Kafka broker: jars of the chosen release from Maven Central (cached
// per version), storage formatted once with the stack's SCRAM users, started
// as a plain java process, ready when a real client call answers.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureJars, type JarSet } from './jars.ts';
import { log4j2Properties, log4jProperties, type SaslSslListener, serverProperties } from './kafka-config.ts';
import { ensurePortFree, isAlive, readPid, startDetached, waitFor } from './processes.ts';
import { KAFKA_SASL_USER, stackSecrets } from './secrets.ts';
import { kafkaLibsDir, releaseOf, repoRoot, StackError, type StackSettings } from './settings.ts';
import { ensureStackTls } from './tls.ts';

export function kafkaDirs(s: StackSettings) {
  const dir = join(s.localDir, 'kafka');
  return {
    dir,
    libs: kafkaLibsDir(s.kafkaVersion),
    pidFile: join(dir, 'broker.pid'),
    logFile: join(dir, 'log', 'stdout.log'),
    /** The release that last ran on this storage. */
    versionFile: join(dir, 'kafka-version'),
    /** Written when the storage was formatted with the SCRAM users. */
    scramMarker: join(dir, 'scram-users'),
  };
}

export const isKafka4 = (version: string) => releaseOf(version)[0] >= 4;

/** The jars of Kafka `version` (its logging backend changed in 4.0), for ensureJars. */
export function kafkaJars(version: string): JarSet {
  return {
    what: `Kafka ${version}`,
    pom: join(repoRoot, 'infra/kafka/pom.xml'),
    libs: kafkaLibsDir(version),
    marker: `kafka_2.13-${version}.jar`,
    properties: { 'kafka.version': version, 'kafka.logging': isKafka4(version) ? 'log4j2' : 'reload4j' },
  };
}

export async function kafkaReady(brokers: string): Promise<boolean> {
  // Through packages/kafka, the only home of the client library (no logger: silent while it waits).
  const { createAdmin, createKafka } = await import('@optout/kafka');
  const admin = createAdmin(createKafka({ brokers: [brokers], clientId: 'optout-stack-probe', retries: 0 }));
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

/** Storage written by a newer release cannot be read by an older one: say so instead of a crash loop. */
function refuseDowngrade(s: StackSettings, versionFile: string) {
  if (!existsSync(versionFile)) return;
  const previous = readFileSync(versionFile, 'utf8').trim();
  const [pMajor, pMinor] = releaseOf(previous);
  const [major, minor] = releaseOf(s.kafkaVersion);
  if (pMajor > major || (pMajor === major && pMinor > minor)) {
    throw new StackError(
      `the Kafka storage in ${s.localDir} was last used by Kafka ${previous}; STACK_KAFKA_VERSION=${s.kafkaVersion} cannot read it. ` +
        'Use another OPTOUT_LOCAL_DIR, or stop the stack and delete that folder.',
    );
  }
}

function saslSslListener(s: StackSettings): SaslSslListener | undefined {
  if (s.kafkaSaslSslPort === undefined) return undefined;
  const secrets = stackSecrets(s.localDir);
  const tls = ensureStackTls(s.localDir, secrets.keystorePassword);
  return {
    port: s.kafkaSaslSslPort,
    keystore: tls.serverKeystore,
    keystorePassword: secrets.keystorePassword,
    truststore: tls.caFile,
    plainUsers: { [KAFKA_SASL_USER]: secrets.kafkaSaslPassword },
  };
}

/**
 * Writes a broker's logging configuration into `dir` (both backends' files:
 * Kafka 4 reads log4j2, 3.x reload4j) and returns the JVM flag that names the
 * one `version` reads. Shared by the single node and the cluster's nodes.
 */
export function brokerLogging(version: string, dir: string): string {
  writeFileSync(join(dir, 'log4j.properties'), log4jProperties(dir));
  writeFileSync(join(dir, 'log4j2.properties'), log4j2Properties(dir));
  return isKafka4(version)
    ? `-Dlog4j2.configurationFile=file:${join(dir, 'log4j2.properties')}`
    : `-Dlog4j.configuration=file:${join(dir, 'log4j.properties')}`;
}

function jvmArgs(logging: string, libs: string): string[] {
  return ['-Xms256m', '-Xmx768m', logging, '-cp', `${libs}/*`];
}

/**
 * Formats the storage once. The SCRAM users are created here, by Kafka's own
 * StorageTool (--add-scram, KRaft's way since 3.5), whether or not the SASL_SSL
 * listener is on: enabling it later needs no re-format.
 */
function formatStorage(s: StackSettings, jvm: string[], props: string, scramMarker: string) {
  const { kafkaSaslPassword } = stackSecrets(s.localDir);
  const clusterId = execFileSync('java', [...jvm, 'kafka.tools.StorageTool', 'random-uuid'], {
    encoding: 'utf8',
  }).trim();
  const scram = ['SCRAM-SHA-512', 'SCRAM-SHA-256'].flatMap((mechanism) => [
    '--add-scram',
    `${mechanism}=[name=${KAFKA_SASL_USER},password=${kafkaSaslPassword}]`,
  ]);
  try {
    // Its output lists the salted credentials, never the password: discarded all the same.
    execFileSync(
      'java',
      [
        ...jvm,
        'kafka.tools.StorageTool',
        'format',
        '-t',
        clusterId,
        '-c',
        props,
        '--ignore-formatted',
        ...scram,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim().split('\n').slice(-5).join('\n');
    // Not the error itself: its message repeats the command line, passwords included.
    throw new StackError(
      `could not format the Kafka storage in ${s.localDir}: ${stderr || 'StorageTool failed'}`,
    );
  }
  writeFileSync(scramMarker, `${KAFKA_SASL_USER}\n`);
}

export async function kafkaUp(s: StackSettings): Promise<void> {
  const { dir, libs, pidFile, logFile, versionFile, scramMarker } = kafkaDirs(s);
  const brokers = `127.0.0.1:${s.kafkaPort}`;
  const pid = readPid(pidFile);
  if (pid !== null && isAlive(pid)) {
    await waitFor('Kafka', 60_000, () => kafkaReady(brokers), logFile);
    const running = existsSync(versionFile) ? readFileSync(versionFile, 'utf8').trim() : 'unknown version';
    const note =
      running === s.kafkaVersion ? '' : ` (STACK_KAFKA_VERSION=${s.kafkaVersion} applies at its next start)`;
    console.log(`kafka: already running (pid ${pid}, Kafka ${running})${note}`);
    return;
  }
  await ensurePortFree(s.kafkaPort, 'STACK_KAFKA_PORT', 'Kafka');
  await ensurePortFree(s.kafkaControllerPort, 'STACK_KAFKA_CONTROLLER_PORT', 'the Kafka controller');
  if (s.kafkaSaslSslPort !== undefined)
    await ensurePortFree(s.kafkaSaslSslPort, 'STACK_KAFKA_SASL_SSL_PORT', 'the Kafka SASL_SSL listener');
  refuseDowngrade(s, versionFile);
  ensureJars(kafkaJars(s.kafkaVersion));
  mkdirSync(join(dir, 'log'), { recursive: true });
  const props = join(dir, 'server.properties');
  const saslSsl = saslSslListener(s);
  const formatted = existsSync(join(dir, 'data', 'meta.properties'));
  if (saslSsl && formatted && !existsSync(scramMarker)) {
    throw new StackError(
      `the Kafka storage in ${dir} was formatted without the SCRAM users the SASL_SSL listener needs. ` +
        'Use another OPTOUT_LOCAL_DIR, or stop the stack and delete that folder.',
    );
  }
  // 0600: with the SASL_SSL listener it holds the keystore password and the PLAIN users.
  writeFileSync(
    props,
    serverProperties({ dir, port: s.kafkaPort, controllerPort: s.kafkaControllerPort, saslSsl }),
    { mode: 0o600 },
  );
  chmodSync(props, 0o600);
  const jvm = jvmArgs(brokerLogging(s.kafkaVersion, dir), libs);
  if (!formatted) formatStorage(s, jvm, props, scramMarker);
  const started = startDetached('java', [...jvm, 'kafka.Kafka', props], logFile, pidFile, dir);
  writeFileSync(versionFile, `${s.kafkaVersion}\n`);
  await waitFor('Kafka', 90_000, () => kafkaReady(brokers), logFile);
  const secure = s.kafkaSaslSslPort === undefined ? '' : `, SASL_SSL on 127.0.0.1:${s.kafkaSaslSslPort}`;
  console.log(`kafka: started Kafka ${s.kafkaVersion} (pid ${started}) on ${brokers}${secure}`);
}
