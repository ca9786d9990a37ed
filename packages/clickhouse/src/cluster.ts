// The cluster variant of the schema (docs/clickhouse-cluster.md), derived from
// the same migration files as the single server's: one source of truth, the
// same versions and checksums in schema_migrations (so "is this database at
// this release's migrations?" has one answer), and no second copy of every
// column list to drift. Each table T of a migration becomes, ON CLUSTER:
//
//   T_local  the replicated table on every server (Replicated*MergeTree, its
//            ZooKeeper path per shard, database and table; or Null, as T was)
//   T        a Distributed table over T_local on the write cluster, sharded by
//            the key of shardingKey(): what ingest and the query service use.
//
// Two <remote_servers> definitions name the same shards and replicas:
// - CLICKHOUSE_CLUSTER (internal_replication=true): the DDL and erasure's
//   mutations, which 18.16 refuses ON CLUSTER against replicated tables of a
//   cluster that does not replicate internally (code 371);
// - writeClusterOf(CLICKHOUSE_CLUSTER) (internal_replication=false): the
//   Distributed tables, so an INSERT writes every replica of the shard itself
//   and returns once all of them hold the rows (with the writer settings of
//   client.ts). That is what lets ingest read its own writes back from any
//   replica, and keeps a committed offset behind rows held by two servers.
//   An ALTER of a Distributed table runs ON CLUSTER through it too: 18.16
//   refuses to ALTER a table that is not replicated on the other (code 371).
//
// Only the statement kinds the migrations use are translated; any other is
// refused with a message naming it, so a new kind gets its rule (and its test
// in cluster.test.ts) before it can reach a cluster.
import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client';
import { clusterOf } from './client.ts';
import { identifier, literal, sql } from './sql.ts';

export interface ClusterTarget {
  /** The DDL cluster (CLICKHOUSE_CLUSTER). */
  cluster: string;
  database: string;
}

/** The <remote_servers> name of the cluster the Distributed tables write through. */
export const writeClusterOf = (cluster: string) => `${cluster}_writes`;

/** The replicated table behind the Distributed table `table`. */
export const localTableOf = (table: string) => `${table}_local`;

/**
 * How rows are spread over shards. Every table with a user keeps all of a
 * user's rows on one shard: raw events, facts and their versions, latest-known
 * values, the consent index and the ledger. That is what keeps FINAL,
 * argMax(..., version) and the recompute reads exact through Distributed
 * tables: all versions of a row, and everything a recompute reads for a user,
 * are on one shard. The others have their own identity.
 */
const OWN_SHARDING_KEYS: Readonly<Record<string, string>> = {
  campaign_names: 'cityHash64(app_id, campaign_id)',
  erasure_jobs: 'cityHash64(job_id)',
  // One row per partition count: one shard holds it; read through the Distributed table.
  consent_index_builds: 'kafka_partitions',
  schema_migrations: 'version',
  // The exposure rollup's aggregates: every version of a row on one shard (FINAL, argMax through Distributed).
  exposure_day_starts: 'cityHash64(app_id, channel, day_start)',
  exposure_rollups: 'cityHash64(app_id)',
};
const USER_KEY = 'cityHash64(app_id, user_id)';

export function shardingKey(table: string, columns: readonly string[]): string {
  const own = OWN_SHARDING_KEYS[table];
  if (own) return own;
  if (columns.includes('app_id') && columns.includes('user_id')) return USER_KEY;
  throw new Error(
    `no sharding key for table ${table} on a cluster: give it one in packages/clickhouse/src/cluster.ts`,
  );
}

const PLAIN = /^[A-Za-z_][A-Za-z0-9_]*$/;

function plain(kind: string, name: string): string {
  if (!PLAIN.test(name)) throw new Error(`${kind} ${JSON.stringify(name)} is not a plain identifier`);
  return name;
}

/** Drops `-- ...` comments (outside string literals): a comment may hold an unbalanced parenthesis. */
function withoutComments(text: string): string {
  let out = '';
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === quote) quote = null;
    } else if (c === "'" || c === '`' || c === '"') {
      quote = c;
      out += c;
    } else if (c === '-' && text[i + 1] === '-') {
      while (i < text.length && text[i] !== '\n') i++;
      out = `${out.trimEnd()}\n`;
    } else out += c;
  }
  return out;
}

