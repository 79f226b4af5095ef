import type { NextFunction, RequestHandler, Response } from 'express';
import { isUtf8 } from 'node:buffer';
import { gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import { AppError, type ErrorDetail } from '../errors/app-error';
import { inRequestContext } from './in-request-context';
import type { RequestContext } from './request-context';

const JSON_MEDIA_TYPE = /^application\/(?:[a-z0-9.+-]+\+)?json\s*(?:;|$)/i;
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)"?/i;
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
const UTF8_BOM = 0xfeff;

function hasBody(req: RequestContext): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Why a body cannot be accepted before reading it, or undefined when it may be read. */
function rejectBeforeReading(req: RequestContext, limitBytes: number): AppError | undefined {
  // Node keeps the first of repeated Content-Type lines: two say two different things about one body.
  if (countHeader(req.rawHeaders, 'content-type') > 1) {
    return new AppError('MALFORMED_REQUEST', 'The request has more than one Content-Type header.');
  }
  const contentType = req.headers['content-type'];
  if (!contentType || !JSON_MEDIA_TYPE.test(contentType)) {
    return new AppError('UNSUPPORTED_MEDIA_TYPE', 'The request body must be JSON (Content-Type: application/json).');
  }
  if ((contentType.match(/;\s*charset\s*=/gi) ?? []).length > 1) {
    return new AppError('UNSUPPORTED_MEDIA_TYPE', 'The Content-Type header names its charset more than once.');
  }
  const charset = CHARSET.exec(contentType)?.[1]?.toLowerCase();
  if (charset && charset !== 'utf-8' && charset !== 'utf8') {
    return new AppError('UNSUPPORTED_MEDIA_TYPE', 'The request body must be UTF-8 encoded.');
  }
  if (contentEncoding(req) === undefined) {
    return new AppError('UNSUPPORTED_MEDIA_TYPE', 'Only gzip and deflate request bodies are accepted compressed.');
  }
  if (Number(req.headers['content-length'] ?? 0) > limitBytes) return tooLarge(limitBytes);
  return undefined;
}

function countHeader(rawHeaders: readonly string[], name: string): number {
  let count = 0;
  for (let index = 0; index < rawHeaders.length; index += 2) if (rawHeaders[index].toLowerCase() === name) count++;
  return count;
}

type ContentEncoding = 'identity' | 'gzip' | 'deflate';

/** The body's encoding; undefined for one we do not decode (br, compress, several stacked…). */
function contentEncoding(req: RequestContext): ContentEncoding | undefined {
  const value = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (value === 'identity' || value === '') return 'identity';
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  if (value === 'deflate') return 'deflate';
  return undefined;
}

class DecompressionError extends Error {}

/**
 * Decodes a gzip or deflate body (Rasa compresses action calls with deflate), never to more than the body
 * limit, so a small compressed request cannot expand into a huge one.
 */
function decode(raw: Buffer, encoding: ContentEncoding, limitBytes: number): Buffer {
  if (encoding === 'identity') return raw;
  const options = { maxOutputLength: limitBytes };
  try {
    if (encoding === 'gzip') return gunzipSync(raw, options);
    try {
      return inflateSync(raw, options);
    } catch (error: unknown) {
      // Some clients send raw deflate without the zlib header.
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw error;
      return inflateRawSync(raw, options);
    }
  } catch (error: unknown) {
    throw (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? error : new DecompressionError();
  }
}

function tooLarge(limitBytes: number): AppError {
  return new AppError('PAYLOAD_TOO_LARGE', `The request body is larger than ${limitBytes} bytes.`);
}

const POLLUTING_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** Longest key path named in an error: keys are the caller's text, so only so much of it is echoed. */
const MAX_PATH_LENGTH = 200;

/** A body refused for what JSON.parse accepts: bytes that are not UTF-8, a repeated key, a prototype key. */
export class JsonBodyError extends Error {
  constructor(
    message: string,
    readonly details: readonly ErrorDetail[] = [],
  ) {
    super(message);
  }
}

interface JsonShape {
  /** Deepest nesting of objects and arrays (stops counting once past the limit). */
  depth: number;
  /** Object members (`"key": value`): one per colon outside strings. */
  members: number;
}

/**
 * One pass over the text, outside strings: nesting depth and the number of object members. A string is skipped by
 * searching for its closing quote (native, where a character-by-character loop spent most of its time inside the
 * strings that make up most of a Rasa tracker or a Lex event).
 */
function shapeOf(text: string, limit: number): JsonShape {
  let depth = 0;
  let deepest = 0;
  let members = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === 0x22) {
      let end = text.indexOf('"', index + 1);
      while (end !== -1 && escapedQuote(text, end)) end = text.indexOf('"', end + 1);
      // Unterminated: the rest is inside the string (JSON.parse refuses it).
      if (end === -1) break;
      index = end;
    } else if (code === 0x3a) {
      members++;
    } else if (code === 0x7b || code === 0x5b) {
      if (++depth > deepest && (deepest = depth) > limit) return { depth: deepest, members };
    } else if (code === 0x7d || code === 0x5d) {
      depth--;
    }
  }
  return { depth: deepest, members };
}

