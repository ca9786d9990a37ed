// `npm run ingest`: the ingest service as a process. SIGTERM/SIGINT: readiness
// off, stop fetching, finish (or abandon, uncommitted) the round in hand,
// commit, exit, within SHUTDOWN_TIMEOUT_MS.
import { loadIngestConfig, startIngest } from './index.ts';

const config = loadIngestConfig();
const handle = await startIngest(config).catch((error: unknown) => {
  process.stderr.write(`ingest: could not start: ${(error as Error).message}\n`);
  process.exit(1);
});

let stopping = false;
async function shutdown(reason: string, code: number) {
  if (stopping) return;
  stopping = true;
  handle.logger.info({ event: 'shutdown', reason }, 'shutting down');
  const deadline = setTimeout(() => {
    handle.logger.error(
      { event: 'shutdown_timeout', timeout_ms: config.SHUTDOWN_TIMEOUT_MS },
      'shutdown took too long; exiting',
    );
    process.exit(1);
  }, config.SHUTDOWN_TIMEOUT_MS);
  deadline.unref();
  await handle.stop();
  process.exit(code);
}
process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
process.on('SIGINT', () => void shutdown('SIGINT', 0));
void handle.fatal.then((error) => {
  handle.logger.fatal({ event: 'ingest_fatal', err: error }, error.message);
  process.stderr.write(`ingest: ${error.message}\n`);
  void shutdown('fatal', 1);
});
