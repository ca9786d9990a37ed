import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from './errors.ts';
import { KeyInFlight, QueryGate } from './limits.ts';
import { createQueryMetrics } from './metrics.ts';

afterEach(() => {
  vi.useRealTimers();
});

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(error)}`);
  return error;
}

describe('QueryGate', () => {
  it('runs up to the cap, then queues first come first served, handing each freed slot on', async () => {
    const gate = new QueryGate({ maxRunning: 2, maxQueued: 5, queueTimeoutMs: 60_000 });
    const a = await gate.acquire();
    const b = await gate.acquire();
    const order: string[] = [];
    const granted = (name: string) => (release: () => void) => {
      order.push(name);
      return release;
    };
    const c = gate.acquire().then(granted('c'));
    const d = gate.acquire().then(granted('d'));
    expect([gate.runningNow, gate.queuedNow]).toEqual([2, 2]);
    a();
    a(); // a second release of the same slot changes nothing
    const releaseC = await c;
    expect([gate.runningNow, gate.queuedNow]).toEqual([2, 1]);
    b();
    const releaseD = await d;
    expect(order).toEqual(['c', 'd']);
    releaseC();
    releaseD();
    expect([gate.runningNow, gate.queuedNow]).toEqual([0, 0]);
  });

  it('refuses at once with 503 when the queue is full, and counts it', async () => {
    const metrics = createQueryMetrics();
    const gate = new QueryGate({ maxRunning: 1, maxQueued: 0, queueTimeoutMs: 60_000 }, metrics);
    const release = await gate.acquire();
    const error = await rejection(gate.acquire());
    expect([error.status, error.code, error.retryAfterSeconds]).toEqual([503, 'unavailable', 60]);
    expect(await metrics.rejections.get()).toMatchObject({
      values: expect.arrayContaining([
        expect.objectContaining({ labels: { reason: 'clickhouse_queue_full' }, value: 1 }),
      ]),
    });
    release();
    expect(gate.runningNow).toBe(0);
  });

  it('gives up a wait after queueTimeoutMs with 503 and leaves the queue', async () => {
    vi.useFakeTimers();
    const gate = new QueryGate({ maxRunning: 1, maxQueued: 1, queueTimeoutMs: 2_500 });
    const release = await gate.acquire();
    const waiting = rejection(gate.acquire());
    expect(gate.queuedNow).toBe(1);
    await vi.advanceTimersByTimeAsync(2_500);
    const error = await waiting;
    expect([error.status, error.retryAfterSeconds]).toEqual([503, 3]);
    expect(gate.queuedNow).toBe(0);
    // The slot it did not get stays with its holder, then is free.
    release();
    expect(gate.runningNow).toBe(0);
  });
});

describe('KeyInFlight', () => {
  it('counts per key up to the maximum and forgets idle keys', () => {
    const inFlight = new KeyInFlight(2);
    expect([inFlight.tryEnter('a'), inFlight.tryEnter('a'), inFlight.tryEnter('a')]).toEqual([
      true,
      true,
      false,
    ]);
    expect(inFlight.tryEnter('b')).toBe(true);
    inFlight.leave('a');
    expect(inFlight.tryEnter('a')).toBe(true);
    inFlight.leave('a');
    inFlight.leave('a');
    expect(inFlight.inFlight('a')).toBe(0);
  });
});
