import { describe, expect, it } from 'vitest';
import { boundedLists, groups, readHistories, type Select, type UserRead } from './read.ts';

// ClickHouse's default max_query_size: a longer query text is a syntax error
// at position 262145, retried for ever (found by the full-scale backfill bench).
const MAX_QUERY_SIZE = 256 * 1024;

function reads(count: number, idLength: number): UserRead[] {
  return Array.from({ length: count }, (_, i) => ({
    appId: 'app',
    // Quotes and control characters take escapes: the worst case for the literal's size.
    userId: `${i}'\n`.padEnd(idLength, "'"),
    from: 1_700_000_000_000 + (i % 50) * 3_600_000,
    to: 1_700_000_000_000 + (i % 50) * 3_600_000 + 30 * 86_400_000,
    erasedThrough: Number.NEGATIVE_INFINITY,
  }));
}

describe('readHistories', () => {
  it('keeps every query under max_query_size, whatever the number and length of the ids', async () => {
    const all = reads(20_000, 256);
    const sizes: number[] = [];
    const asked = new Map<string, number>();
    const select: Select = async (query, label) => {
      sizes.push(Buffer.byteLength(query.text));
      asked.set(label, (asked.get(label) ?? 0) + 1);
      return [];
    };
    const histories = await readHistories(select, all);
    expect(histories.size).toBe(all.length);
    expect(Math.max(...sizes)).toBeLessThan(MAX_QUERY_SIZE);
    // Batched, not one query per user: 20,000 ids of 256 characters (about 650 bytes escaped each).
    expect(asked.get('recompute_consent')).toBeLessThan(200);
  });

  it('cuts lists in order and loses no user', () => {
    const all = reads(5_000, 100);
    const lists = boundedLists(all);
    expect(lists.flat()).toEqual(all);
    expect(lists.length).toBeGreaterThan(1);
    const grouped = groups(all);
    expect(grouped.flat().length).toBe(all.length);
    expect(new Set(grouped.flat())).toEqual(new Set(all));
  });

  it('groups wide ranges with wide ones, so a backfill round is not a query per user', () => {
    const day = 86_400_000;
    // Half the users need a year (consent changes all over it), half a 60-day window.
    const all: UserRead[] = Array.from({ length: 20_000 }, (_, i) => {
      const from = 1_700_000_000_000 + (i % 300) * day;
      return {
        appId: 'app',
        userId: `u${i}`,
        from,
        to: from + (i % 2 === 0 ? 365 : 60) * day,
        erasedThrough: Number.NEGATIVE_INFINITY,
      };
    });
    const grouped = groups(all);
    expect(new Set(grouped.flat())).toEqual(new Set(all));
    expect(grouped.length).toBeLessThan(40);
    for (const group of grouped) {
      const span = Math.max(...group.map((r) => r.to)) - Math.min(...group.map((r) => r.from));
      const narrowest = Math.min(...group.map((r) => r.to - r.from));
      // Nobody reads more than about twice what they need, plus 120 days.
      expect(span).toBeLessThanOrEqual(2 * narrowest + 120 * day);
    }
  });

  it('sends one list when it fits', () => {
    expect(boundedLists(reads(10, 10))).toHaveLength(1);
  });
});
