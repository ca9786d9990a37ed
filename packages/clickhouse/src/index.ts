// @optout/clickhouse: client setup, literal binding, error mapping, migrations.

export {
  type Column,
  type ColumnType,
  type Erasure,
  type RowOf,
  TABLES,
  type TableName,
  type TableSpec,
  userDataTables,
} from './catalogue.ts';
export {
  CLUSTER_WRITER_SETTINGS,
  type ClickHouseClient,
  type ClickHouseClientOptions,
  type ClickHouseSettings,
  type ClickHouseTls,
  type ClusterOfClient,
  clusterOf,
  createClickHouseClient,
  DEFAULT_REQUEST_TIMEOUT_MS,
} from './client.ts';
export {
  type ClusterReplica,
  type ClusterServer,
  type ClusterTarget,
  checkClusterLayout,
  clusterReplicas,
  clusterStatements,
  commandOnEveryShard,
  localTableOf,
  ON_CLUSTER_SETTINGS,
  type ReachedServers,
  reachServers,
  shardingKey,
  writeClusterOf,
} from './cluster.ts';
export {
  type ClickHouseConnection,
  type ClickHouseConnectionConfig,
  clickhouseConnection,
} from './connection.ts';
export {
  ClickHouseStreamError,
  clickhouseErrorCode,
  isTimeout,
  isUnavailable,
  READONLY,
  TIMEOUT_EXCEEDED,
} from './errors.ts';
export {
  type PendingMarks,
  pendingMarksOf,
  pendingMarksSql,
  type RollupStatus,
  rollupStatusOf,
  rollupStatusSql,
} from './exposure-rollup.ts';
export {
  checksumOf,
  createDatabase,
  DEFAULT_MIGRATIONS_DIR,
  dropDatabase,
  loadMigrations,
  type MigrateResult,
  type Migration,
  MigrationError,
  migrate,
  splitStatements,
} from './migrations.ts';
export {
  dateLiteral,
  dateTimeLiteral,
  identifier,
  inList,
  join,
  literal,
  SqlFragment,
  type SqlValue,
  sql,
  stringLiteral,
  unsafeRaw,
} from './sql.ts';
export { streamGuard, type TextRow, trailingError } from './stream-guard.ts';
export { escapeTsv, insertTsv, TsvRows, tsvField } from './tsv.ts';
