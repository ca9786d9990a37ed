// Running fact queries on ClickHouse with a time limit, and mapping failures
// to API errors: unreachable -> 503, over the limit -> 504 (SPEC 5).
//
// Each query gets its own query_id so that it can be stopped: aborting the
// HTTP request only stops the client, the server query keeps running (reference
// doc 3), so on a client-side deadline or a disconnected export we also send
// `KILL QUERY WHERE query_id = ... ASYNC`. A read-only user may kill its own
// queries (checked on 18.16 with the readonly=2 profile); if the KILL fails,
// the server's own max_execution_time still ends the query, so the failure is
// only logged.
//
// Every query first takes a slot of the service-wide QueryGate (limits.ts):
// a chart query for as long as it runs, an export for as long as it streams.
// KILL, ping and the schema check of /readyz do not: they must work when the
// slots are all taken.
import { randomUUID } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import type { ClickHouseClient } from '@clickhouse/client';
import {
  clickhouseErrorCode,
  identifier,
  isTimeout,
  isUnavailable,
  type Migration,
  type SqlFragment,
  sql,
  trailingError,
} from '@optout/clickhouse';
import type { Logger } from '@optout/observability';
import { ApiError } from './errors.ts';
import type { QueryGate } from './limits.ts';

// ClickHouse codes of a database or table that does not exist (yet).
const UNKNOWN_TABLE = 60;
const UNKNOWN_DATABASE = 81;

/** Whether a database's schema is the one this release's migrations build (for /readyz). */
export type SchemaStatus = { ok: true } | { ok: false; problem: string };

export interface QueryOptions {
  /** Client deadline; the server limit (max_execution_time, whole seconds) is rounded up from it. */
  timeoutMs: number;
  /** What the query is for, in logs. */
  label: string;
}

export type JsonRow = Record<string, unknown>;

/**
 * An open streamed result: TabSeparated lines (without the newline), in
 * batches as they arrive; `cancel` stops the server query too.
 */
export interface LineStream {
  batches: AsyncGenerator<string[], void, undefined>;
  cancel(): void;
}

