// Load limits of the query service (docs/decisions.md, "Load limits"):
//   - request rate per API key: @fastify/rate-limit -> 429 + Retry-After;
//   - requests and exports in flight per key: KeyInFlight -> 429 + Retry-After;
//   - overload of this process (event-loop delay, heap): @fastify/under-pressure -> 503;
//   - ClickHouse queries of the whole service: QueryGate (used by warehouse.ts), a
//     bounded FIFO queue -> 503, so readers cannot take the server away from ingest's inserts.
// Only the API (/v1/...) is limited: the dashboard's files, /healthz, /readyz and
// /metrics keep answering while the API sheds load, or nobody could see why.
// Every refusal is an ApiError (the API's error body) and is counted by reason.
import rateLimit from '@fastify/rate-limit';
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiKeyStore } from './auth.ts';
import type { QueryConfig } from './config.ts';
import { ApiError } from './errors.ts';
import { countRejection, type QueryMetrics } from './metrics.ts';

/** Retry-After hints (seconds) where no limit knows when room frees up. */
const IN_FLIGHT_RETRY_S = 1;
const EXPORT_RETRY_S = 10;
const OVERLOAD_RETRY_S = 5;

/** The API routes; the route template, so `/v1/...` in a query string does not count. */
function isApi(request: FastifyRequest): boolean {
  return request.routeOptions.url?.startsWith('/v1/') === true;
}

function isExport(request: FastifyRequest): boolean {
  return request.routeOptions.url?.endsWith('/optouts/export') === true;
}

/**
 * Counts per key what is in flight. A Map entry exists only while its count is
 * above 0, so the map never grows beyond the keys busy right now.
 */
export class KeyInFlight {
  private readonly counts = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** Takes one place for `id`; false (nothing taken) when it already has `max`. */
  tryEnter(id: string): boolean {
    const count = this.counts.get(id) ?? 0;
    if (count >= this.max) return false;
    this.counts.set(id, count + 1);
    return true;
  }

  leave(id: string): void {
    const count = this.counts.get(id) ?? 0;
    if (count <= 1) this.counts.delete(id);
    else this.counts.set(id, count - 1);
  }

  inFlight(id: string): number {
    return this.counts.get(id) ?? 0;
  }
}

export interface QueryGateOptions {
  /** Queries running at once (CLICKHOUSE_MAX_CONCURRENT_QUERIES). */
  maxRunning: number;
  /** Queries waiting at once (CLICKHOUSE_QUEUE_SIZE); 0: refuse at once when all slots are taken. */
  maxQueued: number;
  /** Longest wait in the queue (CLICKHOUSE_QUEUE_TIMEOUT_MS). */
  queueTimeoutMs: number;
}

/**
 * The cap on ClickHouse queries of this service, all keys together. Beyond
 * `maxRunning`, queries wait first come, first served; a full queue or a wait
 * over `queueTimeoutMs` is a 503. A freed slot passes straight to the first
 * waiter, so a stream of newcomers cannot overtake the queue.
 */
export class QueryGate {
  private running = 0;
  private readonly queue: { grant: () => void }[] = [];

  constructor(
    private readonly options: QueryGateOptions,
    private readonly metrics?: QueryMetrics,
  ) {}

  /** Waits for a slot; resolves to the function that gives it back (safe to call twice). */
  acquire(): Promise<() => void> {
    if (this.running < this.options.maxRunning) {
      this.running++;
      this.changed();
      return Promise.resolve(this.releaser());
    }
    const retryAfter = this.options.queueTimeoutMs / 1000;
    if (this.queue.length >= this.options.maxQueued) {
      if (this.metrics) countRejection(this.metrics, 'clickhouse_queue_full');
      return Promise.reject(
        new ApiError(
          'unavailable',
          'too many queries are waiting for the analytics database; retry later',
        ).retryAfter(retryAfter),
      );
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: () => {
          clearTimeout(timer);
          resolve(this.releaser());
        },
      };
      const timer = setTimeout(() => {
        this.queue.splice(this.queue.indexOf(waiter), 1);
        this.changed();
        if (this.metrics) countRejection(this.metrics, 'clickhouse_queue_timeout');
        reject(
          new ApiError(
            'unavailable',
            `the analytics database is busy: no query slot within ${this.options.queueTimeoutMs} ms; retry later`,
          ).retryAfter(retryAfter),
        );
      }, this.options.queueTimeoutMs);
      this.queue.push(waiter);
      this.changed();
    });
  }

  get runningNow(): number {
    return this.running;
  }

  get queuedNow(): number {
    return this.queue.length;
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      // Handing the slot over keeps `running` as it is.
      if (next) next.grant();
      else this.running--;
      this.changed();
    };
  }

  private changed(): void {
    this.metrics?.clickhouseRunning.set(this.running);
    this.metrics?.clickhouseQueued.set(this.queue.length);
  }
}

