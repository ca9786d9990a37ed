// A private stack with the secure listeners on (Kafka SASL_SSL, ClickHouse
// HTTPS), on free ports and in a temporary folder, for the security tests. The
// Kafka release is STACK_KAFKA_VERSION's, like the shared stack's. Plaintext
// ports stay open beside the secure ones (the broker talks to itself on
// PLAINTEXT); the tests use only the secure ones.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freePort,
  kafkaStart,
  kafkaStop,
  type SecureStackConnection,
  type StackSettings,
  secureConnectionOf,
  settingsFromEnv,
  stackDown,
  stackUp,
} from '../../infra/local/stack.ts';

export interface SecureStack {
  settings: StackSettings;
  kafka: NonNullable<SecureStackConnection['kafka']>;
  /** Undefined when started with `{ clickhouse: false }`. */
  clickhouse: SecureStackConnection['clickhouse'];
  clientCertFile: string;
  clientKeyFile: string;
  /** The CA that signed the stack's certificates. */
  caFile: string;
  stop(): Promise<void>;
}

/** `clickhouse: false`: Kafka only (the Kafka-level tests need no database). */
export async function startSecureStack(options: { clickhouse?: boolean } = {}): Promise<SecureStack> {
  const withClickHouse = options.clickhouse ?? true;
  const dir = mkdtempSync(join(tmpdir(), 'optout-secure-'));
  const settings: StackSettings = {
    ...settingsFromEnv(),
    localDir: dir,
    kafkaPort: await freePort(),
    kafkaControllerPort: await freePort(),
    kafkaSaslSslPort: await freePort(),
    clickhouseHttpPort: await freePort(),
    clickhouseTcpPort: await freePort(),
    clickhouseHttpsPort: withClickHouse ? await freePort() : undefined,
  };
  const stop = async () => {
    if (withClickHouse) await stackDown(settings);
    else await kafkaStop(settings);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (withClickHouse) await stackUp(settings);
    else await kafkaStart(settings);
  } catch (error) {
    await stop();
    throw error;
  }
  const secure = secureConnectionOf(settings);
  if (!secure.kafka || (withClickHouse && !secure.clickhouse)) throw new Error('secure listeners missing');
  return {
    settings,
    kafka: secure.kafka,
    clickhouse: secure.clickhouse,
    clientCertFile: secure.clientCertFile,
    clientKeyFile: secure.clientKeyFile,
    caFile: secure.kafka.KAFKA_SSL_CA_FILE,
    stop,
  };
}
