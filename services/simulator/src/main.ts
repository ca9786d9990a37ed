// `npm run simulate -- --users 10000 --days 30 --rate 50 --seed 1 ...`
// Backfills history into the four input topics as fast as possible, then keeps
// a live trickle going until Ctrl-C (or --live-seconds).
import { inputTopics, kafkaShape, loadConfigOrExit, parseEnv } from '@optout/config';
import { schemaRegistryConnection } from '@optout/events';
import { kafkaConnection } from '@optout/kafka';
import { ArgsError, parseSimulatorArgs, USAGE } from './args.ts';
import { Simulation } from './model/stream.ts';
import { formatCount } from './progress.ts';
import { backfill, live, type NoiseOptions } from './run.ts';
import { createSender, type Sender } from './send.ts';

async function main(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parseSimulatorArgs>;
  try {
    args = parseSimulatorArgs(argv);
  } catch (error) {
    if (error instanceof ArgsError) {
      process.stderr.write(`simulate: ${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw error;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const config = loadConfigOrExit(() => parseEnv(kafkaShape));
  const topics = inputTopics(config);
  const sim = new Simulation({
    seed: args.seed,
    apps: args.apps,
    users: args.users,
    campaigns: args.campaigns,
    days: args.days,
    endMs: args.endMs,
  });
  const noise: NoiseOptions = {
    disorder: { outOfOrder: args.outOfOrder, duplicates: args.duplicates, maxDelayBatches: 3 },
    malformed: args.malformed,
  };
  const controller = new AbortController();
  const stop = () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write('\nstopping (Ctrl-C again to quit at once)...\n');
    controller.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  process.stderr.write(
    `simulate: seed ${args.seed}, ${args.apps} apps (${sim.world.apps.map((a) => a.id).join(', ')}), ${formatCount(args.users)} users, ` +
      `${args.campaigns} campaigns/app, ${args.days} days up to ${new Date(args.endMs).toISOString()}` +
      `${args.dryRun ? ' (dry run: nothing is sent)' : ` -> ${config.KAFKA_BROKERS.join(',')} [${Object.values(topics).join(', ')}]`}\n`,
  );
  const sender: Sender | null = args.dryRun
    ? null
    : await createSender({
        ...kafkaConnection(config),
        topics,
        registry: schemaRegistryConnection(config),
        acks: args.acks,
      });
  try {
    if (args.mode !== 'live') {
      await backfill(sim, sender, { batchSize: args.batchSize, noise, signal: controller.signal });
    }
    if (args.mode !== 'backfill' && args.rate > 0 && !controller.signal.aborted) {
      process.stderr.write(
        `live: ${args.rate} events/s${args.liveSeconds === undefined ? ' until Ctrl-C' : ` for ${args.liveSeconds}s`}\n`,
      );
      const result = await live(sim, sender, {
        rate: args.rate,
        noise,
        durationMs: args.liveSeconds === undefined ? undefined : args.liveSeconds * 1000,
        signal: controller.signal,
      });
      process.stderr.write(
        `live: sent ${formatCount(result.events)} events in ${result.seconds.toFixed(0)}s\n`,
      );
    }
  } finally {
    await sender?.close();
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`simulate: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
