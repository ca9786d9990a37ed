import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { addedColumn, checksumOf, loadMigrations, splitStatements } from './migrations.ts';

describe('splitStatements', () => {
  it('splits on ; at line ends and drops comment lines', () => {
    const text = `-- header; with a semicolon;
CREATE TABLE a
(
    x String -- inline comment stays
);

  -- indented comment
CREATE TABLE b (y UInt8) ENGINE = Memory;   
SELECT 'a;b'`;
    expect(splitStatements(text)).toEqual([
      'CREATE TABLE a\n(\n    x String -- inline comment stays\n)',
      'CREATE TABLE b (y UInt8) ENGINE = Memory',
      "SELECT 'a;b'",
    ]);
  });

  it('returns nothing for a file of comments', () => {
    expect(splitStatements('-- only\n\n-- comments;\n')).toEqual([]);
  });
});

describe('addedColumn', () => {
  it('finds the table and column of an ADD COLUMN, plain, qualified or ON CLUSTER', () => {
    expect(addedColumn('ALTER TABLE t ADD COLUMN c Int64 DEFAULT -1')).toEqual({ table: 't', column: 'c' });
    expect(addedColumn('alter table `db`.`t_local` ON CLUSTER `x` add column `c` Int64')).toEqual({
      table: 't_local',
      column: 'c',
    });
  });

  it('is null for every other statement', () => {
    expect(addedColumn('ALTER TABLE t DROP COLUMN c')).toBeNull();
    expect(addedColumn('ALTER TABLE t DELETE WHERE 1')).toBeNull();
    expect(addedColumn('CREATE TABLE IF NOT EXISTS t (c Int64) ENGINE = Memory')).toBeNull();
  });
});

describe('checksumOf', () => {
  it('ignores comment-only edits but not statement edits', () => {
    const a = checksumOf(splitStatements('-- v1\nCREATE TABLE t (x UInt8) ENGINE = Memory;'));
    const b = checksumOf(splitStatements('-- v2, better words\nCREATE TABLE t (x UInt8) ENGINE = Memory;'));
    const c = checksumOf(splitStatements('CREATE TABLE t (x UInt16) ENGINE = Memory;'));
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });
});

describe('loadMigrations', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const withFiles = async (files: Record<string, string>) => {
    dir = await mkdtemp(join(tmpdir(), 'migrations-'));
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    return dir;
  };

  it('loads the project migrations in version order', async () => {
    const migrations = await loadMigrations();
    expect(migrations.length).toBeGreaterThanOrEqual(6);
    expect(migrations[0]?.name).toBe('0001_consent_transitions');
    const versions = migrations.map((m) => m.version);
    expect(versions).toEqual([...versions].sort((x, y) => x - y));
    expect(migrations.find((m) => m.name === '0005_latest_known')?.statements).toHaveLength(3);
  });

  it('refuses badly named files, duplicate versions and empty files', async () => {
    await expect(loadMigrations(await withFiles({ 'init.sql': 'SELECT 1;' }))).rejects.toThrow(/NNNN_name/);
    await rm(dir!, { recursive: true });
    await expect(
      loadMigrations(await withFiles({ '0001_a.sql': 'SELECT 1;', '0001_b.sql': 'SELECT 2;' })),
    ).rejects.toThrow(/same version/);
    await rm(dir!, { recursive: true });
    await expect(loadMigrations(await withFiles({ '0001_a.sql': '-- nothing\n' }))).rejects.toThrow(
      /no statements/,
    );
  });

  it('ignores files that are not .sql', async () => {
    const loaded = await loadMigrations(await withFiles({ '0001_a.sql': 'SELECT 1;', 'README.md': '# x' }));
    expect(loaded.map((m) => m.name)).toEqual(['0001_a']);
  });
});
