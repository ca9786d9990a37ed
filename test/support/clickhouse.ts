// ClickHouse clients on the test stack: the writer (default user, as ingest and
// migrations) and the read-only user (as the query service). Over HTTPS when the
// stack's CLICKHOUSE_URL is https:// (with CLICKHOUSE_CA_FILE for a private CA).
import { type ClickHouseClient, clickhouseConnection, createClickHouseClient } from '@optout/clickhouse';
import { clickhouseShape, parseEnv } from '@optout/config';
import { testStack } from './env.ts';

function connection(user: string, password: string) {
  return clickhouseConnection(
    parseEnv(clickhouseShape, {
      CLICKHOUSE_URL: testStack().clickhouseUrl,
      CLICKHOUSE_USER: user,
      CLICKHOUSE_PASSWORD: password,
      CLICKHOUSE_CA_FILE: process.env.CLICKHOUSE_CA_FILE,
    }),
  );
}

export function writerClient(database?: string): ClickHouseClient {
  const stack = testStack();
  return createClickHouseClient({
    ...connection(stack.clickhouseUser, stack.clickhousePassword),
    ...(database ? { database } : {}),
  });
}

export function readerClient(database?: string): ClickHouseClient {
  const stack = testStack();
  return createClickHouseClient({
    ...connection(stack.readerUser, stack.readerPassword),
    readOnly: true,
    ...(database ? { database } : {}),
  });
}
