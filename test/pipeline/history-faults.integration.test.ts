// The same 400-day backfills as history-backfill, but with ingest killed (-9)
// mid-load, a new instance taking over, a second joining and the first
// leaving (two rebalances): the numbers may not depend on the pipeline's own
// history (SPEC 3), so every chart still equals the reference exactly.
import { afterEach, describe, it } from 'vitest';
import type { TestPipeline } from '../support/pipeline.ts';
import { expectAllEndpointsExact, load, TOPIC_ORDERS, topicByTopic } from './history.ts';

describe('a 400-day backfill with a crash and rebalances during the load', () => {
  let p: TestPipeline | undefined;
  afterEach(async () => {
    await p?.cleanup();
    p = undefined;
  });

  TOPIC_ORDERS.forEach((order, i) => {
    it(`${order.join(' > ')}, kill -9 and rebalances: every chart equals the reference`, {
      timeout: 300_000,
    }, async () => {
      p = await load({ phases: topicByTopic(order, 10 * i), faults: true });
      await expectAllEndpointsExact(p);
    });
  });
});
