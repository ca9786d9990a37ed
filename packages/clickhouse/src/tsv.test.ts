import { describe, expect, it } from 'vitest';
import { TABLES } from './catalogue.ts';
import { escapeTsv, TsvRows, tsvField } from './tsv.ts';

describe('TSV fields', () => {
  it('escapes backslash, tab, newline, carriage return and NUL, and nothing else', () => {
    expect(escapeTsv('a\tb\nc\\d\re\0f')).toBe('a\\tb\\nc\\\\d\\re\\0f');
    expect(escapeTsv("plain 'quoted' é 😀")).toBe("plain 'quoted' é 😀");
  });

  it('writes NULL as \\N, arrays in brackets, integers as digits', () => {
    expect(tsvField('Nullable(String)', null, 'x')).toBe('\\N');
    expect(tsvField('Array(UInt32)', [1, 2, 30], 'x')).toBe('[1,2,30]');
    expect(tsvField('Int64', -5, 'x')).toBe('-5');
  });

  it('quotes the strings of an array, escaping the quote and control characters', () => {
    expect(tsvField('Array(String)', ['a', "it's", 'tab\there', 'back\\slash', 'nl\n\0'], 'x')).toBe(
      "['a','it\\'s','tab\\there','back\\\\slash','nl\\n\\0']",
    );
    expect(tsvField('Array(String)', [], 'x')).toBe('[]');
    expect(tsvField('Array(UInt8)', [1, 30], 'x')).toBe('[1,30]');
  });

  it('refuses what the column cannot hold, naming the column', () => {
    expect(() => tsvField('Array(UInt8)', [256], 'event_days_before')).toThrow(/event_days_before/);
    expect(() => tsvField('Array(String)', [null], 'event_names')).toThrow(/event_names/);
    expect(() => tsvField('UInt32', -1, 'opens')).toThrow(/opens/);
    expect(() => tsvField('UInt64', 1.5, 'version')).toThrow(/version/);
    expect(() => tsvField('String', null, 'app_id')).toThrow(/app_id/);
  });

  it('builds one line per row in the catalogue column order', () => {
    const rows = new TsvRows(TABLES.campaign_reach);
    rows.add({ app_id: 'a', campaign_id: 'c\t1', sent_at: 1_700_000_000, user_id: 'u' });
    expect(rows.length).toBe(1);
    expect(Buffer.concat(rows.body()).toString()).toBe('a\tc\\t1\t1700000000\tu\n');
  });

  it('gives the same body when asked again (an insert retried), and keeps rows added after it', () => {
    const rows = new TsvRows(TABLES.campaign_reach);
    rows.add({ app_id: 'a', campaign_id: 'c', sent_at: 1, user_id: 'u' });
    const first = Buffer.concat(rows.body()).toString();
    expect(Buffer.concat(rows.body()).toString()).toBe(first);
    rows.add({ app_id: 'a', campaign_id: 'c', sent_at: 2, user_id: 'u' });
    expect(Buffer.concat(rows.body()).toString()).toBe(`${first}a\tc\t2\tu\n`);
  });

  it('spreads many rows over several buffers without losing or splitting one', () => {
    const rows = new TsvRows(TABLES.campaign_reach);
    const name = 'é'.repeat(500); // 2 bytes per character in UTF-8
    for (let i = 0; i < 5000; i++)
      rows.add({ app_id: 'a', campaign_id: `${name}${i}`, sent_at: i, user_id: 'u' });
    const chunks = rows.body();
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(chunk.at(-1)).toBe(0x0a); // every buffer ends with a whole line
    const lines = Buffer.concat(chunks)
      .toString()
      .split('\n')
      .filter((l) => l !== '');
    expect(lines).toHaveLength(5000);
    expect(lines[4999]).toBe(`a\t${name}4999\t4999\tu`);
  });
});