/** A quote inside a string is escaped when an odd number of backslashes comes right before it. */
function escapedQuote(text: string, quote: number): boolean {
  let at = quote - 1;
  while (text.charCodeAt(at) === 0x5c) at--;
  return (quote - 1 - at) % 2 === 1;
}

/** Deepest nesting of objects and arrays, counted outside strings, stopping once past `limit`. */
export function jsonDepth(text: string, limit: number): number {
  return shapeOf(text, limit).depth;
}

/**
 * Own keys of every object in a parsed value, or -1 as soon as one could reach a prototype. JSON.parse keeps
 * the last of repeated keys, so fewer keys here than members in the text means a key was repeated.
 */
function countKeys(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let count = 0;
  if (Array.isArray(value)) {
    for (const item of value) {
      const inner = countKeys(item);
      if (inner < 0) return -1;
      count += inner;
    }
    return count;
  }
  for (const key in value) {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') return -1;
    const inner = countKeys((value as Record<string, unknown>)[key]);
    if (inner < 0) return -1;
    count += inner + 1;
  }
  return count;
}

interface Frame {
  /** Keys seen so far, for an object; undefined for an array. */
  readonly keys?: Set<string>;
  /** The member or element being read. */
  step: string | number;
}

function pathOf(stack: readonly Frame[], key: string): string {
  const path = [...stack.slice(0, -1).map((frame) => String(frame.step)), key].join('.');
  if (path.length <= MAX_PATH_LENGTH) return path;
  // Not inside a surrogate pair: half an emoji is no text (and no transport's status message can carry it).
  const cut = /[\uD800-\uDBFF]/.test(path[MAX_PATH_LENGTH - 1]) ? MAX_PATH_LENGTH - 1 : MAX_PATH_LENGTH;
  return `${path.slice(0, cut)}…`;
}

/**
 * The first repeated or prototype key of valid JSON text with its path (`queryResult.parameters.amount`), keys
 * compared as JSON.parse reads them (`"\u0061mount"` is `amount`). Slow, so only run once a problem is known.
 */
export function firstKeyProblem(text: string): ErrorDetail | undefined {
  const stack: Frame[] = [];
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === '"') {
      let end = index + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const top = stack.at(-1);
      let next = end + 1;
      while (/\s/.test(text[next] ?? '')) next++;
      if (top?.keys && text[next] === ':') {
        const key = JSON.parse(text.slice(index, end + 1)) as string;
        if (POLLUTING_KEYS.has(key)) return { field: pathOf(stack, key), problem: 'is a key that is not allowed' };
        if (top.keys.has(key)) return { field: pathOf(stack, key), problem: 'is a duplicate key' };
        top.keys.add(key);
        top.step = key;
      }
      index = end;
    } else if (char === '{') {
      stack.push({ keys: new Set(), step: '' });
    } else if (char === '[') {
      stack.push({ step: 0 });
    } else if (char === '}' || char === ']') {
      stack.pop();
    } else if (char === ',') {
      const top = stack.at(-1);
      if (top && !top.keys) (top.step as number)++;
    }
  }
  return undefined;
}

function keyError(detail: ErrorDetail): JsonBodyError {
  const what = detail.problem === 'is a duplicate key' ? 'repeats the key' : 'has a key that is not allowed:';
  return new JsonBodyError(`The request body ${what} ${detail.field}.`, [detail]);
}

/**
 * Parses JSON body bytes the one way every transport does: UTF-8 only, objects and arrays only, at most
 * `maxDepth` levels, no key twice in one object and no `__proto__`, `constructor` or `prototype` key at any
 * depth however it is spelled. Empty input is `undefined`; a problem throws (SyntaxError, DepthError or
 * JsonBodyError).
 */
export function parseJsonBody(raw: Buffer, maxDepth: number): unknown {
  // Overlong forms, UTF-16 surrogates encoded as UTF-8 and cut sequences would become U+FFFD silently.
  if (!isUtf8(raw)) throw new JsonBodyError('The request body is not valid UTF-8.');
  let text = raw.toString('utf8');
  if (text.charCodeAt(0) === UTF8_BOM) text = text.slice(1);
  const first = /\S/.exec(text)?.[0];
  if (first === undefined) return undefined;
  // Like a strict JSON API: only objects and arrays at the top level. A bare value is valid JSON, so it is told
  // apart from text that is no JSON at all (parsed only on this refusal's path).
  if (first !== '{' && first !== '[') {
    if (!parsesAsJson(text)) throw new SyntaxError('the body is not JSON');
    throw new JsonBodyError(`The request body must be a JSON object, not a bare JSON ${bareKind(first)}.`);
  }
  const shape = shapeOf(text, maxDepth);
  if (shape.depth > maxDepth) throw new DepthError(maxDepth);
  const value: unknown = JSON.parse(text);
  // JSON.parse lets the last of repeated keys win, and unescapes keys ("\u005f_proto__" is __proto__), so the
  // parsed keys are checked: counted against the members in the text, and none reaching a prototype.
  if (countKeys(value) !== shape.members) {
    const problem = firstKeyProblem(text);
    if (problem) throw keyError(problem);
  }
  // UTF-8 cannot carry a lone surrogate, but a \uD800 escape can: such a string is no Unicode text, and
  // identifiers built from it would collide once encoded (every lone surrogate becomes U+FFFD).
  if (ESCAPED_SURROGATE.test(text) && !wellFormed(value)) {
    throw new JsonBodyError('The request body has a string with an unpaired UTF-16 surrogate (\\uD800-\\uDFFF).');
  }
  // No text PostgreSQL stores may hold U+0000: one such turn would fail every turn log batch it joined.
  const nul = text.includes('\\u0000') ? nulPath(value, '') : undefined;
  if (nul !== undefined) {
    const field = nul || '(the body)';
    throw new JsonBodyError(`The request body has a NUL character (\\u0000) in ${field}.`, [
      { field, problem: 'holds a NUL character (\\u0000)' },
    ]);
  }
  return value;
}