export class Warehouse {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly log: Logger,
    /** The service-wide cap; none in tests that use a Warehouse on its own. */
    private readonly gate?: QueryGate,
  ) {}

  private async slot(): Promise<() => void> {
    return this.gate ? this.gate.acquire() : () => undefined;
  }

  private settings(timeoutMs: number) {
    return {
      max_execution_time: Math.max(1, Math.ceil(timeoutMs / 1000)),
      // The fact queries read `FINAL WHERE is_deleted = 0 ...`, which is only
      // right while the WHERE stays after FINAL's collapsing of versions: the
      // server must not move it to PREWHERE (queries/scope.ts, finalRows).
      // Accepted per query by 18.16 and current servers (reader profile readonly=2).
      optimize_move_to_prewhere: 0 as const,
      // On a cluster, campaigns, export and exposure filter a Distributed table
      // with `IN (subquery)` over another one, which the default mode (deny)
      // refuses (code 288). `global` runs the subquery once and ships its
      // result to every shard: exact however the tables are sharded. A no-op
      // on a single server; sent here so no server profile has to set it.
      distributed_product_mode: 'global' as const,
    };
  }

  /** Runs a bounded SELECT and returns its rows (JSONEachRow: 64-bit integers come back as strings). */
  async rows<T extends JsonRow = JsonRow>(query: SqlFragment, options: QueryOptions): Promise<T[]> {
    // The time limit starts once the query has a slot: waiting has its own limit.
    const release = await this.slot();
    const queryId = randomUUID();
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, options.timeoutMs);
    try {
      const result = await this.client.query({
        query: query.text,
        format: 'JSONEachRow',
        query_id: queryId,
        abort_signal: controller.signal,
        // Buffer the (small) result on the server so an error is a real HTTP
        // 500 with its code, not text appended to a 200 body.
        clickhouse_settings: { ...this.settings(options.timeoutMs), wait_end_of_query: 1 },
      });
      return await result.json<T>();
    } catch (error) {
      if (timedOut) this.kill(queryId, options.label);
      throw this.toApiError(error, timedOut, options.label, queryId);
    } finally {
      clearTimeout(timer);
      release();
    }
  }

  /**
   * Starts a streamed SELECT in TabSeparated: lines are handed over in the
   * batches the body arrives in, split from its bytes here (no per-row object
   * from the client, no JSON parsing, no per-row await: the export moves a
   * million rows). Resolves once ClickHouse has
   * answered with a status, so errors before the first byte still map to a
   * JSON error; later errors (an appended `Code: NNN` line) are thrown by
   * `batches`. The query's first column must never start with "Code: ".
   */
  async streamLines(query: SqlFragment, options: QueryOptions): Promise<LineStream> {
    const release = await this.slot();
    const queryId = randomUUID();
    const controller = new AbortController();
    let timedOut = false;
    let finished = false;
    // Every end of the stream comes through here (normal end, client gone,
    // error, time limit), so the slot is always given back.
    const cancel = () => {
      clearTimeout(timer);
      release();
      if (finished) return;
      finished = true;
      controller.abort();
      this.kill(queryId, options.label);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      cancel();
    }, options.timeoutMs);
    let result: Awaited<ReturnType<ClickHouseClient['exec']>>;
    try {
      // exec sends the SQL as it is: the FORMAT is ours.
      result = await this.client.exec({
        query: `${query.text}\nFORMAT TabSeparated`,
        query_id: queryId,
        abort_signal: controller.signal,
        clickhouse_settings: this.settings(options.timeoutMs),
      });
    } catch (error) {
      clearTimeout(timer);
      release();
      if (timedOut) this.kill(queryId, options.label);
      throw this.toApiError(error, timedOut, options.label, queryId);
    }
    const toApiError = this.toApiError.bind(this);
    async function* batches(): AsyncGenerator<string[], void, undefined> {
      // A line split across chunks (or a UTF-8 character) waits for the next one.
      const decoder = new StringDecoder('utf8');
      let partial = '';
      try {
        for await (const chunk of result.stream as AsyncIterable<Buffer>) {
          // Past the time limit the query is killed, but lines already buffered
          // (socket, client) would still arrive: the body must fail, not end.
          if (timedOut) throw new Error('export time limit reached');
          const lines = (partial + decoder.write(chunk)).split('\n');
          partial = lines.pop() ?? '';
          if (lines.length > 0) yield checked(lines);
        }
        // An error appended by the server may end without a newline.
        partial += decoder.end();
        if (partial !== '') yield checked([partial]);
        finished = true;
      } catch (error) {
        throw toApiError(error, timedOut, options.label, queryId);
      } finally {
        // Normal end: nothing to stop. Early return (client gone) or error: stop the server query.
        cancel();
      }
    }
    return { batches: batches(), cancel };
  }

  /** Fire-and-forget KILL of a query this service started. */
  kill(queryId: string, label: string): void {
    this.client
      .command({ query: sql`KILL QUERY WHERE query_id = ${queryId} ASYNC`.text })
      .then(() => this.log.info({ query_id: queryId, label }, 'query_killed'))
      .catch((error: unknown) =>
        this.log.warn({ query_id: queryId, label, err: error }, 'query_kill_failed'),
      );
  }

  /** Is ClickHouse reachable (for /readyz)? Bounded: the client's own timeout outlasts exports. */
  async ping(timeoutMs = 3_000): Promise<boolean> {
    try {
      const result = await this.client.ping({ select: false, abort_signal: AbortSignal.timeout(timeoutMs) });
      return result.success;
    } catch {
      return false;
    }
  }

  /**
   * Compares the migrations recorded in `database`.schema_migrations with the
   * ones this release ships (`expected`, read from its migration files). Works
   * for the read-only user: a plain SELECT, with only max_execution_time set
   * (readonly=2 allows it). Throws when ClickHouse cannot be asked at all.
   */
  async schemaStatus(
    database: string,
    expected: readonly Migration[],
    timeoutMs: number,
  ): Promise<SchemaStatus> {
    const migrate = `run \`npm run migrate\` with CLICKHOUSE_DATABASE=${database}`;
    let applied: { version: number; checksum: string }[];
    try {
      const result = await this.client.query({
        query: sql`SELECT version, checksum FROM ${identifier(database, 'schema_migrations')}`.text,
        format: 'JSONEachRow',
        clickhouse_settings: { max_execution_time: Math.max(1, Math.ceil(timeoutMs / 1000)) },
        abort_signal: AbortSignal.timeout(timeoutMs),
      });
      applied = await result.json<{ version: number; checksum: string }>();
    } catch (error) {
      const code = clickhouseErrorCode(error);
      if (code === UNKNOWN_DATABASE || code === UNKNOWN_TABLE) {
        return { ok: false, problem: `database ${database} has no migrations applied: ${migrate}` };
      }
      throw error;
    }
    // Several rows per version are possible (two runners at once) and rows of
    // versions newer than this release are fine: migrate() tolerates both.
    const checksums = new Map<number, Set<string>>();
    for (const row of applied) {
      const version = Number(row.version);
      checksums.set(version, (checksums.get(version) ?? new Set()).add(row.checksum));
    }
    const missing = expected.filter((m) => !checksums.has(m.version)).map((m) => m.name);
    const changed = expected
      .filter((m) => [...(checksums.get(m.version) ?? [])].some((c) => c !== m.checksum))
      .map((m) => m.name);
    if (changed.length > 0) {
      return {
        ok: false,
        problem: `database ${database} has migrations applied with other statements than this release's files: ${changed.join(', ')}`,
      };
    }
    if (missing.length > 0) {
      return {
        ok: false,
        problem: `database ${database} lacks ${missing.length} of the ${expected.length} migrations this release expects (${missing.join(', ')}): ${migrate}`,
      };
    }
    return { ok: true };
  }

  private toApiError(error: unknown, timedOut: boolean, label: string, queryId: string): ApiError {
    if (error instanceof ApiError) return error;
    if (timedOut || isTimeout(error)) {
      this.log.warn({ label, query_id: queryId }, 'query_timeout');
      return new ApiError('timeout', 'the query took longer than its time limit; try a shorter range');
    }
    if (isUnavailable(error)) {
      this.log.warn({ label, query_id: queryId, err: error }, 'clickhouse_unavailable');
      return new ApiError('unavailable', 'the analytics database is unavailable; retry later');
    }
    this.log.error(
      { label, query_id: queryId, code: clickhouseErrorCode(error), err: error },
      'query_failed',
    );
    return new ApiError('internal', 'the query failed');
  }
}

/** The lines, or the error the server appended instead of data (a line starting "Code: "). */
function checked(lines: string[]): string[] {
  for (const line of lines) {
    // A data line starting with "C" is rare: check the pattern only then.
    if (line.charCodeAt(0) === 67) {
      const error = trailingError(line);
      if (error) throw error;
    }
  }
  return lines;
}

/** ClickHouse JSON numbers: UInt64/Int64 arrive as strings, smaller types as numbers. */
export function num(value: unknown): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n))
    throw new TypeError(`expected a number from ClickHouse, got ${JSON.stringify(value)}`);
  return n;
}
