// The test stack in Docker containers (testcontainers), for machines with a
// Docker engine and without Java or a ClickHouse server. Not exercised here:
// these machines have no Docker engine (see README, "Requirements").
import { GenericContainer, getContainerRuntimeClient, type StartedTestContainer, Wait } from 'testcontainers';
import { READER_PASSWORD, READER_USER } from '../../infra/local/clickhouse-config.ts';
import { freePort, type StackConnection } from '../../infra/local/stack.ts';

export async function dockerAvailable(): Promise<boolean> {
  try {
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

const readerXml = `<clickhouse>
  <profiles><reader><readonly>2</readonly></reader></profiles>
  <users><${READER_USER}><password>${READER_PASSWORD}</password><networks><ip>::/0</ip></networks>
    <profile>reader</profile><quota>default</quota></${READER_USER}></users>
</clickhouse>`;

export async function startContainers(): Promise<{ connection: StackConnection; stop: () => Promise<void> }> {
  // Kafka advertises the host port it is reached on, so that port is fixed up front.
  const kafkaPort = await freePort();
  const started: StartedTestContainer[] = [];
  try {
    started.push(
      await new GenericContainer('apache/kafka:4.4.0')
        .withExposedPorts({ container: 9092, host: kafkaPort })
        .withEnvironment({
          KAFKA_NODE_ID: '1',
          KAFKA_PROCESS_ROLES: 'broker,controller',
          KAFKA_LISTENERS: 'PLAINTEXT://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093',
          KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${kafkaPort}`,
          KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
          KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
          KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
          KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
          KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
          KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
          KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
          KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
        })
        .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
        .start(),
    );
    const clickhouse = await new GenericContainer('clickhouse/clickhouse-server:25.8')
      .withExposedPorts(8123)
      .withEnvironment({ CLICKHOUSE_SKIP_USER_SETUP: '1' })
      .withCopyContentToContainer([
        { content: readerXml, target: '/etc/clickhouse-server/users.d/optout-reader.xml' },
      ])
      .withWaitStrategy(Wait.forHttp('/ping', 8123))
      .start();
    started.push(clickhouse);
    return {
      connection: {
        KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`,
        CLICKHOUSE_URL: `http://${clickhouse.getHost()}:${clickhouse.getMappedPort(8123)}`,
        CLICKHOUSE_USER: 'default',
        CLICKHOUSE_PASSWORD: '',
        CLICKHOUSE_READER_USER: READER_USER,
        CLICKHOUSE_READER_PASSWORD: READER_PASSWORD,
      },
      stop: async () => {
        await Promise.all(started.map((c) => c.stop()));
      },
    };
  } catch (error) {
    await Promise.all(started.map((c) => c.stop().catch(() => {})));
    throw error;
  }
}
