// A small versioned migration runner for infra/clickhouse/migrations/NNNN_name.sql.
//
// Applied migrations are recorded in <database>.schema_migrations with a
// checksum of their statements. A migration whose statements changed after it
// was applied is refused: write a new migration instead (ClickHouse DDL cannot
// be rolled back, so silently re-running edited DDL is not an option).
//
// ClickHouse has no transactions or locks: two runners started at the same
// moment may both apply a migration. The DDL is written `IF NOT EXISTS` so
// that is harmless, and duplicate bookkeeping rows are tolerated on read.
// `ALTER TABLE t ADD COLUMN c ...` has no IF NOT EXISTS on 18.16, so the
// runner gives it one: the statement is skipped when the table has the column
// already, and its failure is forgiven when the column is there afterwards (a
// runner that raced this one added it). A migration that stopped half-way can
// therefore run again, like the others.
//
// On a cluster (the client's CLICKHOUSE_CLUSTER, or `cluster`) every statement
// runs in its cluster form (./cluster.ts): the same files, versions and
// checksums, applied ON CLUSTER as replicated local tables behind Distributed
// tables. The cluster DDL cannot run on chdb (no cluster, no ZooKeeper):
// check_modern.py checks the single-server form of the same statements.
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client';
import { CLUSTER_WRITER_SETTINGS, clusterOf } from './client.ts';
import { type ClusterTarget, checkClusterLayout, clusterStatements, ON_CLUSTER_SETTINGS } from './cluster.ts';
import { dateTimeLiteral, identifier, type SqlFragment, sql } from './sql.ts';

export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(
  new URL('../../../infra/clickhouse/migrations/', import.meta.url),
);

export interface Migration {
  version: number;
  /** The file name without `.sql`, e.g. `0001_consent_transitions`. */
  name: string;
  statements: string[];
  checksum: string;
}

export interface MigrateResult {
  applied: string[];
  skipped: string[];
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/**
 * Statements of a migration file: full-line `--` comments dropped, split on a
 * `;` that ends a line. (A `;` at the end of a line inside a string literal
 * would be split too: keep such literals out of DDL.)
 */
export function splitStatements(text: string): string[] {
  const statements: string[] = [];
  let current: string[] = [];
  const flush = () => {
    const statement = current.join('\n').trim();
    if (statement) statements.push(statement);
    current = [];
  };
  for (const line of text.split(/\r?\n/)) {
    if (line.trimStart().startsWith('--')) continue;
    const trimmed = line.trimEnd();
    if (trimmed.endsWith(';')) {
      current.push(trimmed.slice(0, -1));
      flush();
    } else {
      current.push(line);
    }
  }
  flush();
  return statements;
}

/** Hash of what runs, not of the file: editing a comment does not block a deploy. */
export function checksumOf(statements: string[]): string {
  return createHash('sha256').update(statements.join(';\n')).digest('hex');
}

export async function loadMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  const seen = new Map<number, string>();
  for (const file of files) {
    const match = FILE_NAME.exec(file);
    if (!match) throw new MigrationError(`${file}: migration files must be named NNNN_name.sql`);
    const version = Number(match[1]);
    const name = file.slice(0, -'.sql'.length);
    const other = seen.get(version);
    if (other) throw new MigrationError(`${file} and ${other} have the same version ${version}`);
    seen.set(version, file);
    const statements = splitStatements(await readFile(join(dir, file), 'utf8'));
    if (statements.length === 0) throw new MigrationError(`${file}: no statements`);
    migrations.push({ version, name, statements, checksum: checksumOf(statements) });
  }
  return migrations;
}

/** On a cluster: on every server, and the DDL waits for all of them (./cluster.ts). */
function onCluster(cluster: string | undefined) {
  return cluster
    ? {
        clause: sql` ON CLUSTER ${identifier(cluster)}`,
        clickhouse_settings: { ...CLUSTER_WRITER_SETTINGS, ...ON_CLUSTER_SETTINGS } as ClickHouseSettings,
      }
    : { clause: sql``, clickhouse_settings: undefined };
}

/** `statement` (on the database) ON CLUSTER when there is one. */
async function databaseCommand(
  client: ClickHouseClient,
  statement: SqlFragment,
  cluster: string | undefined,
): Promise<void> {
  const { clause, clickhouse_settings } = onCluster(cluster);
  await client.command({
    query: sql`${statement}${clause}`.text,
    ...(clickhouse_settings ? { clickhouse_settings } : {}),
  });
}

export async function createDatabase(
  client: ClickHouseClient,
  database: string,
  cluster = clusterOf(client)?.name,
): Promise<void> {
  await databaseCommand(client, sql`CREATE DATABASE IF NOT EXISTS ${identifier(database)}`, cluster);
}

/** On a cluster, ON CLUSTER: the replicated tables' ZooKeeper entries go with them. */
export async function dropDatabase(
  client: ClickHouseClient,
  database: string,
  cluster = clusterOf(client)?.name,
): Promise<void> {
  await databaseCommand(client, sql`DROP DATABASE IF EXISTS ${identifier(database)}`, cluster);
}

/**
 * The table and column of an `ALTER TABLE [db.]t [ON CLUSTER c] ADD COLUMN col ...`
 * (names plain or backquoted), or null for any other statement.
 */