/** Index just past the parenthesis that closes the one at `open`. */
function closing(text: string, open: number): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === "'" || c === '`' || c === '"') quote = c;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  throw new Error('unbalanced parentheses');
}

/** The top-level comma-separated items of a parenthesised list (without its parentheses). */
function items(list: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  let quote: string | null = null;
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === "'" || c === '`' || c === '"') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(list.slice(start, i));
      start = i + 1;
    }
  }
  out.push(list.slice(start));
  return out.map((s) => s.trim()).filter((s) => s !== '');
}

const ON = (t: ClusterTarget) => `ON CLUSTER ${identifier(plain('cluster', t.cluster)).text}`;
const qualified = (t: ClusterTarget, table: string) => identifier(t.database, plain('table', table)).text;

const CREATE_TABLE = /^CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(/i;
const ENGINE = /^\s*ENGINE\s*=\s*([A-Za-z]+)\s*/i;
const CREATE_VIEW =
  /^CREATE\s+MATERIALIZED\s+VIEW\s+IF\s+NOT\s+EXISTS\s+([A-Za-z_]\w*)\s+TO\s+([A-Za-z_]\w*)\s+AS\s+(SELECT\b[\s\S]*)$/i;
const DROP_TABLE = /^DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?([A-Za-z_]\w*)$/i;
const INSERT_SELECT = /^INSERT\s+INTO\s+[A-Za-z_]\w*[\s\S]*?\bSELECT\b/i;
const ADD_COLUMN = /^ALTER\s+TABLE\s+([A-Za-z_]\w*)\s+(ADD\s+COLUMN\s[\s\S]*)$/i;

function createTable(statement: string, match: RegExpExecArray, t: ClusterTarget): string[] {
  const table = match[1]!;
  const open = match[0].length - 1;
  const end = closing(statement, open);
  const columnList = statement.slice(open, end);
  const columns = items(columnList.slice(1, -1)).map((item) => item.split(/\s+/)[0]!.replace(/`/g, ''));
  const rest = statement.slice(end);
  const engine = ENGINE.exec(rest);
  if (!engine) throw new Error(`CREATE TABLE ${table}: no ENGINE = ... after the columns`);
  const name = engine[1]!;
  let after = rest.slice(engine[0].length);
  let args = '';
  if (after.startsWith('(')) {
    const argsEnd = closing(after, 0);
    args = after.slice(1, argsEnd - 1).trim();
    after = after.slice(argsEnd);
  }
  let localEngine: string;
  if (name === 'Null') localEngine = 'Null';
  else if (/^[A-Za-z]*MergeTree$/.test(name) && !name.startsWith('Replicated')) {
    const path = literal(`/clickhouse/tables/{shard}/${t.database}/${table}`).text;
    localEngine = `Replicated${name}(${[path, "'{replica}'", ...(args ? [args] : [])].join(', ')})`;
  } else throw new Error(`CREATE TABLE ${table}: no cluster rule for ENGINE = ${name}`);
  const local = localTableOf(table);
  return [
    `CREATE TABLE IF NOT EXISTS ${qualified(t, local)} ${ON(t)} ${columnList}\nENGINE = ${localEngine}${after}`,
    `CREATE TABLE IF NOT EXISTS ${qualified(t, table)} ${ON(t)} AS ${qualified(t, local)}\n` +
      `ENGINE = Distributed(${identifier(writeClusterOf(t.cluster)).text}, ${identifier(t.database).text}, ` +
      `${identifier(local).text}, ${shardingKey(table, columns)})`,
  ];
}

function createView(match: RegExpExecArray, t: ClusterTarget): string[] {
  const [, view, target, select] = match as unknown as [string, string, string, string];
  const from = [...select.matchAll(/\bFROM\s+([A-Za-z_]\w*)/gi)];
  if (from.length !== 1)
    throw new Error(`MATERIALIZED VIEW ${view}: a cluster view reads exactly one table (FROM <table>)`);
  const source = from[0]![1]!;
  // On every server: the view reads what lands in the local source table and writes the local target.
  const localSelect = select.replace(from[0]![0], `FROM ${qualified(t, localTableOf(source))}`);
  return [
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${qualified(t, view)} ${ON(t)} ` +
      `TO ${qualified(t, localTableOf(target))} AS ${localSelect}`,
  ];
}

/**
 * The statements that apply one migration statement to the cluster, in order.
 * Each runs ON CLUSTER (every server), except an INSERT ... SELECT, which runs
 * once, through the Distributed tables.
 */
export function clusterStatements(statement: string, target: ClusterTarget): string[] {
  plain('database', target.database);
  const text = withoutComments(statement).trim();
  const create = CREATE_TABLE.exec(text);
  if (create) return createTable(text, create, target);
  const view = CREATE_VIEW.exec(text);
  if (view) return createView(view, target);
  const drop = DROP_TABLE.exec(text);
  if (drop) {
    const table = drop[1]!;
    return [table, localTableOf(table)].map(
      (t) => `DROP TABLE IF EXISTS ${qualified(target, t)} ${ON(target)}`,
    );
  }
  if (INSERT_SELECT.test(text)) return [text];
  const add = ADD_COLUMN.exec(text);
  if (add) {
    // The replicated tables first, then the Distributed table over them, whose
    // reads must not name a column the local tables lack yet. 18.16 runs an
    // ALTER ON CLUSTER of a replicated table on one replica of each shard
    // (replication brings it to the other) and refuses, with code 371, one of
    // a table that is not replicated on a cluster that replicates internally:
    // the Distributed tables are altered through the write cluster
    // (internal_replication=false), on every server.
    const [, table, change] = add as unknown as [string, string, string];
    const writes = { ...target, cluster: writeClusterOf(target.cluster) };
    return [
      `ALTER TABLE ${qualified(target, localTableOf(table))} ${ON(target)} ${change}`,
      `ALTER TABLE ${qualified(target, table)} ${ON(writes)} ${change}`,
    ];
  }
  throw new Error(
    `no cluster rule for this statement (CREATE TABLE / MATERIALIZED VIEW, INSERT ... SELECT, DROP TABLE and ALTER TABLE ... ADD COLUMN have one): ${text.slice(0, 80)}`,
  );
}

/** True when a statement produced by clusterStatements runs ON CLUSTER (and must wait for every server). */
export const isOnCluster = (statement: string) => /\bON CLUSTER\b/.test(statement);

/**
 * Settings of an ON CLUSTER statement sent over HTTP: the reply is a table of
 * the servers' statuses, streamed; wait_end_of_query makes a failure on any
 * server an HTTP error instead of a line after a 200 the client would not read.
 */
export const ON_CLUSTER_SETTINGS = { wait_end_of_query: 1 } as const;

export interface ClusterReplica {
  /** host:port of its native (TCP) protocol, as the cluster definition names it. */
  address: string;
  shard: number;
}

/** Every server of a cluster, from the server the client talks to (system.clusters). */
export async function clusterReplicas(client: ClickHouseClient, cluster: string): Promise<ClusterReplica[]> {
  const result = await client.query({
    query: sql`SELECT host_address, port, shard_num FROM system.clusters
               WHERE cluster = ${cluster} ORDER BY shard_num, replica_num`.text,
    format: 'JSONEachRow',
  });
  const rows = await result.json<{ host_address: string; port: number; shard_num: number }>();
  return rows.map((r) => ({ address: `${r.host_address}:${r.port}`, shard: Number(r.shard_num) }));
}

/** One server of the cluster, reached over HTTP (CLICKHOUSE_REPLICA_URLS). */
export interface ClusterServer {
  url: string;
  /** Its {shard} and {replica} macros: the replicated tables' ZooKeeper paths use them. */
  shard: string;
  replica: string;
  client: ClickHouseClient;
}

export interface ReachedServers {
  /** The servers that answered, one client each (closed by close()). */
  servers: ClusterServer[];
  /** Servers and shards the cluster has (system.clusters of the server the client talks to). */
  expected: { servers: number; shards: number };
  close(): Promise<void>;
}

/**
 * What must be done or asked on the servers themselves, not through a
 * Distributed table or the ON CLUSTER queue: erasure's mutations (on 18.16 an
 * ALTER ... ON CLUSTER of a replicated table races between the two replicas of
 * a shard and can stop a server's DDL queue for good), and their progress on
 * each replica (18.16 has no clusterAllReplicas). A server that does not
 * answer is left out of `servers`: the caller compares with `expected`.
 */
export async function reachServers(client: ClickHouseClient): Promise<ReachedServers> {
  const cluster = clusterOf(client);
  if (!cluster) throw new Error('not a cluster client (CLICKHOUSE_CLUSTER is not set)');
  if (cluster.replicaUrls.length === 0)
    throw new Error(
      `CLICKHOUSE_CLUSTER=${cluster.name} needs CLICKHOUSE_REPLICA_URLS: every server of the cluster`,
    );
  const replicas = await clusterReplicas(client, cluster.name);
  const opened = cluster.replicaUrls.map((url) => ({ url, client: cluster.connect(url) }));
  const answers = await Promise.all(
    opened.map(async ({ url, client: server }) => {
      try {
        const result = await server.query({
          query: "SELECT macro, substitution FROM system.macros WHERE macro IN ('shard', 'replica')",
          format: 'JSONEachRow',
        });
        const macros = new Map(
          (await result.json<{ macro: string; substitution: string }>()).map((m) => [
            m.macro,
            m.substitution,
          ]),
        );
        return {
          url,
          client: server,
          shard: macros.get('shard') ?? '',
          replica: macros.get('replica') ?? '',
        };
      } catch {
        return null;
      }
    }),
  );
  return {
    servers: answers.filter((a): a is ClusterServer => a !== null),
    expected: { servers: replicas.length, shards: new Set(replicas.map((r) => r.shard)).size },
    close: async () => {
      await Promise.all(opened.map((o) => o.client.close()));
    },
  };
}

/**
 * Runs each statement on one server (the first that answers) of every shard
 * of the client's cluster: mutations and partition drops of the replicated
 * local tables, which replicate them to the other replicas. Statements may
 * depend on the server (a function of its client: e.g. only the partitions it
 * holds). Throws when a shard has no server answering; repeating the whole
 * call is harmless.
 */
export async function commandOnEveryShard(
  client: ClickHouseClient,
  statements: readonly string[] | ((server: ClickHouseClient) => Promise<readonly string[]>),
  settings?: ClickHouseSettings,
): Promise<void> {
  const reached = await reachServers(client);
  try {
    const byShard = new Map(reached.servers.map((s) => [s.shard, s]));
    if (byShard.size < reached.expected.shards)
      throw new Error(
        `only ${byShard.size} of ${reached.expected.shards} shards answer (CLICKHOUSE_REPLICA_URLS): waiting`,
      );
    for (const server of byShard.values())
      for (const query of typeof statements === 'function' ? await statements(server.client) : statements)
        await server.client.command({ query, ...(settings ? { clickhouse_settings: settings } : {}) });
  } finally {
    await reached.close();
  }
}

/**
 * Refuses a cluster whose two definitions are missing or list different
 * servers: the Distributed tables would not reach every replica (or any).
 */
export async function checkClusterLayout(client: ClickHouseClient, cluster: string): Promise<void> {
  const writes = writeClusterOf(cluster);
  const [ddl, write] = await Promise.all([clusterReplicas(client, cluster), clusterReplicas(client, writes)]);
  const list = (replicas: ClusterReplica[]) => replicas.map((r) => `${r.shard}:${r.address}`).join(', ');
  const hint = 'docs/clickhouse-cluster.md, "Two cluster definitions"';
  if (ddl.length === 0)
    throw new Error(
      `CLICKHOUSE_CLUSTER=${cluster}: the server has no such cluster in <remote_servers> (${hint})`,
    );
  if (write.length === 0)
    throw new Error(
      `CLICKHOUSE_CLUSTER=${cluster}: <remote_servers> has no cluster ${writes} (the same shards and replicas, internal_replication=false) for the Distributed tables (${hint})`,
    );
  if (list(ddl) !== list(write))
    throw new Error(
      `clusters ${cluster} (${list(ddl)}) and ${writes} (${list(write)}) must list the same shards and replicas (${hint})`,
    );
}
