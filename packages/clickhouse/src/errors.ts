// Classifying ClickHouse failures so callers can map them (SPEC 5: unavailable
// -> 503, over the time limit -> 504) and the pipeline can decide to retry.
//
// On 18.16 the client throws a plain Error: the server's message
// `Code: 62, e.displayText() = DB::Exception: ..., e.what() = DB::Exception`
// lacks the `(TYPE)` suffix the client's parser expects, so `err.code` is
// undefined and the code has to be read from the message. Newer servers give
// a ClickHouseError whose `code` is the number as a string.

/** ClickHouse error code 159: TIMEOUT_EXCEEDED (max_execution_time). */
export const TIMEOUT_EXCEEDED = 159;
/** ClickHouse error code 164: READONLY (write or setting refused for a readonly user). */
export const READONLY = 164;

/** Thrown for an error the server appended to an already-started (HTTP 200) response. */
export class ClickHouseStreamError extends Error {
  override name = 'ClickHouseStreamError';
  readonly code: number;

  constructor(code: number, serverText: string) {
    super(serverText.trim());
    this.code = code;
  }
}

const CODE_IN_MESSAGE = /Code: (\d+)/;

function field(err: unknown, key: string): unknown {
  return typeof err === 'object' && err !== null ? (err as Record<string, unknown>)[key] : undefined;
}

/** The ClickHouse error code of `err`, or undefined when it is not a server error. */
export function clickhouseErrorCode(err: unknown): number | undefined {
  const code = field(err, 'code');
  // `code` is also where Node puts 'ECONNREFUSED' & co.: only digits count.
  if (typeof code === 'number' && Number.isInteger(code)) return code;
  if (typeof code === 'string' && /^\d+$/.test(code)) return Number(code);
  const message = field(err, 'message');
  const match = typeof message === 'string' ? CODE_IN_MESSAGE.exec(message) : null;
  return match ? Number(match[1]) : undefined;
}

// Socket-level failures meaning "no ClickHouse to talk to right now".
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT', // connect timeout (a request timeout is 'Timeout error.', see isTimeout)
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
]);

// Server codes that also mean "try again later": NETWORK_ERROR, SOCKET_TIMEOUT,
// TOO_MANY_SIMULTANEOUS_QUERIES, ALL_CONNECTION_TRIES_FAILED.
const UNAVAILABLE_SERVER_CODES = new Set([209, 210, 202, 279]);

/** Walks err, err.cause and AggregateError.errors (Node's happy-eyeballs connect). */
function* chain(err: unknown, depth = 0): Generator<unknown> {
  if (err === undefined || err === null || depth > 5) return;
  yield err;
  yield* chain(field(err, 'cause'), depth + 1);
  const errors = field(err, 'errors');
  if (Array.isArray(errors)) for (const inner of errors) yield* chain(inner, depth + 1);
}

/** True when ClickHouse could not be reached (refused, reset, connect timeout, DNS). */
export function isUnavailable(err: unknown): boolean {
  for (const e of chain(err)) {
    const code = field(e, 'code');
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    const message = field(e, 'message');
    if (typeof message === 'string' && /socket hang up/i.test(message)) return true;
  }
  const serverCode = clickhouseErrorCode(err);
  return serverCode !== undefined && UNAVAILABLE_SERVER_CODES.has(serverCode);
}

/**
 * True for a query over its time limit: server code 159 (max_execution_time),
 * or the client's own request_timeout, which it reports as 'Timeout error.'.
 */
export function isTimeout(err: unknown): boolean {
  if (clickhouseErrorCode(err) === TIMEOUT_EXCEEDED) return true;
  for (const e of chain(err)) {
    const message = field(e, 'message');
    if (typeof message === 'string' && /^Timeout error\.?$/.test(message.trim())) return true;
  }
  return false;
}