export function addedColumn(statement: string): { table: string; column: string } | null {
  const match =
    /^\s*ALTER\s+TABLE\s+(?:`?[A-Za-z_]\w*`?\.)?`?([A-Za-z_]\w*)`?(?:\s+ON\s+CLUSTER\s+`?\w+`?)?\s+ADD\s+COLUMN\s+`?([A-Za-z_]\w*)`?\s/i.exec(
      statement,
    );
  return match ? { table: match[1]!, column: match[2]! } : null;
}

/** Whether `database`.`table` has `column`, on the server the client talks to. */
async function hasColumn(
  client: ClickHouseClient,
  database: string,
  added: { table: string; column: string },
): Promise<boolean> {
  const result = await client.query({
    query: sql`SELECT count() AS n FROM system.columns
               WHERE database = ${database} AND table = ${added.table} AND name = ${added.column}`.text,
    format: 'JSONEachRow',
  });
  const rows = await result.json<{ n: string }>();
  return Number(rows[0]?.n ?? 0) > 0;
}

/** The statements that apply `statement` to the target: itself on a single server. */
function forTarget(statement: string, target: ClusterTarget | undefined): string[] {
  return target ? clusterStatements(statement, target) : [statement];
}

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

async function appliedMigrations(
  client: ClickHouseClient,
  database: string,
  target: ClusterTarget | undefined,
  settings: ClickHouseSettings | undefined,
): Promise<AppliedRow[]> {
  const table = identifier(database, 'schema_migrations');
  // Unqualified on a cluster: the cluster form qualifies every name with the database itself.
  const create = `CREATE TABLE IF NOT EXISTS ${target ? 'schema_migrations' : table.text}
      (version UInt32, name String, checksum String, applied_at DateTime('UTC'))
      ENGINE = MergeTree() ORDER BY version`;
  for (const query of forTarget(create, target))
    await client.command({ query, ...(settings ? { clickhouse_settings: settings } : {}) });
  const result = await client.query({
    query: sql`SELECT version, name, checksum FROM ${table} ORDER BY version, applied_at`.text,
    format: 'JSONEachRow',
  });
  return result.json<AppliedRow>();
}

/** Applies the migrations of `dir` that `database` has not seen yet, in version order. */
export async function migrate(
  client: ClickHouseClient,
  /** `cluster` defaults to the client's (CLICKHOUSE_CLUSTER); none: a single server. */
  options: { database: string; dir?: string; cluster?: string | undefined },
): Promise<MigrateResult> {
  const { database } = options;
  const cluster = options.cluster ?? clusterOf(client)?.name;
  const target = cluster ? { cluster, database } : undefined;
  const { clickhouse_settings: settings } = onCluster(cluster);
  const migrations = await loadMigrations(options.dir);
  if (cluster) await checkClusterLayout(client, cluster);
  await createDatabase(client, database, cluster);
  const applied = await appliedMigrations(client, database, target, settings);

  // Check every applied migration before running anything new.
  const byVersion = new Map(migrations.map((m) => [m.version, m]));
  for (const row of applied) {
    const local = byVersion.get(row.version);
    if (!local) continue; // applied by a newer release than this one: leave it be
    if (row.checksum !== local.checksum) {
      throw new MigrationError(
        `migration ${local.name} was applied to ${database} (as ${row.name}) with checksum ` +
          `${row.checksum.slice(0, 12)}, but the file now has ${local.checksum.slice(0, 12)}: ` +
          'applied migrations must not change; add a new migration instead',
      );
    }
  }

  const done = new Set(applied.map((row) => row.version));
  const result: MigrateResult = { applied: [], skipped: [] };
  // The migration files use unqualified table names: run them in a session
  // whose current database is the target (a client has no per-query database).
  const session_id = `migrate_${randomUUID()}`;
  for (const migration of migrations) {
    if (done.has(migration.version)) {
      result.skipped.push(migration.name);
      continue;
    }
    await client.command({ query: sql`USE ${identifier(database)}`.text, session_id });
    for (const statement of migration.statements) {
      try {
        for (const query of forTarget(statement, target)) {
          // ADD COLUMN, made re-runnable (see the top of this file). On a cluster
          // each of its two statements (local and Distributed table) is checked
          // on the server the client talks to; ON CLUSTER reaches the others.
          const added = addedColumn(query);
          if (added && (await hasColumn(client, database, added))) continue;
          try {
            await client.command({
              query,
              session_id,
              ...(settings ? { clickhouse_settings: settings } : {}),
            });
          } catch (error) {
            if (!added || !(await hasColumn(client, database, added))) throw error;
          }
        }
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new MigrationError(`migration ${migration.name} failed: ${message.trim()}`, { cause: error });
      }
    }
    await client.command({
      query:
        sql`INSERT INTO ${identifier(database, 'schema_migrations')} (version, name, checksum, applied_at)
        VALUES (${migration.version}, ${migration.name}, ${migration.checksum}, ${dateTimeLiteral(Date.now())})`
          .text,
      ...(settings ? { clickhouse_settings: settings } : {}),
    });
    result.applied.push(migration.name);
  }
  return result;
}
