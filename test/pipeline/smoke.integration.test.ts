import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPipeline, type TestPipeline } from '../support/pipeline.ts';

const HOUR = 3_600_000;

describe('pipeline smoke', () => {
  let p: TestPipeline;
  beforeAll(async () => {
    p = await createTestPipeline({ partitions: 2 });
  });
  afterAll(async () => {
    await p?.cleanup();
  });

  it('turns a push and an opt-out into a fact with the push counted', async () => {
    const t = Date.now() - 2 * HOUR;
    const base = { app_id: 'app-1', user_id: 'u-1' };
    await p.produce([
      {
        kind: 'pushSent',
        event: {
          ...base,
          event_id: 'p1',
          occurred_at: t - HOUR,
          message_id: 'm1',
          campaign_id: 'c1',
          campaign_name: 'Spring',
          platform: 'ios',
        },
      },
      {
        kind: 'consentChange',
        event: {
          ...base,
          event_id: 'o1',
          occurred_at: t,
          channel: 'PUSH',
          status: 'OPTED_OUT',
          source: 'os_settings',
          external_id: 'ext-1',
          identifiers: { email: 'a@b.c' },
        },
      },
    ]);
    await p.startIngest();
    await p.waitForCaughtUp();
    const rows = await (
      await p.clickhouse.query({
        // The latest version per transition: a fact may have been corrected since.
        query: `SELECT transition_id, argMax(kind, version) AS kind, argMax(pushes_before, version) AS pushes_before,
                       argMax(is_deleted, version) AS is_deleted
                FROM consent_transitions GROUP BY transition_id`,
        format: 'JSONEachRow',
      })
    ).json<{ transition_id: string; kind: string; pushes_before: number[]; is_deleted: number }>();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.transition_id).toBe('o1');
    expect(rows[0]!.kind).toBe('OPT_OUT');
    expect(rows[0]!.pushes_before[0]).toBe(1);
    const names = await (
      await p.clickhouse.query({ query: 'SELECT campaign_name FROM campaign_names', format: 'JSONEachRow' })
    ).json();
    expect(names).toEqual([{ campaign_name: 'Spring' }]);
  });
});
