/**
 * The places in a value where a spreadsheet may start a cell (its start, and after a separator or a line break: one
 * whose list separator is `;`, a tab or `|` splits there, and takes our quotes mid-line for text), when a formula
 * character (=, +, -, @, tab, CR) follows, also behind spaces or quotes.
 */
const FORMULA_STARTS = /(^|[,;\t|\r\n])(?=[\s"]*[=+\-@\t\r])/g;

/**
 * One CSV field (RFC 4180), always quoted. Each place a spreadsheet could start a formula gets an apostrophe:
 * audit rows carry text from clients (a request path such as `/x;=HYPERLINK(…)`).
 */
export function csvField(value: string | number | boolean | Date | null | undefined): string {
  if (value === null || value === undefined) return '';
  const text = value instanceof Date ? value.toISOString() : String(value);
  return `"${text.replace(FORMULA_STARTS, "$1'").replaceAll('"', '""')}"`;
}

export function csvLine(values: readonly Parameters<typeof csvField>[0][]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}
