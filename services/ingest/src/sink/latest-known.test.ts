import { TABLES, TsvRows } from '@optout/clickhouse';
import { describe, expect, it } from 'vitest';
import { LatestRows, observedLater } from './latest-known.ts';

describe('observedLater', () => {
  it('orders by time, then by event id', () => {
    expect(observedLater({ observed_at_ms: 2, event_id: 'a' }, { observed_at_ms: 1, event_id: 'z' })).toBe(
      true,
    );
    expect(observedLater({ observed_at_ms: 1, event_id: 'z' }, { observed_at_ms: 2, event_id: 'a' })).toBe(
      false,
    );
    expect(observedLater({ observed_at_ms: 1, event_id: 'b' }, { observed_at_ms: 1, event_id: 'a' })).toBe(
      true,
    );
    expect(observedLater({ observed_at_ms: 1, event_id: 'a' }, { observed_at_ms: 1, event_id: 'b' })).toBe(
      false,
    );
  });

  it('compares ids as UTF-8 bytes, as ClickHouse does, not as UTF-16 units', () => {
    // U+FF61 is above the surrogates of U+1F600 in UTF-16, below its lead byte in UTF-8.
    const emoji = { observed_at_ms: 1, event_id: '\u{1F600}' };
    const halfwidth = { observed_at_ms: 1, event_id: '\uFF61' };
    expect(halfwidth.event_id > emoji.event_id).toBe(true);
    expect(observedLater(emoji, halfwidth)).toBe(true);
    expect(observedLater(halfwidth, emoji)).toBe(false);
  });

  it('lets a copy of the same event win, as a ReplacingMergeTree keeps the last copy', () => {
    expect(observedLater({ observed_at_ms: 1, event_id: 'a' }, { observed_at_ms: 1, event_id: 'a' })).toBe(
      true,
    );
  });
});

describe('LatestRows', () => {
  const row = (user_id: string, external_id: string, observed_at_ms: number, event_id: string) => ({
    app_id: 'app',
    user_id,
    external_id,
    observed_at_ms,
    event_id,
  });

  it('writes the latest row of each key, whatever order they were offered in', () => {
    const latest = new LatestRows(new TsvRows(TABLES.user_external_ids));
    latest.offer('app:u1', row('u1', 'old', 10, 'e1'));
    latest.offer('app:u2', row('u2', 'only', 5, 'e2'));
    latest.offer('app:u1', row('u1', 'new', 30, 'e3'));
    latest.offer('app:u1', row('u1', 'late', 20, 'e4'));
    const rows = latest.flush();
    expect(rows.length).toBe(2);
    expect(Buffer.concat(rows.body()).toString()).toBe('app\tu1\tnew\t30\te3\napp\tu2\tonly\t5\te2\n');
  });

  it('adds nothing on a second flush', () => {
    const latest = new LatestRows(new TsvRows(TABLES.user_external_ids));
    latest.offer('app:u1', row('u1', 'x', 10, 'e1'));
    expect(latest.flush().length).toBe(1);
    expect(latest.flush().length).toBe(1);
  });
});
