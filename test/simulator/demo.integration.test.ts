// Smoke test of `npm run demo`: a short run on its own topics, database and ports
// must start what exists, backfill, trickle, stop by itself and exit 0.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createAdmin, createKafka } from '@optout/kafka';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, REPO_ROOT } from '../../services/simulator/src/processes.ts';
import { testStack } from '../support/env.ts';
import { uniqueName } from '../support/names.ts';

const name = uniqueName('demo');
const topics = {
  TOPIC_PUSH_SENT: `${name}-push-sent`,
  TOPIC_CAMPAIGN_INTERACTION: `${name}-campaign-interaction`,
  TOPIC_APP_EVENT: `${name}-app-event`,
  TOPIC_CONSENT_CHANGE: `${name}-consent-change`,
  TOPIC_DLQ: `${name}-dlq`,
  TOPIC_CONTROL: `${name}-control`,
};

function run(env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn('npx', ['tsx', 'services/simulator/src/demo.ts'], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.once('exit', (code) => done({ code, output }));
  });
}

describe('npm run demo (smoke)', () => {
  const stack = testStack();

  afterAll(async () => {
    const admin = createAdmin(createKafka({ brokers: stack.brokers, clientId: 'demo-test-cleanup' }));
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const mine = Object.values(topics).filter((t) => existing.has(t));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine }).catch(() => {});
    await admin.disconnect();
    await fetch(stack.clickhouseUrl, {
      method: 'POST',
      body: `DROP DATABASE IF EXISTS ${name}`,
      headers: { 'X-ClickHouse-User': stack.clickhouseUser, 'X-ClickHouse-Key': stack.clickhousePassword },
    });
  });

  it('runs briefly on its own topics and database, then stops by itself', async () => {
    const [queryPort, ingestPort] = [await freePort(), await freePort()];
    const { code, output } = await run({
      ...process.env,
      ...topics,
      KAFKA_BROKERS: stack.brokers.join(','),
      CLICKHOUSE_URL: stack.clickhouseUrl,
      CLICKHOUSE_DATABASE: name,
      KAFKA_GROUP_ID: `${name}-ingest`,
      QUERY_HTTP_PORT: String(queryPort),
      INGEST_HTTP_PORT: String(ingestPort),
      DEMO_DURATION_SECONDS: '40',
      DEMO_USERS: '500',
      DEMO_DAYS: '7',
      DEMO_RATE: '20',
    });
    expect(output, output).toContain('backfill:');
    expect(code, output).toBe(0);
    expect(output).toContain(`http://127.0.0.1:${queryPort}/`);
    expect(output).toContain('left running');
    if (existsSync(`${REPO_ROOT}/services/query/src/main.ts`)) expect(output).toMatch(/API key: +demo_/);
    // With ingest present, the run must end with opt-outs in ClickHouse.
    if (existsSync(`${REPO_ROOT}/services/ingest/src/main.ts`)) {
      const match = /consent_transitions: (\d+) opt-out rows/.exec(output);
      expect(match, output).not.toBeNull();
      expect(Number(match![1])).toBeGreaterThan(0);
    }
  }, 240_000);
});
