#!/usr/bin/env node
// First step of every top-level command (`npm run demo`, `npm test`, ...): on a
// fresh machine there is no pnpm and no node_modules yet, and the two Quick start
// commands must still work. Plain Node, no dependencies: it runs before any exist.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wanted = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager.split('@')[1];

function run(cmd, args) {
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });
}

function pnpmVersion() {
  try {
    return execFileSync('pnpm', ['--version'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

if (pnpmVersion() !== wanted) {
  console.error(`[bootstrap] installing pnpm ${wanted} (npm install -g)`);
  run('npm', ['install', '-g', '--no-fund', '--no-audit', `pnpm@${wanted}`]);
}

// Install when node_modules is missing or older than the lockfile.
const marker = join(root, 'node_modules', '.modules.yaml');
const lock = join(root, 'pnpm-lock.yaml');
const stale = !existsSync(marker) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs);
if (stale) {
  console.error('[bootstrap] installing node packages (pnpm install --frozen-lockfile)');
  run('pnpm', ['install', existsSync(lock) ? '--frozen-lockfile' : '--no-frozen-lockfile']);
}

// `npm test` also needs a few system tools (Chromium, docker-compose, chdb) for
// the tests that check the dashboard, the compose file and the SQL on a current
// ClickHouse. Only for the test command (npm sets npm_lifecycle_event to the
// script's name): the demo and the other commands need none of them.
if (process.env.npm_lifecycle_event === 'test') {
  const { ensureTestTools } = await import('../test/setup/system-tools.mjs');
  ensureTestTools();
}