/** The path of the first key or string holding U+0000, or undefined when none does. */
function nulPath(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return value.includes('\0') ? path : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map((item, index) => [String(index), item])
    : Object.entries(value);
  for (const [key, child] of entries) {
    const at = path ? `${path}.${key}` : key;
    if (key.includes('\0')) return at;
    const found = nulPath(child, at);
    if (found !== undefined) return found;
  }
  return undefined;
}

const ESCAPED_SURROGATE = /\\u[dD][89a-fA-F]/;

function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** What a bare top-level JSON value is, from its first character. */
function bareKind(first: string): string {
  if (first === '"') return 'string';
  if (first === 'n') return 'null';
  if (first === 't' || first === 'f') return 'boolean';
  return 'number';
}

/** Every string and key of a parsed value is well-formed Unicode (no unpaired surrogate). */
function wellFormed(value: unknown): boolean {
  if (typeof value === 'string') return (value as string & { isWellFormed(): boolean }).isWellFormed();
  if (typeof value !== 'object' || value === null) return true;
  if (Array.isArray(value)) return value.every(wellFormed);
  return Object.entries(value).every(([key, child]) => wellFormed(key) && wellFormed(child));
}

export class DepthError extends Error {
  constructor(readonly maxDepth: number) {
    super(`nested deeper than ${maxDepth}`);
  }
}
/**
 * Reads JSON request bodies: JSON content types only (415 otherwise, also for other charsets and encodings
 * other than gzip/deflate), at most `limitBytes` (413, checked against Content-Length before reading and as a
 * chunked body arrives), at most `maxDepth` levels deep, parse failures as 400 without echoing the body. Keeps the raw bytes for signature checks.
 */
export function jsonBodyMiddleware(limitBytes: number, maxDepth = 64): RequestHandler {
  return (req, res: Response, next: NextFunction) => {
    const request = req as RequestContext;
    if (!BODY_METHODS.has(request.method) || !hasBody(request)) {
      next();
      return;
    }
    const rejection = rejectBeforeReading(request, limitBytes);
    if (rejection) {
      // The body is not read, so the connection cannot be reused.
      res.setHeader('Connection', 'close');
      next(rejection);
      return;
    }

    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const finish = (error?: AppError): void => {
      if (settled) return;
      settled = true;
      request.off('data', onData);
      next(error);
    };
    // A body without Content-Length (chunked) is refused as soon as it grows past the limit: the rest is not
    // read, and the connection is closed once the 413 is sent (an unread body cannot be skipped to the next request).
    const refuseTooLarge = inRequestContext(() => {
      chunks.length = 0;
      request.pause();
      res.setHeader('Connection', 'close');
      finish(tooLarge(limitBytes));
    });
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > limitBytes) refuseTooLarge();
      else chunks.push(chunk);
    };
    request.on('data', onData);
    request.once(
      'error',
      inRequestContext(() => finish(new AppError('MALFORMED_JSON', 'The request body could not be read.'))),
    );
    // The rest of the request continues from here, in its trace context.
    request.once(
      'end',
      inRequestContext(() => {
        if (settled) return;
        const raw = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received);
        try {
          request.body = parseJsonBody(decode(raw, contentEncoding(request) ?? 'identity', limitBytes), maxDepth);
          // Signatures are checked over the bytes as they arrived on the wire.
          request.rawBody = raw;
        } catch (error: unknown) {
          if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
            finish(tooLarge(limitBytes));
            return;
          }
          if (error instanceof JsonBodyError) {
            finish(new AppError('MALFORMED_JSON', error.message, error.details));
            return;
          }
          const message =
            error instanceof DepthError
              ? `The request body is nested deeper than ${error.maxDepth} levels.`
              : error instanceof DecompressionError
                ? 'The compressed request body could not be decoded.'
                : 'The request body is not valid JSON.';
          finish(new AppError('MALFORMED_JSON', message));
          return;
        }
        finish();
      }),
    );
  };
}
