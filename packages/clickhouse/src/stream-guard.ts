// When a query fails after the server has started streaming (e.g. it runs
// over max_execution_time), the status line (HTTP 200) is already sent, so
// ClickHouse appends the error text to the body as one more line:
//
//   18.16:   Code: 159, e.displayText() = DB::Exception: Timeout exceeded: ..., e.what() = DB::Exception
//   current: Code: 159. DB::Exception: Timeout exceeded: ... (TIMEOUT_EXCEEDED) (version ...)
//
// The client yields that line as an ordinary row: a CSV or TSV export would
// end with a bogus data line and look complete. streamGuard turns it into an
// exception instead. (Alternative for bounded reads: `wait_end_of_query: 1`,
// which buffers the whole result on the server and returns a proper 500.)
//
// A JSONEachRow or CSV data line never starts with `Code: ` (objects start with
// `{`, CSV strings are quoted). In TabSeparated a string column could, in
// theory, hold exactly this text at the start of a row; prefer CSV or
// JSONEachRow for exports.
import { ClickHouseStreamError } from './errors.ts';

const TRAILING_ERROR = /^Code: (\d+)(?:, e\.displayText\(\) = |\. DB::Exception: )/;

/** The server error carried by a streamed line, or undefined for a data line. */
export function trailingError(line: string): ClickHouseStreamError | undefined {
  const match = TRAILING_ERROR.exec(line);
  return match ? new ClickHouseStreamError(Number(match[1]), line) : undefined;
}

export interface TextRow {
  readonly text: string;
}

/**
 * Yields the rows of a streamed result (`(await client.query(...)).stream()`,
 * which emits arrays of rows, or any iterable of single rows) and throws a
 * ClickHouseStreamError when the server appended an error instead of data.
 */
export async function* streamGuard<R extends TextRow>(
  rows: AsyncIterable<readonly R[] | R> | Iterable<readonly R[] | R>,
): AsyncGenerator<R, void, undefined> {
  for await (const chunk of rows) {
    const batch: readonly R[] = Array.isArray(chunk) ? chunk : [chunk as R];
    for (const row of batch) {
      const error = trailingError(row.text);
      if (error) throw error;
      yield row;
    }
  }
}
