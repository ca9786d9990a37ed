// A 400-day history streamed in time order, and one where a slice of events
// 170-230 days old arrives after everything else has settled (200 days late),
// each with and without a crash and rebalances during the load: every chart
// equals the reference exactly.
import { afterEach, describe, it } from 'vitest';
import type { TestPipeline } from '../support/pipeline.ts';
import { expectAllEndpointsExact, inTimeOrder, load, withLateSlice } from './history.ts';

describe('a 400-day history in time order, and with events 200 days late', () => {
  let p: TestPipeline | undefined;
  afterEach(async () => {
    await p?.cleanup();
    p = undefined;
  });

  for (const faults of [false, true]) {
    const label = faults ? 'with kill -9 and rebalances' : 'without faults';
    it(`in time order, ${label}`, { timeout: 300_000 }, async () => {
      p = await load({ phases: inTimeOrder(), faults });
      await expectAllEndpointsExact(p);
    });

    it(`with a slice arriving 200 days late after the rest settled, ${label}`, {
      timeout: 300_000,
    }, async () => {
      const { early, late } = withLateSlice(77);
      p = await load({ phases: faults ? [...early, [], []] : early, afterSettled: late, faults });
      await expectAllEndpointsExact(p);
    });
  }
});