interface LoadLimitDeps {
  config: QueryConfig;
  keys: ApiKeyStore;
  metrics: QueryMetrics;
}

/** Registers every per-request limit; call before the routes, so their hooks apply to them. */
export async function registerLoadLimits(app: FastifyInstance, deps: LoadLimitDeps): Promise<void> {
  const { config, keys, metrics } = deps;

  // Who a request counts against: its configured key, else (no or unknown key,
  // which the route refuses with 401) the client address, so guessing keys is
  // rate-limited too. Memoised: the rate limiter and the in-flight hook both ask.
  const identities = new WeakMap<FastifyRequest, string>();
  const identity = (request: FastifyRequest): string => {
    let id = identities.get(request);
    if (id === undefined) {
      const principal = keys.identify(request.headers.authorization);
      id = principal ? `key:${principal.id}` : `ip:${request.ip}`;
      identities.set(request, id);
    }
    return id;
  };

  const overload = config.OVERLOAD_MAX_EVENT_LOOP_DELAY_MS > 0 || config.OVERLOAD_MAX_HEAP_USED_BYTES > 0;
  if (overload) {
    await app.register(underPressure, {
      maxEventLoopDelay: config.OVERLOAD_MAX_EVENT_LOOP_DELAY_MS,
      maxHeapUsedBytes: config.OVERLOAD_MAX_HEAP_USED_BYTES,
      // Returning nothing lets the request through (operational routes); a
      // rejected promise hands the ApiError to the server's error handler.
      pressureHandler: (request, _reply, type) => {
        if (!isApi(request)) return;
        countRejection(
          metrics,
          type === 'heapUsedBytes' ? 'overload_heap_used' : 'overload_event_loop_delay',
        );
        return Promise.reject(
          new ApiError('unavailable', 'the query service is overloaded; retry later').retryAfter(
            OVERLOAD_RETRY_S,
          ),
        );
      },
    });
  }

  const windowSeconds = Math.ceil(config.RATE_LIMIT_WINDOW_MS / 1000);
  await app.register(rateLimit, {
    global: true,
    max: config.RATE_LIMIT_MAX,
    timeWindow: config.RATE_LIMIT_WINDOW_MS,
    hook: 'onRequest',
    keyGenerator: identity,
    allowList: (request) => !isApi(request),
    onExceeded: () => countRejection(metrics, 'rate_limit'),
    // The plugin has set Retry-After already; the ApiError carries it too.
    errorResponseBuilder: (_request, context) =>
      new ApiError(
        'rate_limited',
        `rate limit exceeded: at most ${context.max} requests per ${windowSeconds} s for this API key; retry in ${context.after}`,
      ).retryAfter(context.ttl / 1000),
  });

  const requests = new KeyInFlight(config.MAX_CONCURRENT_REQUESTS_PER_KEY);
  const exports = new KeyInFlight(config.MAX_CONCURRENT_EXPORTS_PER_KEY);
  app.addHook('onRequest', async (request, reply) => {
    if (!isApi(request)) return;
    const id = identity(request);
    // Unknown callers get their 401 from the route; only the rate limit applies to them.
    if (!id.startsWith('key:')) return;
    if (!requests.tryEnter(id)) {
      countRejection(metrics, 'key_concurrency');
      throw new ApiError(
        'rate_limited',
        `too many requests of this API key in flight (at most ${config.MAX_CONCURRENT_REQUESTS_PER_KEY}); retry when one has finished`,
      ).retryAfter(IN_FLIGHT_RETRY_S);
    }
    const exporting = isExport(request);
    if (exporting && !exports.tryEnter(id)) {
      requests.leave(id);
      countRejection(metrics, 'key_exports');
      throw new ApiError(
        'rate_limited',
        `too many exports of this API key at once (at most ${config.MAX_CONCURRENT_EXPORTS_PER_KEY}); retry when one has finished`,
      ).retryAfter(EXPORT_RETRY_S);
    }
    // 'close' fires once the response is complete or its connection is gone
    // (an abandoned export included), never twice, so the places always come back.
    reply.raw.once('close', () => {
      requests.leave(id);
      if (exporting) exports.leave(id);
    });
  });
}
