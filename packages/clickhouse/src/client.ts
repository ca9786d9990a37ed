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
import { type ClickHouseClient, createClient } from '@clickhouse/client';

export type { ClickHouseClient };

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

export function createClickHouseClient(options: ClickHouseClientOptions): ClickHouseClient {
  const readOnly = options.readOnly ?? false;
  return createClient({
    url: options.url,
    username: options.username,
    password: options.password,
    ...(options.database ? { database: options.database } : {}),
    ...(options.tls ? { tls: clientTls(options.tls) } : {}),
    application: options.application ?? (readOnly ? 'optout-reader' : 'optout-writer'),
    request_timeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    compression: { response: false, request: !readOnly && !isLoopback(options.url) },
    // Explicitly empty: settings are per query, where the caller knows the user's profile.
    clickhouse_settings: {},
  });
}
