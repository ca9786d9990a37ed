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
import { EXPORT_COLUMNS, type ExportRow, toExportRow } from './queries/export.ts';
import type { JsonRow } from './warehouse.ts';

export type ExportFormat = 'csv' | 'ndjson';

export const CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  ndjson: 'application/x-ndjson; charset=utf-8',
};

export function formatRow(row: ExportRow, format: ExportFormat): string {
  if (format === 'ndjson') return `${JSON.stringify(row)}\n`;
  return csvLine(
    EXPORT_COLUMNS.map((column) => {
      const value = row[column];
      return column === 'identifiers' ? JSON.stringify(value) : (value as string | number | boolean | null);
    }),
  );
}

/** Lines are grouped into chunks of about this size to keep per-write overhead low. */
const CHUNK_CHARS = 64 * 1024;

/**
 * The body of an export. `first` is the first ClickHouse row, already read by
 * the caller (so that an error before any data still becomes a JSON error).
 */
export function exportBody(
  format: ExportFormat,
  first: IteratorResult<JsonRow, void>,
  rows: AsyncGenerator<JsonRow, void, undefined>,
): Readable {
  async function* lines(): AsyncGenerator<string, void, undefined> {
    try {
      let chunk = format === 'csv' ? csvLine([...EXPORT_COLUMNS]) : '';
      if (!first.done) chunk += formatRow(toExportRow(first.value), format);
      for await (const row of rows) {
        chunk += formatRow(toExportRow(row), format);
        if (chunk.length >= CHUNK_CHARS) {
          yield chunk;
          chunk = '';
        }
      }
      if (chunk.length > 0) yield chunk;
    } finally {
      // Early return (client disconnected) or error: make sure the query stops.
      await rows.return(undefined);
    }
  }
  return Readable.from(lines(), { objectMode: false });
}

/** `optouts-<appId>-<from>-to-<to>-<channel>.<ext>`, with characters unsafe in a header replaced by '_'. */
export function exportFilename(appId: string, from: string, to: string, channel: string, format: ExportFormat) {
  const safeApp = appId.replace(/[^A-Za-z0-9._-]/g, '_');
  return `optouts-${safeApp}-${from}-to-${to}-${channel}.${format}`;
}
