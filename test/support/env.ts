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

const KAFKA_SECURITY = /^KAFKA_(SSL|SASL)(_|$)/;

/**
 * The KAFKA_SSL* / KAFKA_SASL* variables of the environment: set when the test
 * stack's brokers are a secure listener (SPEC 7), so a test can pass them on to
 * the ingest and query services it starts.
 */
export function kafkaSecurityEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => KAFKA_SECURITY.test(entry[0]) && entry[1] !== undefined,
    ),
  );
}
