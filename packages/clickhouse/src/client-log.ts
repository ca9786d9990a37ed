// The client library's own log lines (a failed request, a stale socket reused,
// advice on its configuration) as JSON lines of the process's pino logger,
// component "clickhouse-client", instead of the library's default console
// format between them, which spreads one event over a dozen lines.
import {
  ClickHouseLogLevel,
  type ErrorLogParams,
  type Logger as LibraryLogger,
  type LogParams,
  type WarnLogParams,
} from '@clickhouse/client';
import { createLogger, type Logger } from '@optout/observability';

/** The fields of one library line: its module, arguments and error. */
function fields({ module, args, err }: LogParams & { err?: Error }) {
  return { module, ...(args ? { args } : {}), ...(err ? { err } : {}) };
}

/**
 * A logger class for the client's `log.LoggerClass` (it takes no constructor
 * arguments, so the pino logger is closed over). The library's warnings of
 * module Config are logged at debug: they are advice checked at every client's
 * creation (a request_timeout over 60 s without progress headers "may fail"
 * behind a load balancer's idle timeout), and our long timeouts are chosen
 * (export, the rollup's month-long reads) for a ClickHouse next to the service.
 */
export function clientLoggerClass(logger: Logger): new () => LibraryLogger {
  // As kafkajs's lines are (packages/kafka/src/client.ts): a child with the component.
  const child = logger.child({ component: 'clickhouse-client' });
  return class implements LibraryLogger {
    trace(p: LogParams) {
      child.trace(fields(p), p.message);
    }
    debug(p: LogParams) {
      child.debug(fields(p), p.message);
    }
    info(p: LogParams) {
      child.info(fields(p), p.message);
    }
    warn(p: WarnLogParams) {
      if (p.module === 'Config') child.debug(fields(p), p.message);
      else child.warn(fields(p), p.message);
    }
    error(p: ErrorLogParams) {
      child.error(fields(p), p.message);
    }
  };
}

/**
 * The library's level for a logger's: it leaves out below it what the logger
 * would drop anyway. At info, the library's level is WARN: its only info line
 * is one announcing its own level, at every client's creation.
 */
export function libraryLevel(logger: Logger): ClickHouseLogLevel {
  if (logger.isLevelEnabled('trace')) return ClickHouseLogLevel.TRACE;
  if (logger.isLevelEnabled('debug')) return ClickHouseLogLevel.DEBUG;
  if (logger.isLevelEnabled('warn')) return ClickHouseLogLevel.WARN;
  if (logger.isLevelEnabled('error')) return ClickHouseLogLevel.ERROR;
  return ClickHouseLogLevel.OFF;
}

let fallback: Logger | undefined;

/** For clients built without a logger (tools, tests): one shared pino logger at info. */
export function defaultClientLogger(): Logger {
  fallback ??= createLogger('clickhouse-client');
  return fallback;
}
