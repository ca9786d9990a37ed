import { describe, expect, it } from 'vitest';
import { hostileStrings, TRICKY_PIECES, utf8Hex } from './hostile-strings.ts';

describe('hostileStrings', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    expect(hostileStrings(300, 7)).toEqual(hostileStrings(300, 7));
    expect(hostileStrings(300, 7)).not.toEqual(hostileStrings(300, 8));
  });

  it('covers the dangerous characters and never contains a lone surrogate', () => {
    const all = hostileStrings(5000).join('');
    for (const needle of [
      "'",
      '\\',
      '\0',
      '\n',
      '\u001f',
      '\u007f',
      '\u2028',
      '\ufeff',
      '👨‍👩‍👧‍👦',
      '{a:String}',
    ]) {
      expect(all.includes(needle), JSON.stringify(needle)).toBe(true);
    }
    expect(/[\uD800-\uDFFF]/u.test(all)).toBe(false);
    expect(TRICKY_PIECES.length).toBeGreaterThan(60);
  });

  it('utf8Hex matches the UTF-8 encoding', () => {
    expect(utf8Hex('a\0é😀')).toBe('6100C3A9F09F9880');
  });
});
