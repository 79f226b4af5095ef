/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. A value a spreadsheet would run as
 * a formula (starting with =, +, -, @, a tab or a carriage return) gets a leading apostrophe: audit rows carry
 * text from clients.
 */
export function csvField(value: string | number | boolean | Date | null | undefined): string {
  if (value === null || value === undefined) return '';
  let text = value instanceof Date ? value.toISOString() : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(values: readonly Parameters<typeof csvField>[0][]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}
