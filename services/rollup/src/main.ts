// `npm run rollup`: the exposure rollup as a process. SIGTERM/SIGINT: finish
// the step in hand (or give up after SHUTDOWN_TIMEOUT_MS: a step only writes
// rows that a later one writes again), then exit.
import { loadRollupConfig, startRollup } from './index.ts';

const config = loadRollupConfig();
const handle = await startRollup(config).catch((error: unknown) => {
  process.stderr.write(`rollup: could not start: ${(error as Error).message}\n`);
  process.exit(1);
});

let stopping = false;
async function shutdown(reason: string) {
  if (stopping) return;
  stopping = true;
  handle.logger.info({ event: 'shutdown', reason }, 'shutting down');
  const deadline = setTimeout(() => {
    handle.logger.warn(
      { event: 'shutdown_timeout', timeout_ms: config.SHUTDOWN_TIMEOUT_MS },
      'step unfinished; exiting',
    );
    process.exit(0);
  }, config.SHUTDOWN_TIMEOUT_MS);
  deadline.unref();
  await handle.stop();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
