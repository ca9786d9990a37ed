// Detached server processes recorded by pid file: start, wait until a real
// client call answers, stop exactly what we started.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname } from 'node:path';
import { StackError } from './settings.ts';

export function readPid(file: string): number | null {
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function portOpen(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.setTimeout(500);
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
    socket.once('timeout', () => {
      socket.destroy();
      done(false);
    });
  });
}

export async function waitFor(
  what: string,
  deadlineMs: number,
  probe: () => Promise<boolean>,
  logFile: string,
): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
  throw new StackError(
    `${what} did not become ready within ${deadlineMs / 1000}s. Last log lines (${logFile}):\n${tail}`,
  );
}

export function startDetached(
  cmd: string,
  args: string[],
  logFile: string,
  pidFile: string,
  cwd: string,
): number {
  mkdirSync(dirname(logFile), { recursive: true });
  const out = openSync(logFile, 'a');
  const child = spawn(cmd, args, { cwd, detached: true, stdio: ['ignore', out, out] });
  if (child.pid === undefined) throw new StackError(`could not start ${cmd}`);
  child.unref();
  writeFileSync(pidFile, String(child.pid));
  return child.pid;
}

export async function stopPid(name: string, pidFile: string): Promise<void> {
  const pid = readPid(pidFile);
  if (pid === null || !isAlive(pid)) {
    rmSync(pidFile, { force: true });
    console.log(`${name}: not running`);
    return;
  }
  process.kill(pid, 'SIGTERM');
  const until = Date.now() + 20_000;
  while (isAlive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) {
    process.kill(pid, 'SIGKILL');
    while (isAlive(pid)) await new Promise((r) => setTimeout(r, 50));
  }
  rmSync(pidFile, { force: true });
  console.log(`${name}: stopped (pid ${pid})`);
}

export function onPath(binary: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A port held by someone else is a clear error, not a mystery timeout later. */
export async function ensurePortFree(port: number, variable: string, what: string): Promise<void> {
  if (await portOpen(port)) {
    throw new StackError(
      `port ${port} (for ${what}) is already in use by another process. Stop it, or choose another port with ${variable}=<port>.`,
    );
  }
}
