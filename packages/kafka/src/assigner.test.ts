import { describe, expect, it } from 'vitest';
import { dealPartitions } from './assigner.ts';

describe('dealPartitions', () => {
  it('gives every partition to exactly one member, round robin over sorted ids', () => {
    const dealt = dealPartitions(['m-b', 'm-a', 'm-c'], 8);
    expect(dealt.get('m-a')).toEqual([0, 3, 6]);
    expect(dealt.get('m-b')).toEqual([1, 4, 7]);
    expect(dealt.get('m-c')).toEqual([2, 5]);
  });

  it('is the same whatever order the members come in', () => {
    expect(dealPartitions(['x', 'y'], 5)).toEqual(dealPartitions(['y', 'x'], 5));
  });

  it('leaves extra members idle', () => {
    expect(dealPartitions(['a', 'b', 'c'], 2).get('c')).toEqual([]);
  });
});
