// The project's SQL on CURRENT ClickHouse (chdb, in-process), beside the 18.16
// server the rest of the tests use. Needs `pip install chdb`: without it this
// test fails on purpose (CI installs it), it never skips.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { literal } from '@optout/clickhouse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostileStrings, utf8Hex } from '../../packages/clickhouse/src/testing/hostile-strings.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const SCRIPT = join(ROOT, 'infra', 'clickhouse', 'check_modern.py');
let scratch: string;

function checkModern(...args: string[]) {
  const run = spawnSync('python3', [SCRIPT, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  if (run.error) throw new Error(`cannot run python3: ${run.error.message}`);
  return { status: run.status, output: `${run.stdout}\n${run.stderr}` };
}

beforeAll(async () => {
  const probe = spawnSync('python3', ['-c', 'import chdb'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      `chdb (current ClickHouse, in-process) is not importable by python3: pip install chdb\n${probe.stderr ?? probe.error?.message}`,
    );
  }
  scratch = await mkdtemp(join(tmpdir(), 'check-modern-'));
});
afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('current ClickHouse (chdb)', () => {
  it('runs every migration, the read patterns, query templates, and reads back our literals', async () => {
    const literals = join(scratch, 'literals.json');
    const cases = hostileStrings(2000, 4242).map((s) => ({ sql: literal(s).text, hex: utf8Hex(s) }));
    await writeFile(literals, JSON.stringify(cases));
    const { status, output } = checkModern('--literals', literals);
    expect(output).toContain('check_modern: OK');
    expect(status, output).toBe(0);
  });

  it('fails, naming the file, when a migration does not run', async () => {
    const dir = join(scratch, 'bad-migrations');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, '0001_bad.sql'), 'CREATE TABLE t (x NoSuchType) ENGINE = Memory;\n');
    const { status, output } = checkModern('--migrations', dir);
    expect(status).toBe(1);
    expect(output).toMatch(/FAILED[\s\S]*0001_bad\.sql statement 1/);
  });

  it('runs templates with {name:Type} placeholders against the migrated tables', async () => {
    const dir = join(scratch, 'templates');
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'trend.sql'),
      `-- a template as the query service might write one
SELECT toDate(occurred_at) AS day, count() AS opt_outs
FROM consent_transitions
WHERE app_id = {app_id:String} AND occurred_at >= {start:DateTime} AND channel IN {channels:Array(String)}
GROUP BY day ORDER BY day LIMIT {limit:UInt32};
`,
    );
    await writeFile(join(dir, 'broken.sql'), 'SELECT nope FROM consent_transitions;\n');
    const { status, output } = checkModern('--templates', dir);
    expect(status).toBe(1);
    expect(output).toMatch(/template .*broken\.sql statement 1/);
    expect(output).not.toMatch(/trend\.sql/);
  });
});
