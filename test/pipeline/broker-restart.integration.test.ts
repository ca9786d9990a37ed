// The broker restarts under ingest: the service reconnects by itself, nothing
// is lost or doubled. Uses a private Kafka (own folder and ports) so the other
// tests' broker is not disturbed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  freePort,
  kafkaStart,
  kafkaStop,
  type StackSettings,
  settingsFromEnv,
} from '../../infra/local/stack.ts';
import { generateEvents, shuffle } from '../support/generate.ts';
import { createTestPipeline, type TestPipeline } from '../support/pipeline.ts';
import { optOutFacts, transitions } from '../support/reference.ts';
import { readOptOutFacts, readTransitions } from './facts.ts';

describe('broker restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'optout-kafka-'));
  let settings: StackSettings | undefined;
  let p: TestPipeline | undefined;
  afterAll(async () => {
    await p?.cleanup().catch(() => {});
    if (settings) await kafkaStop(settings);
    rmSync(dir, { recursive: true, force: true });
  });

  it('ingest reconnects after the broker restarts, and the facts are exact', {
    timeout: 240_000,
  }, async () => {
    settings = {
      ...settingsFromEnv(),
      localDir: dir,
      kafkaPort: await freePort(),
      kafkaControllerPort: await freePort(),
    };
    const brokers = [await kafkaStart(settings)];
    const events = generateEvents({ seed: 41, now: Date.now() });
    const shuffled = shuffle(events, 2);
    const half = shuffled.length >> 1;
    p = await createTestPipeline({ partitions: 2, brokers });
    const ingest = await p.startIngest({ KAFKA_BROKERS: brokers.join(',') });
    await p.produce(shuffled.slice(0, half));
    await p.waitForCaughtUp();

    await kafkaStop(settings);
    await new Promise((r) => setTimeout(r, 2000)); // ingest sees the broker gone
    await kafkaStart(settings);

    await p.produce(shuffled.slice(half));
    await p.waitForCaughtUp(120_000);
    expect(ingest.pipeline.crashed).toBeNull();
    expect(await readTransitions(p.clickhouse)).toEqual(transitions(events));
    expect(await readOptOutFacts(p.clickhouse)).toEqual(optOutFacts(events));
  });
});
