// The local stack on its own ports and folder: `up` twice starts each server
// once; `down` leaves no process running and no port held.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  freePort,
  type StackSettings,
  settingsFromEnv,
  stackDown,
  stackUp,
} from '../../infra/local/stack.ts';

async function portHeld(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(true));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('local stack', () => {
  const dir = mkdtempSync(join(tmpdir(), 'optout-stack-'));
  let settings: StackSettings;
  afterAll(async () => {
    if (settings) await stackDown(settings);
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts once, is idempotent, and stops exactly what it started', { timeout: 240_000 }, async () => {
    settings = {
      ...settingsFromEnv(),
      localDir: dir,
      kafkaPort: await freePort(),
      kafkaControllerPort: await freePort(),
      clickhouseHttpPort: await freePort(),
      clickhouseTcpPort: await freePort(),
    };
    const connection = await stackUp(settings);
    expect(connection.KAFKA_BROKERS).toBe(`127.0.0.1:${settings.kafkaPort}`);
    const pids = () => [
      Number(readFileSync(join(dir, 'kafka', 'broker.pid'), 'utf8')),
      Number(readFileSync(join(dir, 'clickhouse', 'server.pid'), 'utf8')),
    ];
    const first = pids();
    const answer = await fetch(`${connection.CLICKHOUSE_URL}/?query=SELECT%201`);
    expect((await answer.text()).trim()).toBe('1');

    await stackUp(settings); // second call: both already up
    expect(pids()).toEqual(first);

    await stackDown(settings);
    for (const pid of first) expect(alive(pid)).toBe(false);
    for (const port of [
      settings.kafkaPort,
      settings.kafkaControllerPort,
      settings.clickhouseHttpPort,
      settings.clickhouseTcpPort,
    ]) {
      expect(await portHeld(port)).toBe(false);
    }
  });

  it('refuses a port held by another process, naming the variable to change', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const { port } = blocker.address() as { port: number };
    try {
      const blocked = {
        ...settingsFromEnv(),
        localDir: join(dir, 'blocked'),
        clickhouseHttpPort: port,
        clickhouseTcpPort: await freePort(),
      };
      await expect(stackUp(blocked)).rejects.toThrow(/STACK_CLICKHOUSE_HTTP_PORT/);
    } finally {
      blocker.close();
    }
  });
});
