// Connection settings the global setup (test/setup/stack.ts) put in the environment.
export function testStack() {
  const brokers = process.env.KAFKA_BROKERS;
  const clickhouseUrl = process.env.CLICKHOUSE_URL;
  if (!brokers || !clickhouseUrl)
    throw new Error('test stack not configured: run through vitest (global setup)');
  return {
    brokers: brokers.split(','),
    clickhouseUrl,
    clickhouseUser: process.env.CLICKHOUSE_USER ?? 'default',
    clickhousePassword: process.env.CLICKHOUSE_PASSWORD ?? '',
    readerUser: process.env.CLICKHOUSE_READER_USER ?? 'optout_reader',
    readerPassword: process.env.CLICKHOUSE_READER_PASSWORD ?? 'optout_reader',
  };
}
