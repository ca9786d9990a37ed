// The one error shape of the API (SPEC 5): { error: { code, message, details } }.
// Handlers throw ApiError; the server's error handler turns it (and anything
// unexpected) into that body, so no route writes error JSON by hand.

export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'rate_limited'
  | 'unavailable'
  | 'timeout'
  | 'internal';

/** One bad request parameter and why it was refused. */
export interface ParamProblem {
  param: string;
  message: string;
}

const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  rate_limited: 429,
  unavailable: 503,
  timeout: 504,
  internal: 500,
};

export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  /**
   * Seconds after which a retry may succeed, sent as `Retry-After` (429, and
   * the 503s of load shedding); undefined when there is no useful hint.
   */
  retryAfterSeconds: number | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ParamProblem[] = [],
  ) {
    super(message);
    this.status = STATUS[code];
  }

  /** The same error with a Retry-After hint (whole seconds, at least 1). */
  retryAfter(seconds: number): this {
    this.retryAfterSeconds = Math.max(1, Math.ceil(seconds));
    return this;
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details: ParamProblem[] };
}

export function errorBody(error: ApiError): ErrorBody {
  return { error: { code: error.code, message: error.message, details: error.details } };
}

export const badRequest = (problems: ParamProblem[]) =>
  new ApiError('bad_request', `invalid parameters: ${problems.map((p) => p.param).join(', ')}`, problems);
