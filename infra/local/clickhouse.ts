// The local ClickHouse server: a current `clickhouse` on PATH, else Debian's
// 18.16 clickhouse-server (installed with apt-get when root), with a config of
// our own under <state>/clickhouse/ and, optionally, an HTTPS port.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { serverConfigXml, usersXml } from './clickhouse-config.ts';
import { ensurePortFree, isAlive, onPath, readPid, startDetached, waitFor } from './processes.ts';
import { stackSecrets, WRITER_USER } from './secrets.ts';
import { StackError, type StackSettings } from './settings.ts';
import { ensureStackTls } from './tls.ts';

export function clickhouseDirs(s: StackSettings) {
  const dir = join(s.localDir, 'clickhouse');
  return { dir, pidFile: join(dir, 'server.pid'), logFile: join(dir, 'log', 'stdout.log') };
}

/** A current `clickhouse` binary if there is one, else Debian's clickhouse-server, else install it. */
export function clickhouseCommand(): { cmd: string; args: string[] } {
  if (onPath('clickhouse')) return { cmd: 'clickhouse', args: ['server'] };
  if (onPath('clickhouse-server')) return { cmd: 'clickhouse-server', args: [] };
  const root = process.getuid?.() === 0;
  if (!root || !onPath('apt-get')) {
    throw new StackError(
      'no ClickHouse server found on PATH. Install one (Debian: apt-get install clickhouse-server; or a current `clickhouse` binary) and run this again.',
    );
  }
  console.log('clickhouse: installing clickhouse-server with apt-get (first start only)...');
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', 'clickhouse-server', 'clickhouse-client'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return { cmd: 'clickhouse-server', args: [] };
}

export async function clickhouseReady(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/?query=${encodeURIComponent('SELECT 1')}`, {
      signal: AbortSignal.timeout(1000),
    });
    return response.ok && (await response.text()).trim() === '1';
  } catch {
    return false;
  }
}

/** HTTPS answers SELECT 1 with a certificate the stack's CA verifies (18.16 skips a port it cannot set up). */
export function clickhouseHttpsReady(port: number, caFile: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/?query=SELECT%201', ca: readFileSync(caFile), timeout: 1000 },
      (res) => {
        let body = '';
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve(res.statusCode === 200 && body.trim() === '1'));
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export async function clickhouseUp(s: StackSettings): Promise<void> {
  const { dir, pidFile, logFile } = clickhouseDirs(s);
  const url = `http://127.0.0.1:${s.clickhouseHttpPort}`;
  const pid = readPid(pidFile);
  if (pid !== null && isAlive(pid)) {
    await waitFor('ClickHouse', 30_000, () => clickhouseReady(url), logFile);
    console.log(`clickhouse: already running (pid ${pid})`);
    return;
  }
  await ensurePortFree(s.clickhouseHttpPort, 'STACK_CLICKHOUSE_HTTP_PORT', 'ClickHouse HTTP');
  await ensurePortFree(s.clickhouseTcpPort, 'STACK_CLICKHOUSE_TCP_PORT', 'ClickHouse native TCP');
  if (s.clickhouseHttpsPort !== undefined)
    await ensurePortFree(s.clickhouseHttpsPort, 'STACK_CLICKHOUSE_HTTPS_PORT', 'ClickHouse HTTPS');
  const { cmd, args } = clickhouseCommand();
  for (const sub of ['data', 'log']) mkdirSync(join(dir, sub), { recursive: true });
  const secrets = stackSecrets(s.localDir);
  const tls =
    s.clickhouseHttpsPort === undefined ? undefined : ensureStackTls(s.localDir, secrets.keystorePassword);
  const https =
    tls && s.clickhouseHttpsPort !== undefined
      ? { port: s.clickhouseHttpsPort, certFile: tls.serverCertFile, keyFile: tls.serverKeyFile }
      : undefined;
  const configFile = join(dir, 'config.xml');
  writeFileSync(
    configFile,
    serverConfigXml({ dir, httpPort: s.clickhouseHttpPort, tcpPort: s.clickhouseTcpPort, https }),
  );
  writeFileSync(
    join(dir, 'users.xml'),
    usersXml({ user: WRITER_USER, password: secrets.clickhouseWriterPassword }),
  );
  const started = startDetached(cmd, [...args, `--config-file=${configFile}`], logFile, pidFile, dir);
  const errorLog = join(dir, 'log', 'server.err.log');
  await waitFor('ClickHouse', 60_000, () => clickhouseReady(url), errorLog);
  if (tls && https)
    await waitFor('ClickHouse HTTPS', 10_000, () => clickhouseHttpsReady(https.port, tls.caFile), errorLog);
  const secure = https ? `, HTTPS on https://127.0.0.1:${https.port}` : '';
  console.log(`clickhouse: started (pid ${started}) on ${url}${secure}`);
}
