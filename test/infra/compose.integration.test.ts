// docker-compose.yml cannot run here (no Docker engine), but it must stay valid:
// Debian's docker-compose (1.29) validates a file without an engine.
import { execFileSync, spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

describe('docker-compose.yml', () => {
  it('is valid for docker-compose', () => {
    const found = spawnSync('sh', ['-c', 'command -v docker-compose']).status === 0;
    if (!found)
      throw new Error('docker-compose is not installed: apt-get install docker-compose (.ci/run does)');
    const result = spawnSync('docker-compose', ['-f', join(root, 'docker-compose.yml'), 'config', '-q'], {
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('publishes ports on loopback only and has the whole stack', () => {
    const config = execFileSync('docker-compose', ['-f', join(root, 'docker-compose.yml'), 'config'], {
      encoding: 'utf8',
    });
    for (const service of ['kafka:', 'clickhouse:', 'ingest:', 'query:', 'simulator:'])
      expect(config).toContain(service);
    const published = [...config.matchAll(/^\s+- ([\d.:]+:\d+)(?:\/tcp)?$/gm)].map((m) => m[1]!);
    expect(published.length).toBeGreaterThanOrEqual(3);
    for (const port of published) expect(port).toMatch(/^127\.0\.0\.1:/);
  });
});
