import type { Attributes } from '@opentelemetry/api';

/** What replaces a value that telemetry must not carry. */
export const REDACTED = 'REDACTED';

const MAX_PARAMETER_NAMES = 32;
const MAX_NAME_LENGTH = 64;
const MAX_VALUE_LENGTH = 128;

/** A query parameter's name as people write names; anything else may be data sent where a name goes. */
const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_.[\]-]{0,63}$/;

/**
 * `a=1&token=x` → `a=REDACTED&token=REDACTED`: the names stay (they tell what was asked), every value goes,
 * since any of them may be a signature, a token or a customer's data. A part without `=` may be a token sent on
 * its own (`?s3cr3t`), and a name that does not look like one may be data: both go too.
 */
export function redactQuery(query: string): string {
  if (query === '') return query;
  return query
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      if (equals === -1) return pair === '' ? pair : REDACTED;
      const name = pair.slice(0, equals);
      return `${PARAMETER_NAME.test(name) ? name : REDACTED}=${REDACTED}`;
    })
    .join('&');
}

/** A URL (absolute or a path) with its query values and any user:password removed. */
export function redactUrl(url: string): string {
  const question = url.indexOf('?');
  const hash = url.indexOf('#', question === -1 ? 0 : question);
  const end = hash === -1 ? url.length : hash;
  let base = question === -1 ? url.slice(0, end) : url.slice(0, question);
  // scheme://user:password@host → scheme://host
  base = base.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
  return question === -1 ? base : `${base}?${redactQuery(url.slice(question + 1, end))}`;
}

/** The path of a request URL, without its query string. */
export function pathOf(url: string | undefined): string {
  if (!url) return '';
  const question = url.indexOf('?');
  return question === -1 ? url : url.slice(0, question);
}

const SQL_STRING = /'(?:[^']|'')*'/g;
// A number standing alone: not a placeholder ($1), not part of a name (table1) or of a cast (::int4).
const SQL_NUMBER = /(?<![$\w.])\d+(?:\.\d+)?(?![\w.])/g;
const sanitizedStatements = new Map<string, string>();
const MAX_CACHED_STATEMENTS = 512;

/**
 * Query text for a span: string and number literals become `?`. Our statements pass every value as a
 * parameter, so this only matters for a literal someone writes into SQL later; parameters themselves are
 * never recorded (database/query-span.ts keeps only the text). Statements are few and
 * repeat, so the result is cached.
 */
export function sanitizeSql(text: string): string {
  const cached = sanitizedStatements.get(text);
  if (cached !== undefined) return cached;
  const sanitized = text.replace(SQL_STRING, '?').replace(SQL_NUMBER, '?');
  if (sanitizedStatements.size >= MAX_CACHED_STATEMENTS) sanitizedStatements.clear();
  sanitizedStatements.set(text, sanitized);
  return sanitized;
}

/**
 * Span attributes for a turn's parameters: their names (values may be anything a user said), plus the value
 * of each name on the allow-list as `fulfillment.parameter.<name>`.
 */
export function parameterAttributes(
  parameters: Readonly<Record<string, unknown>>,
  allowlist: readonly string[],
): Attributes {
  const names = Object.keys(parameters);
  const attributes: Attributes = {
    'fulfillment.parameter_names': names.slice(0, MAX_PARAMETER_NAMES).map((name) => clip(name, MAX_NAME_LENGTH)),
  };
  for (const name of allowlist) {
    if (!Object.hasOwn(parameters, name)) continue;
    const value = allowedValue(parameters[name]);
    if (value !== undefined) attributes[`fulfillment.parameter.${name}`] = value;
  }
  return attributes;
}

function allowedValue(value: unknown): string | number | boolean | undefined {
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'string') return clip(value, MAX_VALUE_LENGTH);
  if (value === null || value === undefined) return undefined;
  try {
    return clip(JSON.stringify(value), MAX_VALUE_LENGTH);
  } catch {
    return undefined;
  }
}

function clip(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}

/**
 * Paths pino censors in every log line. Our own log lines never carry headers or bodies; these catch
 * objects someone logs later (an error with its request, a payload) before a secret reaches the output.
 */
export const LOG_REDACT_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'req.headers["webhook-signature"]',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["webhook-signature"]',
  '*.headers.authorization',
  '*.headers.cookie',
  'authorization',
  '*.authorization',
  'password',
  '*.password',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'body',
  '*.body',
  'rawBody',
  '*.rawBody',
  'parameters',
  '*.parameters',
  'queryText',
  '*.queryText',
];

/**
 * Protocol fields whose values name what was asked or where the dialogue stands, never who asked or what they
 * said (the intent, the stage, the language, a state out of a fixed list): shown in captured bodies without being
 * listed, so that a captured request still has the shape its platform requires.
 */
const PROTOCOL_FIELDS = new Set([
  'allRequiredParamsPresent',
  'confirmation',
  'confirmationState',
  'dialogActionType',
  'displayName',
  'fulfillmentState',
  'inputMode',
  'intent',
  'intentName',
  'invocationSource',
  'languageCode',
  'localeId',
  'messageVersion',
  'next_action',
  'shape',
  'stage',
  'state',
  'tag',
]);

/**
 * Maps whose keys the bot's designer or its users chose (parameters, slots, attributes, custom payloads): below
 * them a key named `state` or `displayName` is anyone's data, so protocol fields are not shown there, only what the
 * allow-list names.
 */
const FREE_FORM_MAPS = new Set([
  'contextAttributes',
  'entities',
  'parameters',
  'payload',
  'requestAttributes',
  'resolvedSlots',
  'sessionAttributes',
  'sessionParameters',
  'slots',
  'subSlots',
]);

/** `projects/bank/agent/sessions/s-42/contexts/awaiting` → `projects/REDACTED/agent/sessions/REDACTED/contexts/awaiting`. */
const RESOURCE_NAME = /^projects(?:\/[^/\s]+)+$/;
/** The segments after these name a project, a session or an end user; the rest name parts of the agent. */
const IDENTIFYING_COLLECTIONS = new Set(['projects', 'sessions', 'users']);

function redactResourceName(name: string): string {
  const segments = name.split('/');
  for (let i = 1; i < segments.length; i++) {
    if (IDENTIFYING_COLLECTIONS.has(segments[i - 1])) segments[i] = REDACTED;
  }
  return segments.join('/');
}

/**
 * A JSON body as the console may keep it: every key stays (it tells the body's shape), and a value shows only
 * under an allow-listed name (TRACE_PARAMETER_ALLOWLIST, the rule spans follow) or a protocol field above (outside
 * the free-form maps); a
 * Dialogflow resource name keeps its shape with the project and session ids removed; every other string, number
 * or boolean becomes `REDACTED`, however deep.
 */
export function redactJson(value: unknown, allowlist: readonly string[]): unknown {
  const listed = new Set(allowlist);
  const walk = (node: unknown, shown: boolean, freeForm: boolean): unknown => {
    if (node === null || node === undefined) return null;
    if (Array.isArray(node)) return node.map((item) => walk(item, shown, freeForm));
    if (typeof node === 'object') {
      const copy: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(node)) {
        const show = listed.has(key) || (!freeForm && PROTOCOL_FIELDS.has(key));
        copy[key] = walk(child, show, freeForm || FREE_FORM_MAPS.has(key));
      }
      return copy;
    }
    if (shown) return node;
    return typeof node === 'string' && RESOURCE_NAME.test(node) ? redactResourceName(node) : REDACTED;
  };
  return walk(value, false, false);
}
