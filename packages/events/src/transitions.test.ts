import { describe, expect, it } from 'vitest';
import { type ConsentRecord, compareByTimeThenId, transitionsOf } from './transitions.ts';

const rec = (t: number, id: string, status: ConsentRecord['status']): ConsentRecord => ({
  t,
  id,
  status,
  source: null,
});

describe('transitionsOf', () => {
  it('an OPTED_OUT after unknown is an opt-out', () => {
    expect(transitionsOf([rec(1, 'a', 'OPTED_OUT')]).map((x) => [x.id, x.kind])).toEqual([['a', 'OPT_OUT']]);
  });

  it('a repeated OPTED_OUT without an opt-in between is not a new opt-out', () => {
    const history = [
      rec(1, 'a', 'OPTED_OUT'),
      rec(2, 'b', 'OPTED_OUT'),
      rec(3, 'c', 'OPTED_IN'),
      rec(4, 'd', 'OPTED_OUT'),
    ];
    expect(transitionsOf(history).map((x) => [x.id, x.kind])).toEqual([
      ['a', 'OPT_OUT'],
      ['c', 'OPT_IN'],
      ['d', 'OPT_OUT'],
    ]);
  });

  it('the first OPTED_IN is an opt-in, a repeated one is not', () => {
    expect(transitionsOf([rec(1, 'a', 'OPTED_IN'), rec(2, 'b', 'OPTED_IN')]).map((x) => x.id)).toEqual(['a']);
  });

  it('orders ties on occurred_at by event_id', () => {
    const history = [rec(5, 'b', 'OPTED_IN'), rec(5, 'a', 'OPTED_OUT')].sort(compareByTimeThenId);
    expect(transitionsOf(history).map((x) => [x.id, x.kind])).toEqual([
      ['a', 'OPT_OUT'],
      ['b', 'OPT_IN'],
    ]);
  });
});
