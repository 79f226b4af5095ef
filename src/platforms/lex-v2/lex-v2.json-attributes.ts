import { parseJsonBody } from '../../common/http/json-body.middleware';
import { boundedObjectProblem } from '../../common/validation/bounded-object';

/**
 * Lex keeps session and context attributes as strings only, so a handler's number, boolean, object or list goes to
 * Lex as JSON. This session attribute lists the attributes the adapter wrote so, and only those are decoded on the
 * next turn: an attribute the bot, its client or a Lex dialog step set stays the string it is, even one that reads
 * as a number or as JSON. Named like Lex's own reserved attributes (`x-amz-lex:…`), under this service's name.
 * Its value: `{"session":["visits"],"contexts":{"account_info":["balance"]}}`, either part left out when empty.
 */
export const JSON_ATTRIBUTES = 'x-webhook-fulfillment:json';

/**
 * The listing's length at most, in characters: a third of the 12 KB Lex keeps for all attributes, far above what
 * a handler's own keys need. A longer listing is not written (its values come back as strings) and, when read,
 * is treated as absent.
 */
export const JSON_ATTRIBUTES_MAX_CHARS = 4096;

/** A decoded value's nesting at most: deeper than any value a handler keeps for a session. */
const JSON_VALUE_MAX_DEPTH = 32;

/** The attributes written as JSON: session attributes, and the attributes of each active context by its name. */
export interface JsonAttributeKeys {
  readonly session: ReadonlySet<string>;
  readonly contexts: ReadonlyMap<string, ReadonlySet<string>>;
}

const NONE: JsonAttributeKeys = { session: new Set(), contexts: new Map() };

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The listing in the session attributes. Absent, too long, not JSON or not of the documented form (set by hand,
 * or by a client): nothing was written as JSON, and every attribute reaches the handler as the string it is.
 */
export function readJsonAttributeKeys(sessionAttributes: Readonly<Record<string, string>> = {}): JsonAttributeKeys {
  const text = Object.hasOwn(sessionAttributes, JSON_ATTRIBUTES) ? sessionAttributes[JSON_ATTRIBUTES] : undefined;
  if (text === undefined || text.length > JSON_ATTRIBUTES_MAX_CHARS) return NONE;
  let listing: unknown;
  try {
    listing = JSON.parse(text);
  } catch {
    return NONE;
  }
  if (!isPlainObject(listing)) return NONE;
  const { session = [], contexts = {} } = listing;
  if (!isStringList(session) || !isPlainObject(contexts)) return NONE;
  const byContext = new Map<string, ReadonlySet<string>>();
  for (const [name, keys] of Object.entries(contexts)) {
    if (!isStringList(keys)) return NONE;
    byContext.set(name, new Set(keys));
  }
  return { session: new Set(session), contexts: byContext };
}

/** The listing to store, or undefined when nothing was written as JSON or it would be over its bound. */
export function jsonAttributesValue(keys: JsonAttributeKeys): string | undefined {
  const contexts = [...keys.contexts].filter(([, names]) => names.size > 0);
  if (keys.session.size === 0 && contexts.length === 0) return undefined;
  const text = JSON.stringify({
    ...(keys.session.size > 0 && { session: [...keys.session] }),
    ...(contexts.length > 0 && { contexts: Object.fromEntries(contexts.map(([name, names]) => [name, [...names]])) }),
  });
  return text.length <= JSON_ATTRIBUTES_MAX_CHARS ? text : undefined;
}

/** A value as Lex takes an attribute: a string as it is, anything else as JSON (`json` says which). */
export function encodeAttribute(value: unknown): { text: string; json: boolean } {
  if (typeof value === 'string') return { text: value, json: false };
  const json = JSON.stringify(value);
  return json === undefined ? { text: String(value), json: false } : { text: json, json: true };
}

/**
 * An attribute the adapter wrote as JSON, decoded as the request body would be (depth, no prototype keys, no NUL,
 * well-formed text) and within the bounds of a parameter map; undefined when it does not decode so (a client
 * changed it), and the string is kept. So is text other than the very text encodeAttribute writes for the value it
 * decodes to: the bot or a client set the listed attribute since, and decoding it could change it (the number
 * "12345678901234567890" would lose digits, "1.0" would become 1).
 */
function decodedValue(key: string, text: string): { value: unknown } | undefined {
  try {
    // Wrapped in a list: the body reader takes only objects and lists, and a number or boolean is written bare.
    const wrapped = parseJsonBody(Buffer.from(`[${text}]`, 'utf8'), JSON_VALUE_MAX_DEPTH + 1);
    if (!Array.isArray(wrapped) || wrapped.length !== 1) return undefined;
    const value: unknown = wrapped[0];
    if (JSON.stringify(value) !== text) return undefined;
    return boundedObjectProblem({ [key]: value }) === undefined ? { value } : undefined;
  } catch {
    return undefined;
  }
}

/** Attributes for a handler: those named in `json` decoded, the others the strings Lex sent. */
export function decodeAttributes(
  attributes: Readonly<Record<string, string>> = {},
  json: ReadonlySet<string> = new Set(),
): Record<string, unknown> {
  const decoded: Record<string, unknown> = { ...attributes };
  for (const key of json) {
    if (!Object.hasOwn(attributes, key)) continue;
    const parsed = decodedValue(key, attributes[key]);
    if (parsed) decoded[key] = parsed.value;
  }
  return decoded;
}

/** The keys of `json` the attributes still hold (an attribute Lex no longer has is no longer JSON of ours). */
export function heldKeys(
  json: ReadonlySet<string> = new Set(),
  attributes: Readonly<Record<string, string>> = {},
): Set<string> {
  return new Set([...json].filter((key) => Object.hasOwn(attributes, key)));
}
