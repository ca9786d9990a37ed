import { describe, expect, it } from 'vitest';
import { csvCell, csvLine } from './csv.ts';

// A minimal RFC 4180 reader, to check that what we write reads back.
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  return rows;
}

describe('csvCell', () => {
  it('leaves plain text alone and writes null as empty', () => {
    expect(csvCell('abc')).toBe('abc');
    expect(csvCell(null)).toBe('');
    expect(csvCell('')).toBe('');
    expect(csvCell(42)).toBe('42');
    expect(csvCell(true)).toBe('true');
  });

  it('quotes commas, quotes and line breaks', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('line1\nline2')).toBe('"line1\nline2"');
    expect(csvCell('cr\rlf')).toBe('"cr\rlf"');
  });

  it('neutralises formula cells', () => {
    expect(csvCell('=1+1')).toBe("'=1+1");
    expect(csvCell('+33 6 12')).toBe("'+33 6 12");
    expect(csvCell('-2')).toBe("'-2");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\tx')).toBe("'\tx");
    expect(csvCell('\rx')).toBe('"\'\rx"');
    expect(csvCell('=HYPERLINK("http://x","y")')).toBe('"\'=HYPERLINK(""http://x"",""y"")"');
    expect(csvCell('a=b')).toBe('a=b');
    // Numbers are data, not text typed by a user: never prefixed.
    expect(csvCell(-2)).toBe('-2');
  });

  it('keeps unicode as is', () => {
    expect(csvCell('Zoë 🙂 日本')).toBe('Zoë 🙂 日本');
    expect(csvCell('emoji, "quoted" 👍')).toBe('"emoji, ""quoted"" 👍"');
  });
});

describe('csvLine', () => {
  it('ends records with CRLF and round-trips through an RFC 4180 reader', () => {
    const cells = ['u1', 'a,b', 'say "hi"', 'x\r\ny', null, 'ünï', '{"email":"a@b.c"}'];
    const line = csvLine(cells);
    expect(line.endsWith('\r\n')).toBe(true);
    expect(parseCsv(line + csvLine(['second']))).toEqual([
      ['u1', 'a,b', 'say "hi"', 'x\r\ny', '', 'ünï', '{"email":"a@b.c"}'],
      ['second'],
    ]);
  });
});
