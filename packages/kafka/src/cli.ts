// `npm run topics`: creates the input, control and dead-letter topics.
import { inputTopics, kafkaShape, loadConfigOrExit, parseEnv, positiveInt } from '@optout/config';
import { createAdmin } from './admin.ts';
import { createKafka } from './client.ts';
import { kafkaConnection } from './connection.ts';
import { ensureTopics } from './topics.ts';

const config = loadConfigOrExit(() => parseEnv({ ...kafkaShape, TOPIC_PARTITIONS: positiveInt(4) }));

async function main() {
  const admin = createAdmin(createKafka({ ...kafkaConnection(config), clientId: 'optout-topics' }));
  await admin.connect();
  try {
    const report = await ensureTopics(admin, {
      coPartitioned: [...Object.values(inputTopics(config)), config.TOPIC_CONTROL],
      dlq: config.TOPIC_DLQ,
      partitions: config.TOPIC_PARTITIONS,
    });
    console.log(`created: ${report.created.join(', ') || '(none)'}`);
    for (const [topic, n] of Object.entries(report.existing))
      console.log(`exists:  ${topic} (${n} partitions)`);
  } finally {
    await admin.disconnect();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? `topics: ${error.message}` : error);
  process.exitCode = 1;
});
