// Micro-benchmark of the ingest hot path's first step, for the bench harness
// (not a test: no timed assertions in tests).
import { createEventCodec } from './codec.ts';
import { bundledSchemaRegistry } from './registry-bundled.ts';
import { DEFAULT_SUBJECTS, type PushSent } from './types.ts';

const DISTINCT_RECORDS = 1024;

/**
 * Decodes (and validates) `n` wire-format PushSent records with the bundled
 * schemas, after a warm-up; returns records per second.
 */
export async function benchDecode(n = 1_000_000): Promise<number> {
  const codec = createEventCodec({ registry: bundledSchemaRegistry(), subjects: DEFAULT_SUBJECTS });
  const values: Buffer[] = [];
  for (let i = 0; i < DISTINCT_RECORDS; i++) values.push(await codec.encode('pushSent', samplePush(i)));
  await codec.prepare(values);

  let failures = 0;
  const run = (count: number) => {
    for (let i = 0; i < count; i++) {
      if (!codec.decode('pushSent', values[i % DISTINCT_RECORDS]!).ok) failures++;
    }
  };
  run(Math.min(n, 100_000));
  const started = process.hrtime.bigint();
  run(n);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (failures > 0) throw new Error(`benchDecode: ${failures} records failed to decode`);
  return n / seconds;
}

function samplePush(i: number): PushSent {
  return {
    event_id: `evt-${i.toString(36)}-7f3a9c2e-4b1d-4e8f-9a6b-0c5d2e1f3a4b`,
    app_id: `app-${i % 7}`,
    user_id: `user-${(i * 7919) % 100_000}`,
    occurred_at: Date.UTC(2025, 0, 1) + i * 1_000,
    message_id: `msg-${i}`,
    campaign_id: i % 5 === 0 ? null : `campaign-${i % 40}`,
    campaign_name: i % 5 === 0 ? null : `Spring sale ${i % 40}`,
    platform: i % 2 === 0 ? 'ios' : 'android',
  };
}
