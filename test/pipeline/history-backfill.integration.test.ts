// SPEC 3 "History and lateness": a 400-day history loaded topic by topic, in
// four different topic orders (each topic shuffled within), gives every chart
// exactly the reference's answer, over last_year, a custom range 300-330 days
// back and the last week, in three time zones.
import { afterEach, describe, it } from 'vitest';
import type { TestPipeline } from '../support/pipeline.ts';
import {
  expectAllEndpointsExact,
  expectInterestingHistory,
  load,
  TOPIC_ORDERS,
  topicByTopic,
} from './history.ts';

describe('a 400-day backfill, topic by topic', () => {
  let p: TestPipeline | undefined;
  afterEach(async () => {
    await p?.cleanup();
    p = undefined;
  });

  it('is a history worth checking', () => expectInterestingHistory());

  TOPIC_ORDERS.forEach((order, i) => {
    it(`${order.join(' > ')}: every chart equals the reference`, { timeout: 300_000 }, async () => {
      p = await load({ phases: topicByTopic(order, 10 * i), faults: false });
      await expectAllEndpointsExact(p);
    });
  });
});
