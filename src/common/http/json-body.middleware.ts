import type { NextFunction, RequestHandler, Response } from 'express';
import { gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import { AppError } from '../errors/app-error';
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
  const contentType = req.headers['content-type'];
  if (!contentType || !JSON_MEDIA_TYPE.test(contentType)) {
    return new AppError('UNSUPPORTED_MEDIA_TYPE', 'The request body must be JSON (Content-Type: application/json).');
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

/** Deepest nesting of objects and arrays, counted outside strings, stopping once past `limit`. */
export function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === 0x5c)
        index++; // backslash: skip the escaped character
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) {
      inString = true;
    } else if (code === 0x7b || code === 0x5b) {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if (code === 0x7d || code === 0x5d) {
      depth--;
    }
  }
  return deepest;
}

/**
 * Parses JSON body bytes the one way every transport does: objects and arrays only, at most `maxDepth` levels,
 * prototype-polluting keys dropped. Empty input is `undefined`; a problem throws (SyntaxError or a depth error).
 */
export function parseJsonBody(raw: Buffer, maxDepth: number): unknown {
  let text = raw.toString('utf8');
  if (text.charCodeAt(0) === UTF8_BOM) text = text.slice(1);
  const first = /\S/.exec(text)?.[0];
  if (first === undefined) return undefined;
  // Like a strict JSON API: only objects and arrays at the top level.
  if (first !== '{' && first !== '[') throw new SyntaxError('top-level value is not an object or array');
  if (jsonDepth(text, maxDepth) > maxDepth) throw new DepthError(maxDepth);
  // Keys that could reach an object's prototype when merged are dropped; the reviver costs time, so it only
  // runs when such a key may appear at all: spelled out, or hidden behind a \u escape ("\u0063onstructor").
  const suspicious =
    text.includes('__proto__') || text.includes('constructor') || text.includes('prototype') || text.includes('\\u');
  return suspicious
    ? JSON.parse(text, (key, value: unknown) => (POLLUTING_KEYS.has(key) ? undefined : value))
    : JSON.parse(text);
}

export class DepthError extends Error {
  constructor(readonly maxDepth: number) {
    super(`nested deeper than ${maxDepth}`);
  }
}

/**
 * Reads JSON request bodies: JSON content types only (415 otherwise, also for other charsets and encodings
 * other than gzip/deflate), at most `limitBytes` (413, checked against Content-Length before reading), at most `maxDepth` levels
 * deep, parse failures as 400 without echoing the body. Keeps the raw bytes for signature checks.
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
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > limitBytes) {
        // Keep reading but stop buffering: answering before the body is read off makes the socket close with
        // unread data, and the client sees a reset instead of our 413.
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
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
        if (received > limitBytes) {
          finish(tooLarge(limitBytes));
          return;
        }
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
