// The ClickHouse server and credentials from the CLICKHOUSE_* variables of
// SPEC 7, with the TLS files read once at start-up (@optout/config has checked
// they are readable and go with an https:// URL), and the cluster the schema
// lives on (CLICKHOUSE_CLUSTER, CLICKHOUSE_REPLICA_URLS), which a client built
// from it remembers (client.ts: clusterOf) so that migrations and erasure
// work on the cluster.
//
//   createClickHouseClient({ ...clickhouseConnection(config), database, application })
import { readFileSync } from 'node:fs';
import type { ClickHouseConfig } from '@optout/config';
import type { ClickHouseTls } from './client.ts';

export type ClickHouseConnectionConfig = Pick<
  ClickHouseConfig,
  | 'CLICKHOUSE_URL'
  | 'CLICKHOUSE_USER'
  | 'CLICKHOUSE_PASSWORD'
  | 'CLICKHOUSE_CA_FILE'
  | 'CLICKHOUSE_CERT_FILE'
  | 'CLICKHOUSE_KEY_FILE'
  | 'CLICKHOUSE_CLUSTER'
  | 'CLICKHOUSE_REPLICA_URLS'
>;

export interface ClickHouseConnection {
  url: string;
  username: string;
  password: string;
  tls?: ClickHouseTls | undefined;
  /** The cluster of the schema (docs/clickhouse-cluster.md); undefined: a single server. */
  cluster?: string | undefined;
  /** Every server of the cluster (CLICKHOUSE_REPLICA_URLS), reached with the same credentials. */
  replicaUrls?: string[] | undefined;
}

function tlsOf(config: ClickHouseConnectionConfig): ClickHouseTls | undefined {
  if (config.CLICKHOUSE_CA_FILE === undefined) return undefined;
  return {
    ca: readFileSync(config.CLICKHOUSE_CA_FILE),
    ...(config.CLICKHOUSE_CERT_FILE !== undefined ? { cert: readFileSync(config.CLICKHOUSE_CERT_FILE) } : {}),
    ...(config.CLICKHOUSE_KEY_FILE !== undefined ? { key: readFileSync(config.CLICKHOUSE_KEY_FILE) } : {}),
  };
}

export function clickhouseConnection(config: ClickHouseConnectionConfig): ClickHouseConnection {
  return {
    url: config.CLICKHOUSE_URL,
    username: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
    tls: tlsOf(config),
    cluster: config.CLICKHOUSE_CLUSTER,
    replicaUrls: config.CLICKHOUSE_REPLICA_URLS,
  };
}
