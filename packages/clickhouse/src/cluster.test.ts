import { describe, expect, it } from 'vitest';
import { clusterStatements, isOnCluster, localTableOf, shardingKey, writeClusterOf } from './cluster.ts';
import { addedColumn, loadMigrations } from './migrations.ts';

const target = { cluster: 'optout', database: 'db' };

describe('clusterStatements', () => {
  it('turns a table into a replicated local table and a Distributed table sharded by user', () => {
    const [local, distributed] = clusterStatements(
      `CREATE TABLE IF NOT EXISTS raw_push
       ( app_id String, user_id String, -- a comment with a ( parenthesis
         occurred_at_ms Int64, version UInt64 )
       ENGINE = ReplacingMergeTree(version) PARTITION BY tuple() ORDER BY (app_id, user_id)`,
      target,
    );
    expect(local).toContain('CREATE TABLE IF NOT EXISTS `db`.`raw_push_local` ON CLUSTER `optout`');
    expect(local).toContain(
      "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db/raw_push', '{replica}', version)",
    );
    expect(local).toContain('ORDER BY (app_id, user_id)');
    expect(local).not.toContain('comment');
    expect(distributed).toBe(
      'CREATE TABLE IF NOT EXISTS `db`.`raw_push` ON CLUSTER `optout` AS `db`.`raw_push_local`\n' +
        'ENGINE = Distributed(`optout_writes`, `db`, `raw_push_local`, cityHash64(app_id, user_id))',
    );
    expect(isOnCluster(local!) && isOnCluster(distributed!)).toBe(true);
  });

  it('keeps Null tables Null, and points a materialized view at the local tables', () => {
    const [local] = clusterStatements(
      'CREATE TABLE IF NOT EXISTS seen_in (app_id String, user_id String) ENGINE = Null',
      target,
    );
    expect(local).toMatch(/ENGINE = Null$/);
    const [view] = clusterStatements(
      'CREATE MATERIALIZED VIEW IF NOT EXISTS seen_mv TO seen AS SELECT app_id, user_id FROM seen_in',
      target,
    );
    expect(view).toBe(
      'CREATE MATERIALIZED VIEW IF NOT EXISTS `db`.`seen_mv` ON CLUSTER `optout` TO `db`.`seen_local` AS SELECT app_id, user_id FROM `db`.`seen_in_local`',
    );
  });

  it('drops both tables, and runs INSERT ... SELECT once through the Distributed tables', () => {
    expect(clusterStatements('DROP TABLE IF EXISTS old', target)).toEqual([
      'DROP TABLE IF EXISTS `db`.`old` ON CLUSTER `optout`',
      'DROP TABLE IF EXISTS `db`.`old_local` ON CLUSTER `optout`',
    ]);
    const insert = 'INSERT INTO new SELECT * FROM old';
    expect(clusterStatements(insert, target)).toEqual([insert]);
    expect(isOnCluster(insert)).toBe(false);
  });

  it('adds a column to the local tables, then to the Distributed tables through the write cluster', () => {
    const statements = clusterStatements(
      `-- why
       ALTER TABLE facts ADD COLUMN next_at Int64 DEFAULT -1 AFTER other -- a comment`,
      target,
    );
    expect(statements).toEqual([
      'ALTER TABLE `db`.`facts_local` ON CLUSTER `optout` ADD COLUMN next_at Int64 DEFAULT -1 AFTER other',
      'ALTER TABLE `db`.`facts` ON CLUSTER `optout_writes` ADD COLUMN next_at Int64 DEFAULT -1 AFTER other',
    ]);
    expect(statements.map(addedColumn)).toEqual([
      { table: 'facts_local', column: 'next_at' },
      { table: 'facts', column: 'next_at' },
    ]);
  });

  it('refuses what it has no rule for, naming it', () => {
    expect(() => clusterStatements('ALTER TABLE t DROP COLUMN c', target)).toThrow(/no cluster rule/);
    expect(() => clusterStatements('CREATE TABLE IF NOT EXISTS t (a String) ENGINE = Log', target)).toThrow(
      /no cluster rule for ENGINE = Log/,
    );
    expect(() => shardingKey('counters', ['app_id', 'n'])).toThrow(/no sharding key for table counters/);
    expect(() => clusterStatements('DROP TABLE x', { cluster: 'optout', database: 'a-b' })).toThrow(
      /not a plain identifier/,
    );
  });

  it('has a rule for every statement of every migration', async () => {
    for (const migration of await loadMigrations())
      for (const statement of migration.statements)
        expect(() => clusterStatements(statement, target), migration.name).not.toThrow();
  });

  it('names the local and write twins', () => {
    expect(localTableOf('t')).toBe('t_local');
    expect(writeClusterOf('optout')).toBe('optout_writes');
  });
});
