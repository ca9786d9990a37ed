// Our kafkajs patch for tulios/kafkajs#1630 (patches/README.md): when no broker
// answers a group-coordinator lookup (each one unreachable while it restarts),
// kafkajs threw a non-retriable error, and a consumer that crashed on it
// stopped for good; ingest's broker-restart test failed so when the broker went
// down in the middle of a rejoin. Retriable now, so kafkajs restarts the
// consumer. The lookup runs here on a broker pool where no broker answers.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const Cluster = require('kafkajs/src/cluster/index.js') as {
  prototype: { findGroupCoordinatorMetadata(params: { groupId: string }): Promise<unknown> };
};

describe('kafkajs group-coordinator lookup (patched)', () => {
  it('is retriable when no broker answers, so a consumer that crashes on it restarts', async () => {
    const noBrokerAnswers = { brokerPool: { withBroker: async () => null } };
    const lookup = Cluster.prototype.findGroupCoordinatorMetadata.call(noBrokerAnswers, { groupId: 'g' });
    await expect(lookup).rejects.toMatchObject({
      name: 'KafkaJSGroupCoordinatorNotFound',
      retriable: true,
    });
  });
});
