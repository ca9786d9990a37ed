// ClickHouse clients on the test stack: the writer (default user, as ingest and
// migrations) and the read-only user (as the query service).
import { type ClickHouseClient, createClickHouseClient } from '@optout/clickhouse';
import { testStack } from './env.ts';

export function writerClient(database?: string): ClickHouseClient {
  const stack = testStack();
  return createClickHouseClient({
    url: stack.clickhouseUrl,
    username: stack.clickhouseUser,
    password: stack.clickhousePassword,
    ...(database ? { database } : {}),
  });
}

export function readerClient(database?: string): ClickHouseClient {
  const stack = testStack();
  return createClickHouseClient({
    url: stack.clickhouseUrl,
    username: stack.readerUser,
    password: stack.readerPassword,
    readOnly: true,
    ...(database ? { database } : {}),
  });
}
