import { AppError } from '../../common/errors/app-error';
import { GENERIC_MAX_REQUEST_ID_LENGTH } from './generic.request';

const HEADER = 'Idempotency-Key';
/** A key's characters: printable ASCII, not starting or ending with a space. */
const KEY = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;
/** The legacy bare form: no quotes, backslashes, commas (a list) or spaces. */
const BARE = /^[\x21\x23-\x2b\x2d-\x5b\x5d-\x7e]+$/;

function invalid(problem: string): AppError {
  return new AppError('VALIDATION_FAILED', `Generic webhook request is invalid: ${HEADER}.`, [
    { field: HEADER, problem },
  ]);
}

function repeated(): AppError {
  return new AppError('MALFORMED_REQUEST', `The request has more than one ${HEADER} header.`, [
    { field: HEADER, problem: 'must be sent once, with one value' },
  ]);
}

/**
 * Reads an RFC 9651 sf-string (`"…"`, with `\"` and `\\` the only escapes) at the start of `value`; returns the
 * string and what follows it, or undefined when it is not one.
 */
function readSfString(value: string): { text: string; rest: string } | undefined {
  let text = '';
  for (let index = 1; index < value.length; index += 1) {
    const char = value[index];
    if (char === '\\') {
      const next = value[index + 1];
      if (next !== '"' && next !== '\\') return undefined;
      text += next;
      index += 1;
    } else if (char === '"') {
      return { text, rest: value.slice(index + 1) };
    } else if (char < ' ' || char > '~') {
      return undefined;
    } else {
      text += char;
    }
  }
  return undefined;
}

/**
 * The key of an `Idempotency-Key` header (draft-ietf-httpapi-idempotency-key-header): an RFC 9651 sf-string,
 * `"8e03978e-40d5-43e8-bc93-6894a57f9324"`, or, for clients written before, the same characters bare (no quotes,
 * spaces, commas or backslashes). The key is 1 to 255 printable ASCII characters. Absent: undefined. A header
 * sent twice (Node joins repeats with ", ") or holding a list is a malformed request; anything else unusable,
 * parameters included, fails validation. Both name the header.
 */
export function parseIdempotencyKey(header: string | readonly string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (typeof header !== 'string') {
    if (header.length > 1) throw repeated();
    return parseIdempotencyKey(header[0]);
  }
  const value = header.trim();
  let key: string;
  if (value.startsWith('"')) {
    const parsed = readSfString(value);
    if (!parsed) throw invalid('must be a quoted string (RFC 9651 sf-string) of printable ASCII characters');
    const rest = parsed.rest.trimStart();
    if (rest.startsWith(',')) throw repeated();
    if (rest !== '') throw invalid('must be one quoted string, without parameters');
    key = parsed.text;
  } else {
    if (value.includes(',')) throw repeated();
    if (!BARE.test(value)) {
      throw invalid('must be a quoted string, e.g. "8e03978e-40d5-43e8-bc93-6894a57f9324" (RFC 9651 sf-string)');
    }
    key = value;
  }
  if (key.length > GENERIC_MAX_REQUEST_ID_LENGTH || !KEY.test(key)) {
    throw invalid(
      `must hold 1 to ${GENERIC_MAX_REQUEST_ID_LENGTH} printable ASCII characters, not starting or ending with a space`,
    );
  }
  return key;
}
