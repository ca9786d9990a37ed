// Where the local stack keeps its files, which ports it binds (127.0.0.1 only),
// which Kafka version it runs and which optional secure listeners it opens.
// Everything comes from the environment so a second stack (another agent, a
// test that restarts its broker) can run beside the first:
//
//   OPTOUT_LOCAL_DIR             state folder (default <repo>/.local)
//   STACK_KAFKA_VERSION          Apache Kafka release from Maven Central (default 4.4.0; 3.9.1 still tested)
//   STACK_KAFKA_PORT             PLAINTEXT listener (9092)
//   STACK_KAFKA_CONTROLLER_PORT  KRaft controller (9093)
//   STACK_KAFKA_SASL_SSL_PORT    optional SASL_SSL listener (SCRAM, PLAIN, OAUTHBEARER over TLS)
//   STACK_CLICKHOUSE_HTTP_PORT   ClickHouse HTTP (8123)
//   STACK_CLICKHOUSE_TCP_PORT    ClickHouse native (9000)
//   STACK_CLICKHOUSE_HTTPS_PORT  optional ClickHouse HTTPS
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The release the stack runs unless STACK_KAFKA_VERSION says otherwise: the 4.x
 * line real clusters are moving to. 3.9.1 (the last release with every old
 * protocol version) stays supported; CI runs the smoke tests on it too
 * (docs/kafka-compatibility.md). Storage formatted by 3.9 is upgraded in place
 * by a 4.x start; going back is refused (infra/local/kafka.ts).
 */
export const DEFAULT_KAFKA_VERSION = '4.4.0';

export interface StackSettings {
  localDir: string;
  /** Apache Kafka release (`org.apache.kafka:kafka_2.13` on Maven Central). */
  kafkaVersion: string;
  kafkaPort: number;
  kafkaControllerPort: number;
  /** A SASL_SSL listener beside PLAINTEXT, when set. */
  kafkaSaslSslPort?: number | undefined;
  clickhouseHttpPort: number;
  clickhouseTcpPort: number;
  /** An HTTPS port beside HTTP, when set. */
  clickhouseHttpsPort?: number | undefined;
}

export class StackError extends Error {
  override name = 'StackError';
}

function portFromEnv(name: string, fallback: number): number;
function portFromEnv(name: string, fallback: undefined): number | undefined;
function portFromEnv(name: string, fallback: number | undefined): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new StackError(`${name} must be a port number (1..65535), got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function kafkaVersionFromEnv(): string {
  const raw = process.env.STACK_KAFKA_VERSION?.trim() || DEFAULT_KAFKA_VERSION;
  if (!/^\d+\.\d+\.\d+$/.test(raw)) {
    throw new StackError(
      `STACK_KAFKA_VERSION must be a release such as 3.9.1 or 4.4.0, got ${JSON.stringify(raw)}`,
    );
  }
  return raw;
}

export function settingsFromEnv(): StackSettings {
  return {
    localDir: resolve(process.env.OPTOUT_LOCAL_DIR ?? join(repoRoot, '.local')),
    kafkaVersion: kafkaVersionFromEnv(),
    kafkaPort: portFromEnv('STACK_KAFKA_PORT', 9092),
    kafkaControllerPort: portFromEnv('STACK_KAFKA_CONTROLLER_PORT', 9093),
    kafkaSaslSslPort: portFromEnv('STACK_KAFKA_SASL_SSL_PORT', undefined),
    clickhouseHttpPort: portFromEnv('STACK_CLICKHOUSE_HTTP_PORT', 8123),
    clickhouseTcpPort: portFromEnv('STACK_CLICKHOUSE_TCP_PORT', 9000),
    clickhouseHttpsPort: portFromEnv('STACK_CLICKHOUSE_HTTPS_PORT', undefined),
  };
}

/** [major, minor] of a release string. */
export function releaseOf(version: string): [number, number] {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return [major, minor];
}

/**
 * The broker jars of one release, shared by every state folder of this checkout
 * (downloaded once per version, under the repo's own .local/).
 */
export function kafkaLibsDir(version: string): string {
  return join(repoRoot, '.local', 'kafka-libs', version);
}
