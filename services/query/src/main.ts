// Entry point: `npm run query`. Parses the environment (exits naming any bad
// variable), listens on HTTP_HOST:HTTP_PORT, and shuts down on SIGTERM/SIGINT:
// stop accepting, let in-flight requests finish, close Kafka and ClickHouse,
// all under a deadline.
import { createLogger } from '@optout/observability';
import { loadQueryConfigOrExit } from './config.ts';
import { buildQueryServer } from './server.ts';

const SHUTDOWN_DEADLINE_MS = 15_000;
/** In-flight requests (exports) get this long to finish before their sockets are cut. */
const DRAIN_MS = 10_000;

const config = loadQueryConfigOrExit();
const logger = createLogger('query', config.LOG_LEVEL);
const app = await buildQueryServer({ config, logger });
await app.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutdown_started');
  const deadline = setTimeout(() => {
    logger.error({ signal }, 'shutdown_deadline_exceeded');
    process.exit(1);
  }, SHUTDOWN_DEADLINE_MS);
  deadline.unref();
  // A cut export is aborted, never ended cleanly, so clients see it as incomplete.
  const cut = setTimeout(() => app.server.closeAllConnections(), DRAIN_MS);
  cut.unref();
  try {
    await app.close();
    logger.info('shutdown_complete');
    process.exit(0);
  } catch (error) {
    logger.error({ err: error }, 'shutdown_failed');
    process.exit(1);
  }
}

process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
