// CSV cells and lines per RFC 4180, with spreadsheet-formula neutralisation.
//
// A cell that starts with = + - @ TAB or CR may be run as a formula by Excel,
// LibreOffice or Google Sheets ("CSV injection"): it gets a leading single
// quote, which spreadsheets show as text. This also changes negative numbers
// written as text, which is why exports keep numbers as numbers (never
// neutralised) and only string cells go through `neutralise`.

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

export type CsvCell = string | number | boolean | null;

export function neutralise(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
}

/** One cell: null is empty; strings are neutralised, then quoted when they hold " , CR or LF. */
export function csvCell(value: CsvCell): string {
  if (value === null) return '';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = neutralise(value);
  // A leading quote from neutralise needs no quoting of its own (not special in RFC 4180).
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One record, CRLF-terminated as RFC 4180 says. */
export function csvLine(cells: readonly CsvCell[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}
