// A logger that keeps every line in memory, so a test can read what a client
// logged (for instance, that no secret is in it). It implements the part of
// pino's interface the project's code calls: level methods and child().
import type { Logger } from '@optout/observability';

export interface CapturedLog {
  logger: Logger;
  /** Every line so far, as the JSON pino would have written. */
  lines(): string[];
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

export function captureLogs(): CapturedLog {
  const lines: string[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const logger: Record<string, unknown> = { level: 'trace' };
    for (const level of LEVELS) {
      logger[level] = (first: unknown, message?: string) => {
        const fields =
          first instanceof Error
            ? { err: first }
            : typeof first === 'object' && first !== null
              ? first
              : { msg: String(first) };
        // An Error among the fields is written as pino's serializer writes it: message and stack.
        const line = { level, ...bindings, ...fields, ...(message ? { msg: message } : {}) };
        lines.push(
          JSON.stringify(line, (_key, value) =>
            value instanceof Error ? { message: value.message, stack: value.stack } : value,
          ),
        );
      };
    }
    logger.child = (more: Record<string, unknown>) => make({ ...bindings, ...more });
    logger.isLevelEnabled = () => true;
    return logger as unknown as Logger;
  };
  return { logger: make({}), lines: () => [...lines] };
}
