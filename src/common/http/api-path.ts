import type { Request } from 'express';

const API_PREFIX = '/v1/';

/**
 * Whether a request is for the versioned API (turns, polls, admin calls) rather than a probe, in any spelling
 * express would route there: routing ignores case (`/V1/…`), so does this. The raw URL answers for nearly every
 * request; express's parsed path for the rest (an absolute form, or a backslash its parser turns into a slash).
 */
export function isApiRequest(request: Pick<Request, 'url' | 'path'>): boolean {
  return hasApiPrefix(request.url) || hasApiPrefix(request.path);
}

function hasApiPrefix(path: string): boolean {
  return path.length >= API_PREFIX.length && path.slice(0, API_PREFIX.length).toLowerCase() === API_PREFIX;
}
