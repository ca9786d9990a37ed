// Turning the streamed export rows into a CSV or NDJSON body.
//
// Memory stays flat: rows are pulled from ClickHouse one batch at a time only
// when the HTTP response asks for more (Readable.from over an async generator
// respects backpressure). If the client goes away, fastify destroys this
// stream, the generator's `finally` runs and cancels the ClickHouse query
// (abort + KILL QUERY). If ClickHouse fails half-way, the generator throws,
// and fastify destroys the socket instead of ending the chunked body: a client
// never sees a truncated file as a complete one.
import { Readable } from 'node:stream';
import { csvLine } from './csv.ts';
import { csvRecord, EXPORT_COLUMNS, ndjsonLine } from './queries/export.ts';

export type ExportFormat = 'csv' | 'ndjson';

export const CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  ndjson: 'application/x-ndjson; charset=utf-8',
};

/** Lines are grouped into chunks of about this size to keep per-write overhead low. */
const CHUNK_CHARS = 64 * 1024;

/**
 * The body of an export. `first` is the first batch of ClickHouse lines,
 * already read by the caller (so that an error before any data still becomes
 * a JSON error). Batches are formatted in a plain loop (no await per row).
 */
export function exportBody(
  format: ExportFormat,
  first: IteratorResult<string[], void>,
  batches: AsyncGenerator<string[], void, undefined>,
): Readable {
  async function* lines(): AsyncGenerator<string, void, undefined> {
    try {
      let chunk = format === 'csv' ? csvLine([...EXPORT_COLUMNS]) : '';
      const format1 = format === 'csv' ? csvRecord : ndjsonLine;
      const add = (batch: readonly string[]) => {
        for (const line of batch) chunk += format1(line);
      };
      if (!first.done) add(first.value);
      if (chunk.length >= CHUNK_CHARS) {
        yield chunk;
        chunk = '';
      }
      for await (const batch of batches) {
        add(batch);
        if (chunk.length >= CHUNK_CHARS) {
          yield chunk;
          chunk = '';
        }
      }
      if (chunk.length > 0) yield chunk;
    } finally {
      // Early return (client disconnected) or error: make sure the query stops.
      await batches.return(undefined);
    }
  }
  return Readable.from(lines(), { objectMode: false });
}

/** `optouts-<appId>-<from>-to-<to>-<channel>.<ext>`, with characters unsafe in a header replaced by '_'. */
export function exportFilename(
  appId: string,
  from: string,
  to: string,
  channel: string,
  format: ExportFormat,
) {
  const safeApp = appId.replace(/[^A-Za-z0-9._-]/g, '_');
  return `optouts-${safeApp}-${from}-to-${to}-${channel}.${format}`;
}
