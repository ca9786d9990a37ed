import { describe, expect, it } from 'vitest';
import {
  csvRecord,
  identifiersJson,
  ndjsonLine,
  rowCsv,
  sortedIdentifiers,
  toExportRow,
  tsvText,
} from './export.ts';

// TabSeparated escaping as ClickHouse writes String cells.
const tsv = (text: string) =>
  text.replace(
    /[\\\t\n\r\b\f\0']/g,
    (c) =>
      `\\${({ '\t': 't', '\n': 'n', '\r': 'r', '\b': 'b', '\f': 'f', '\0': '0' } as Record<string, string>)[c] ?? c}`,
  );

const identifiers = [
  '',
  '{}',
  '{"email":"a@example.com","phone":"+1555"}',
  '{"phone":"+1555","email":"a@example.com"}',
  '{"a":"1","a":"2"}',
  '{"1":"a","10":"b","2":"c"}',
  '{"__proto__":"x","b":"y"}',
  '{"a":"line\nbreak","b":"tab\there"}',
  '{"a":"quote \\" inside","b":"back\\\\slash"}',
  '{"a":"\\u00e9t\\u00e9","b":"\u2028"}',
  '{"a":1,"b":"2"}',
  '{ "a": "spaced" }',
  '{"a":"x"',
  '[]',
  'null',
  '{"é":"x","z":"y"}',
  '{"":"empty key"}',
  '{"o\'neil":"it\'s"}',
  '{"a":"\u0001"}',
  '{"a":"x"},"b":"y"}',
  '{"a":"x","b":"y"} ',
  '{"b":"x","a":"y"}',
];

/** ndjsonLine and csvRecord write the line's row object out, as JSON and as CSV. */
function expectSameAsRow(line: string): void {
  const row = toExportRow(line);
  expect(ndjsonLine(line)).toBe(`${JSON.stringify(row)}\n`);
  expect(csvRecord(line)).toBe(rowCsv(row));
}

describe('export lines', () => {
  it('identifiersJson equals JSON.stringify of the sorted object', () => {
    for (const text of identifiers) {
      expect(identifiersJson(tsv(text)), text).toBe(JSON.stringify(sortedIdentifiers(text)));
    }
  });

  it('ndjsonLine and csvRecord equal the row object written out, for tricky cells', () => {
    const strings = [
      'u1',
      'tab\tin',
      'quote"',
      'back\\slash',
      '\\N',
      'nul\0',
      'emoji 🎉',
      '\u2028',
      "o'neil",
      '',
      '=1+1',
      '-2',
      'a,b',
      'cr\r',
    ];
    for (const user of strings) {
      for (const nullable of [null, ...strings]) {
        for (const ids of identifiers) {
          const cell = (v: string | null) => (v === null ? '\\N' : tsv(v));
          const line = [
            '2026-11-01T00:00:00.123Z',
            tsv(user),
            '3',
            '1',
            cell(nullable),
            cell(nullable),
            tsv(ids),
          ].join('\t');
          expectSameAsRow(line);
        }
      }
    }
  });

  it('a line without its seven cells takes the general path', () => {
    for (const line of ['2026-11-01T00:00:00.000Z\tu1\t1', '', 'x']) expectSameAsRow(line);
  });

  it('tsvText unescapes', () => {
    expect(tsvText(tsv("a\tb\\c\n'd"))).toBe("a\tb\\c\n'd");
  });
});
