// Vitest global setup: make a real Kafka and a real ClickHouse available to every
// test. KAFKA_BROKERS / CLICKHOUSE_URL from the environment win; otherwise the
// project's own local stack is started (and left running for the next run:
// `npm run stack:down` stops it). Workers inherit the variables set here.
import { stackUp } from '../../infra/local/stack.ts';

export default async function setup() {
  if (process.env.KAFKA_BROKERS && process.env.CLICKHOUSE_URL) return;
  const connection = await stackUp();
  for (const [key, value] of Object.entries(connection)) {
    if (!process.env[key]) process.env[key] = value;
  }
}
