// Child processes of the demo and the benchmark: the ingest and query services
// started with `npm run -s <script>` in their own process group (so stopping one
// stops npm, tsx and node together), their logs in a file, their memory read
// from /proc. Only processes started here are ever signalled.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The entry file of each root script we start; missing = that component is not built yet. */
export const SCRIPT_ENTRIES: Record<string, string> = {
  ingest: 'services/ingest/src/main.ts',
  query: 'services/query/src/main.ts',
  rollup: 'services/rollup/src/main.ts',
  migrate: 'packages/clickhouse/src/cli.ts',
  topics: 'packages/kafka/src/cli.ts',
};

export function scriptAvailable(script: string): boolean {
  const entry = SCRIPT_ENTRIES[script];
  return entry !== undefined && existsSync(join(REPO_ROOT, entry));
}

export interface ServiceProcess {
  name: string;
  pid: number;
  logFile: string;
  /** Resolves with the exit code (null if killed by a signal) when the process ends. */
  exited: Promise<number | null>;
  readonly running: boolean;
  /** SIGTERM to the group, SIGKILL after `timeoutMs`; resolves when it is gone. */
  stop(timeoutMs?: number): Promise<number | null>;
  /** Resident set size of the biggest process of the group (the node running the service), bytes. */
  rssBytes(): number;
  logTail(lines?: number): string;
}

export function startService(
  name: string,
  script: string,
  env: NodeJS.ProcessEnv,
  logFile: string,
): ServiceProcess {
  mkdirSync(dirname(logFile), { recursive: true });
  const out = openSync(logFile, 'a');
  const child: ChildProcess = spawn('npm', ['run', '-s', script], {
    cwd: REPO_ROOT,
    env,
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  const pid = child.pid;
  let running = true;
  const exited = new Promise<number | null>((done) =>
    child.once('exit', (code) => {
      running = false;
      done(code);
    }),
  );
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  };
  return {
    name,
    pid,
    logFile,
    exited,
    get running() {
      return running;
    },
    async stop(timeoutMs = 30_000) {
      if (!running) return exited;
      signalGroup('SIGTERM');
      const timer = setTimeout(() => signalGroup('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      // Whatever is left of the group (a grandchild that ignored SIGTERM).
      signalGroup('SIGKILL');
      return code;
    },
    rssBytes: () => groupRssBytes(pid),
    logTail: (lines = 20) => tail(logFile, lines),
  };
}

function tail(file: string, lines: number): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/** Largest VmRSS among the processes of process group `pgid` (Linux /proc), 0 if none. */
export function groupRssBytes(pgid: number): number {
  let best = 0;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the parenthesised command: state ppid pgrp ...
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid) continue;
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const match = /VmRSS:\s+(\d+) kB/.exec(status);
      if (match) best = Math.max(best, Number(match[1]) * 1024);
    } catch {
      // the process ended meanwhile
    }
  }
  return best;
}

/** Runs `npm run -s <script>` to completion; resolves with its exit code and output. */
export function runScript(
  script: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn('npm', ['run', '-s', script], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => done({ code, output }));
    child.once('error', (error) => done({ code: 1, output: error.message }));
  });
}

/** A TCP port free on 127.0.0.1 right now. */
export { freePort } from '../../../infra/local/stack.ts';

/** Polls `url` until it answers 2xx, the process dies, or the deadline passes. */
export async function waitForHttp(url: string, timeoutMs: number, proc?: ServiceProcess): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (proc && !proc.running) return false;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}
