// `npm run ingest`: the ingest service as a process. SIGTERM/SIGINT: stop
// fetching, finish (or abandon, uncommitted) the batch in hand, commit, exit,
// within SHUTDOWN_TIMEOUT_MS.
import { loadIngestConfig, startIngest } from './index.ts';

const config = loadIngestConfig();
const handle = await startIngest(config).catch((error: unknown) => {
  process.stderr.write(`ingest: could not start: ${(error as Error).message}\n`);
  process.exit(1);
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  handle.logger.info({ event: 'shutdown', signal }, 'shutting down');
  const deadline = setTimeout(() => {
    handle.logger.error(
      { event: 'shutdown_timeout', timeout_ms: config.SHUTDOWN_TIMEOUT_MS },
      'shutdown took too long; exiting',
    );
    process.exit(1);
  }, config.SHUTDOWN_TIMEOUT_MS);
  deadline.unref();
  await handle.stop();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
