import { replyLocale } from '../../fulfillment';

interface CurrencyFormatter {
  readonly format: Intl.NumberFormat;
  readonly fractionDigits: number;
}

const formatters = new Map<string, CurrencyFormatter>();
const MAX_CACHED = 200;

function currencyFormatter(languageCode: string, currency: string): CurrencyFormatter {
  const key = `${languageCode}|${currency}`;
  let formatter = formatters.get(key);
  if (!formatter) {
    const format = new Intl.NumberFormat(replyLocale(languageCode), { style: 'currency', currency });
    formatter = { format, fractionDigits: format.resolvedOptions().maximumFractionDigits ?? 2 };
    if (formatters.size >= MAX_CACHED) formatters.clear();
    formatters.set(key, formatter);
  }
  return formatter;
}

/** How many minor units a currency's unit has, as a power of ten: 2 for USD (cents), 0 for JPY. */
export function fractionDigitsOf(currency: string): number {
  return currencyFormatter('en', currency).fractionDigits;
}

/** Converts integer minor units to an exact decimal string, e.g. (324782n, 2) → "3247.82". */
export function minorToDecimal(minor: bigint | string, fractionDigits: number): string {
  const value = BigInt(minor);
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(fractionDigits + 1, '0');
  const whole = digits.slice(0, digits.length - fractionDigits);
  const fraction = fractionDigits > 0 ? `.${digits.slice(-fractionDigits)}` : '';
  return `${negative ? '-' : ''}${whole}${fraction}`;
}

export interface Money {
  /** Exact decimal, e.g. "3247.82". */
  readonly decimal: string;
  /** Formatted for the language, e.g. "$3,247.82" or "3.247,82 $". */
  readonly formatted: string;
}

/** Formats minor units of a currency for the reply language without ever going through a float. */
export function formatMoney(minor: bigint | string, currency: string, languageCode: string): Money {
  const formatter = currencyFormatter(languageCode, currency);
  const decimal = minorToDecimal(minor, formatter.fractionDigits);
  return { decimal, formatted: formatter.format.format(decimal as `${number}`) };
}

/**
 * Parses an amount the user gave (a number, a numeric string, or Dialogflow's `{amount, currency}`) into
 * minor units of the currency, exactly. Undefined when it is not a positive amount with at most the
 * currency's number of decimals, or text that reads two ways (a dot before three digits: a decimal point, or a
 * thousands separator).
 */
export function parseAmountMinor(value: unknown, currency: string): bigint | undefined {
  const raw = typeof value === 'object' && value !== null && 'amount' in value ? value.amount : value;
  const text =
    typeof raw === 'number' && Number.isFinite(raw) ? String(raw) : typeof raw === 'string' ? raw.trim() : '';
  const match = /^(\d{1,15})(?:\.(\d+))?$/.exec(text);
  if (!match) return undefined;
  const digits = fractionDigitsOf(currency);
  // "1.000" or "2.500" typed by a German speaker is a thousand or two and a half thousand, not 1 or 2.50: with
  // exactly three digits after the dot (more than the currency has) the text is asked for again, never guessed.
  if (typeof raw === 'string' && match[2]?.length === 3 && digits < 3) return undefined;
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (fraction.length > digits) return undefined;
  const minor = BigInt(match[1]) * 10n ** BigInt(digits) + BigInt(fraction.padEnd(digits, '0') || '0');
  return minor > 0n ? minor : undefined;
}

/**
 * The currency an amount names (Dialogflow's `@sys.unit-currency` gives `{amount, currency}`), upper-cased; undefined
 * for a plain number or text.
 */
export function amountCurrency(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || !('currency' in value)) return undefined;
  const { currency } = value;
  return typeof currency === 'string' && currency.trim() !== '' ? currency.trim().toUpperCase() : undefined;
}
