// Smoke test of `npm run bench -- --scale small`: it must complete and write its
// JSON summary, with every section either measured or "not available" (timings
// are not asserted: speed is for the benchmark itself, not for tests).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../services/simulator/src/processes.ts';
import { testStack } from '../support/env.ts';

interface Summary {
  scale: string;
  results: {
    section: string;
    status: string;
    reason?: string;
    figures: { name: string; value: number | null }[];
    details?: { runs?: Record<string, number>[]; export?: { rows: number }; 'export csv'?: { rows: number } };
  }[];
}

describe('npm run bench --scale small (smoke)', () => {
  it('completes and writes artifacts/bench/latest.json', async () => {
    const stack = testStack();
    const started = Date.now();
    const { code, output } = await new Promise<{ code: number | null; output: string }>((done) => {
      const child = spawn('npx', ['tsx', 'bench/run.ts', '--scale', 'small'], {
        cwd: REPO_ROOT,
        env: { ...process.env, KAFKA_BROKERS: stack.brokers.join(','), CLICKHOUSE_URL: stack.clickhouseUrl },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      child.stdout.on('data', (c: Buffer) => {
        text += c.toString();
      });
      child.stderr.on('data', (c: Buffer) => {
        text += c.toString();
      });
      child.once('exit', (exit) => done({ code: exit, output: text }));
    });
    expect(code, output).toBe(0);
    const latest = join(REPO_ROOT, 'artifacts', 'bench', 'latest.json');
    expect(existsSync(latest)).toBe(true);
    expect(statSync(latest).mtimeMs).toBeGreaterThanOrEqual(started);
    const summary = JSON.parse(readFileSync(latest, 'utf8')) as Summary;
    expect(summary.scale).toBe('small');
    expect(summary.results.map((r) => r.section)).toEqual([
      'ingest',
      'freshness',
      'state',
      'restore',
      'backfill',
      'query',
    ]);
    for (const result of summary.results) {
      expect(['ok', 'not available'], `${result.section}: ${result.reason}`).toContain(result.status);
      if (result.status === 'ok') {
        expect(result.figures.length).toBeGreaterThan(0);
        for (const figure of result.figures) expect(figure.value, figure.name).not.toBeNull();
      }
    }
    // Per ingest run, what the load cost besides its time, read from ingest's own metrics.
    const ingestRun = summary.results.find((r) => r.section === 'ingest')?.details?.runs?.[0];
    // At least every event (a round redelivered after a failure counts again).
    expect(ingestRun?.recordsIn).toBeGreaterThanOrEqual(ingestRun?.events ?? Number.POSITIVE_INFINITY);
    expect(ingestRun?.rounds).toBeGreaterThanOrEqual(1);
    expect(ingestRun?.recomputedUsers).toBeGreaterThan(0);
    expect(ingestRun?.factRows).toBeGreaterThan(0);
    // Both export formats stream the same opted-out users (the CSV header not counted as a row).
    const query = summary.results.find((r) => r.section === 'query')?.details;
    expect(query?.export?.rows).toBeGreaterThan(0);
    expect(query?.['export csv']?.rows).toBe(query?.export?.rows);
  }, 600_000);
});
