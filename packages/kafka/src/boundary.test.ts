// One Kafka boundary: only packages/kafka may import the client library
// (kafkajs today), so that replacing it touches this package alone. Biome's
// noRestrictedImports enforces it in `pnpm run check`; this test makes sure the
// rule, as configured in biome.json, still fires outside the package and only
// there, on a copy of the config in a scratch tree laid out like the repo.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const biome = join(repoRoot, 'node_modules/.bin/biome');
const scratch = mkdtempSync(join(tmpdir(), 'kafka-boundary-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const IMPORTS = [
  "import { Kafka } from 'kafkajs';\nexport const k = Kafka;\n",
  "import type { Admin } from 'kafkajs';\nexport type A = Admin;\n",
  "export async function load() {\n  return import('kafkajs');\n}\n",
];

/** Lints one file at `path` (relative to the scratch root) holding `source`; the diagnostics, as JSON text. */
function lint(path: string, source: string): { status: number | null; output: string } {
  const file = join(scratch, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, source);
  copyFileSync(join(repoRoot, 'biome.json'), join(scratch, 'biome.json'));
  const result = spawnSync(biome, ['lint', '--only=style/noRestrictedImports', path], {
    cwd: scratch,
    encoding: 'utf8',
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('the Kafka boundary (biome.json)', () => {
  it('refuses kafkajs outside packages/kafka: static, type-only and dynamic imports', () => {
    IMPORTS.forEach((source, i) => {
      for (const path of [`services/ingest/src/x${i}.ts`, `test/pipeline/x${i}.test.ts`, `bench/x${i}.ts`]) {
        const { status, output } = lint(path, source);
        expect(status, `${path}: ${source}`).toBe(1);
        expect(output).toContain('Only packages/kafka talks to the Kafka client library');
      }
    });
  });

  it('allows it inside packages/kafka', () => {
    IMPORTS.forEach((source, i) => {
      const { status, output } = lint(`packages/kafka/src/x${i}.ts`, source);
      expect(status, output).toBe(0);
    });
  });
});
