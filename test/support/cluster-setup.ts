// Vitest global setup of the cluster tests (test/cluster/vitest.config.ts):
// brings the local cluster up if it is not (idempotent, as `npm run stack:up
// -- --cluster`), and points the environment at it, so that what the other
// tests' helpers read (test/support/env.ts: KAFKA_BROKERS, CLICKHOUSE_URL and
// the reader's credentials) names the cluster. It stays up for the next run;
// `npm run stack:down -- --cluster` stops it (.ci/run does).
import { clusterUp } from '../../infra/local/cluster/stack.ts';

export default async function setup() {
  const connection = await clusterUp();
  for (const [key, value] of Object.entries(connection)) process.env[key] = value;
}
