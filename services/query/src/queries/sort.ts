/** Plain code-unit order (not locale collation), so sorting is deterministic like ClickHouse's. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
