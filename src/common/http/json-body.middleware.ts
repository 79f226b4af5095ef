import { json } from 'body-parser';
import type { NextFunction, RequestHandler, Response } from 'express';
import { AppError } from '../errors/app-error';
import type { RequestContext } from './request-context';

const JSON_MEDIA_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i;
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

function hasBody(req: RequestContext): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

interface BodyParserError {
  type?: string;
  status?: number;
}

function translate(error: unknown, limitBytes: number): AppError {
  const { type, status } = (error ?? {}) as BodyParserError;
  switch (type) {
    case 'entity.parse.failed':
      return new AppError('MALFORMED_JSON', 'The request body is not valid JSON.');
    case 'entity.too.large':
      return new AppError('PAYLOAD_TOO_LARGE', `The request body is larger than ${limitBytes} bytes.`);
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', 'The request body uses an unsupported charset or encoding.');
    default:
      return status && status < 500
        ? new AppError('MALFORMED_JSON', 'The request body could not be read.')
        : new AppError('INTERNAL', 'The request body could not be read.');
  }
}

/**
 * Accepts JSON bodies only (415 otherwise), parses them with a size limit (413), keeps the raw bytes for
 * signature checks, and turns parser failures into our own errors so no parser message reaches a caller.
 */
export function jsonBodyMiddleware(limitBytes: number): RequestHandler {
  const parse = json({
    limit: limitBytes,
    strict: true,
    type: (req) => JSON_MEDIA_TYPE.test(String(req.headers['content-type'] ?? '')),
    verify: (req, _res, buffer) => {
      (req as RequestContext).rawBody = buffer;
    },
  });
  return (req, res: Response, next: NextFunction) => {
    const request = req as RequestContext;
    if (BODY_METHODS.has(request.method) && hasBody(request)) {
      const contentType = request.headers['content-type'];
      if (!contentType || !JSON_MEDIA_TYPE.test(contentType)) {
        next(new AppError('UNSUPPORTED_MEDIA_TYPE', 'The request body must be JSON (Content-Type: application/json).'));
        return;
      }
    }
    parse(request, res, (error?: unknown) => next(error ? translate(error, limitBytes) : undefined));
  };
}
