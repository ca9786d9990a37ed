// One way to build a @clickhouse/client instance that works on the 18.16
// server of the local stack and on current servers.
//
// What 18.16 refuses, and so what this never sends by default (reference doc 2-3):
// - response compression: it adds the setting enable_http_compression=1, which a
//   readonly=1 user may not change (Code 164); on loopback it only costs CPU;
// - clickhouse_settings for readOnly clients (readonly=1 refuses any setting;
//   callers add max_execution_time per query, which readonly=2 allows);
// - query_params (18.16 has none: bind values with ./sql.ts instead).
// Writers compress request bodies with gzip, which 18.16 accepts, except on
// loopback: there the bytes cost nothing and the gzip costs the CPU ingest
// needs (a 2-core machine running ClickHouse beside it).
//
// Over HTTPS (SPEC 7) the server is verified against `tls.ca` when given (a
// private CA), else Node's CA store; `tls.cert` + `tls.key` add a client
// certificate. The password travels in the Authorization header, never in the URL.
//
// On a cluster (CLICKHOUSE_CLUSTER) the client remembers the cluster's name
// (clusterOf: migrations and erasure write their DDL ON CLUSTER), and a writer
// sends the settings that make its writes durable on every replica before they
// return (CLUSTER_WRITER_SETTINGS, docs/clickhouse-cluster.md).
import { type ClickHouseClient, type ClickHouseSettings, createClient } from '@clickhouse/client';
import type { Logger } from '@optout/observability';
import { clientLoggerClass, defaultClientLogger, libraryLevel } from './client-log.ts';

export type { ClickHouseClient, ClickHouseSettings };

export interface ClickHouseClientOptions {
  url: string;
  username: string;
  password: string;
  /** Default database of every request; the server's default when omitted. */
  database?: string;
  /** A reader (query service): no request compression, no settings sent. */
  readOnly?: boolean;
  /** Client-side limit per request (the server query keeps running: KILL QUERY to stop it). */
  requestTimeoutMs?: number;
  /** Shown in system.query_log's http_user_agent. */
  application?: string;
  /** PEM contents (see ./connection.ts for reading them from CLICKHOUSE_*_FILE). */
  tls?: ClickHouseTls | undefined;
  /** The cluster the schema lives on (CLICKHOUSE_CLUSTER); undefined: a single server. */
  cluster?: string | undefined;
  /** Every server of the cluster (CLICKHOUSE_REPLICA_URLS): see ClusterOfClient. */
  replicaUrls?: string[] | undefined;
  /** Where the client library's own lines go (./client-log.ts); a shared pino logger when omitted. */
  logger?: Logger | undefined;
}

/** What a client built for a cluster knows of it. */
export interface ClusterOfClient {
  name: string;
  /** The servers' URLs (CLICKHOUSE_REPLICA_URLS); empty when not configured. */
  replicaUrls: readonly string[];
  /**
   * A client of one server (one of replicaUrls) with the same credentials,
   * TLS, database and settings, and no cluster of its own: for what must be
   * done or asked on each server (erasure's mutations). The caller closes it.
   */
  connect(url: string): ClickHouseClient;
}

export interface ClickHouseTls {
  ca: Buffer;
  cert?: Buffer | undefined;
  key?: Buffer | undefined;
}

function clientTls(tls: ClickHouseTls) {
  return tls.cert && tls.key ? { ca_cert: tls.ca, cert: tls.cert, key: tls.key } : { ca_cert: tls.ca };
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
}

/**
 * What a writer sends on the cluster, with every request (ingest, migrations,
 * the consent-index build, erasure's re-derivations):
 * - insert_distributed_sync=1: an INSERT into a Distributed table returns only
 *   once every shard it routes rows to has written them, instead of queueing
 *   them on the server that took the INSERT for a background send;
 * - insert_deduplicate=0: the Distributed tables write each row to every
 *   replica of its shard (their cluster has internal_replication=false), and
 *   each replica must keep its own copy. With block de-duplication the second
 *   replica would drop its copy as a duplicate of the first one's and hold the
 *   rows only once it has fetched them: a read right after the INSERT could
 *   miss them. Every table is idempotent to repeated rows (ReplacingMergeTree by
 *   identity, min states, distinct counts), so duplicates cost only merges.
 * - distributed_product_mode=global: the exposure rollup reads a Distributed
 *   table with `IN (subquery)` over another one (its pending marks), which the
 *   default mode (deny) refuses with code 288; `global` runs the subquery once
 *   and ships its result to every shard, exact however the tables are sharded
 *   (the query service sends the same per query, services/query/src/warehouse.ts).
 * All three are accepted by 18.16 and by current servers.
 */
export const CLUSTER_WRITER_SETTINGS = {
  insert_distributed_sync: 1,
  insert_deduplicate: 0,
  distributed_product_mode: 'global',
} as const;

const clusters = new WeakMap<ClickHouseClient, ClusterOfClient>();

/** The cluster a client was built for (createClickHouseClient's `cluster`), undefined for a single server. */
export function clusterOf(client: ClickHouseClient): ClusterOfClient | undefined {
  return clusters.get(client);
}

function clientConfig(options: ClickHouseClientOptions, readOnly: boolean) {
  const logger = options.logger ?? defaultClientLogger();
  return {
    url: options.url,
    username: options.username,
    password: options.password,
    ...(options.database ? { database: options.database } : {}),
    ...(options.tls ? { tls: clientTls(options.tls) } : {}),
    application: options.application ?? (readOnly ? 'optout-reader' : 'optout-writer'),
    request_timeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    compression: { response: false, request: !readOnly && !isLoopback(options.url) },
    log: { LoggerClass: clientLoggerClass(logger), level: libraryLevel(logger) },
  };
}

export function createClickHouseClient(options: ClickHouseClientOptions): ClickHouseClient {
  const readOnly = options.readOnly ?? false;
  const client = createClient({
    ...clientConfig(options, readOnly),
    // Otherwise explicitly empty: settings are per query, where the caller knows the user's profile.
    clickhouse_settings: options.cluster && !readOnly ? { ...CLUSTER_WRITER_SETTINGS } : {},
  });
  if (options.cluster) {
    const { cluster, replicaUrls, ...server } = options;
    clusters.set(client, {
      name: cluster,
      replicaUrls: replicaUrls ?? [],
      connect: (url) =>
        createClient({
          ...clientConfig({ ...server, url }, readOnly),
          clickhouse_settings: readOnly ? {} : { ...CLUSTER_WRITER_SETTINGS },
        }),
    });
  }
  return client;
}
