// Vitest global setup: make a real Kafka and a real ClickHouse available to every
// test, in this order of preference:
//   1. KAFKA_BROKERS and CLICKHOUSE_URL from the environment (an existing stack);
//   2. the project's own local stack (infra/local/stack.ts), started if needed and
//      left running for the next run (`npm run stack:down` stops it);
//   3. Docker containers (testcontainers) when OPTOUT_TEST_STACK=docker, or when
//      there is no Java to run Kafka locally but a Docker engine answers.
// Workers inherit the variables set here.
import { execFileSync } from 'node:child_process';
import { stackUp } from '../../infra/local/stack.ts';
import { dockerAvailable, startContainers } from './containers.ts';

function hasJava(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v java'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export default async function setup() {
  if (process.env.KAFKA_BROKERS && process.env.CLICKHOUSE_URL) return;
  const useDocker = process.env.OPTOUT_TEST_STACK === 'docker' || (!hasJava() && (await dockerAvailable()));
  let teardown: (() => Promise<void>) | undefined;
  let connection: Record<string, string>;
  if (useDocker) {
    const containers = await startContainers();
    connection = { ...containers.connection };
    teardown = containers.stop;
  } else {
    connection = { ...(await stackUp()) };
  }
  for (const [key, value] of Object.entries(connection)) {
    if (!process.env[key]) process.env[key] = value;
  }
  return teardown;
}
