// The migration runner against the real server, in a database of its own.
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testStack } from '../../../test/support/env.ts';
import { uniqueName } from '../../../test/support/names.ts';
import { createClickHouseClient } from './client.ts';
import {
  DEFAULT_MIGRATIONS_DIR,
  dropDatabase,
  loadMigrations,
  MigrationError,
  migrate,
} from './migrations.ts';
import { identifier, sql } from './sql.ts';

const stack = testStack();
const client = createClickHouseClient({
  url: stack.clickhouseUrl,
  username: stack.clickhouseUser,
  password: stack.clickhousePassword,
});
const database = uniqueName('it_migrate');
const scratch: string[] = [];

afterAll(async () => {
  await dropDatabase(client, database);
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
  await client.close();
});

async function tables(db: string): Promise<string[]> {
  const result = await client.query({
    query: sql`SELECT name FROM system.tables WHERE database = ${db} ORDER BY name`.text,
    format: 'JSONEachRow',
  });
  return (await result.json<{ name: string }>()).map((r) => r.name);
}

describe('migrate', () => {
  it('applies every migration to a fresh database, then nothing the second time', async () => {
    const all = (await loadMigrations()).map((m) => m.name);
    const first = await migrate(client, { database });
    expect(first).toEqual({ applied: all, skipped: [] });
    expect(await tables(database)).toEqual(
      expect.arrayContaining(['consent_transitions', 'campaign_names', 'erasure_jobs', 'schema_migrations']),
    );

    const second = await migrate(client, { database });
    expect(second).toEqual({ applied: [], skipped: all });

    // One bookkeeping row per migration: the second run recorded nothing.
    const result = await client.query({
      query: sql`SELECT count() AS n FROM ${identifier(database, 'schema_migrations')}`.text,
      format: 'JSONEachRow',
    });
    expect(await result.json()).toEqual([{ n: String(all.length) }]);
  });

  it('refuses to run when an applied migration changed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
    scratch.push(dir);
    await cp(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
    await writeFile(
      join(dir, '0004_campaign_reach.sql'),
      'CREATE TABLE IF NOT EXISTS campaign_reach (x UInt8) ENGINE = Memory;\n',
    );
    const run = migrate(client, { database, dir });
    await expect(run).rejects.toBeInstanceOf(MigrationError);
    await expect(run).rejects.toThrow(/0004_campaign_reach was applied .* must not change/);
  });

  it('applies a new migration on top and reports a failing statement by name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
    scratch.push(dir);
    await cp(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
    await writeFile(
      join(dir, '0900_extra.sql'),
      '-- test only\nCREATE TABLE IF NOT EXISTS extra (x UInt8) ENGINE = Memory;\n',
    );
    expect((await migrate(client, { database, dir })).applied).toEqual(['0900_extra']);
    expect(await tables(database)).toContain('extra');

    await writeFile(join(dir, '0901_broken.sql'), 'CREATE TABLE nope (x NoSuchType) ENGINE = Memory;\n');
    await expect(migrate(client, { database, dir })).rejects.toThrow(
      /migration 0901_broken failed: Code: 50/,
    );
    // Not recorded, so a fixed file is applied next time.
    await writeFile(
      join(dir, '0901_broken.sql'),
      'CREATE TABLE IF NOT EXISTS nope (x UInt8) ENGINE = Memory;\n',
    );
    expect((await migrate(client, { database, dir })).applied).toEqual(['0901_broken']);
  });

  it('runs an ADD COLUMN again after a failure half-way (18.16 has no IF NOT EXISTS for it)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
    scratch.push(dir);
    await cp(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
    const add = 'ALTER TABLE consent_transitions ADD COLUMN extra_ms Int64 DEFAULT -1;\n';
    await writeFile(
      join(dir, '0902_add_column.sql'),
      `${add}CREATE TABLE nope2 (x NoSuchType) ENGINE = Memory;\n`,
    );
    await expect(migrate(client, { database, dir })).rejects.toThrow(/migration 0902_add_column failed/);
    // The column was added before the failure; the fixed migration runs again from the top.
    await writeFile(
      join(dir, '0902_add_column.sql'),
      `${add}CREATE TABLE IF NOT EXISTS nope2 (x UInt8) ENGINE = Memory;\n`,
    );
    expect((await migrate(client, { database, dir })).applied).toEqual(['0902_add_column']);
    const described = await client.query({
      query: sql`DESCRIBE TABLE ${identifier(database, 'consent_transitions')}`.text,
      format: 'JSONEachRow',
    });
    const columns = (await described.json<{ name: string }>()).map((c) => c.name);
    expect(columns.filter((c) => c === 'extra_ms')).toHaveLength(1);
  });
});
