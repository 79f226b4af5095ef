import type { NextFunction, Request, Response } from 'express';

/** Everything the console loads comes from the admin listener itself: no inline script, no CDN, no frames. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The console's response headers: a strict CSP, no sniffing, no referrer, no framing, and no caching of anything
 * but the page files (their handler sets their own Cache-Control). Routing is case-insensitive, so a rule keyed on
 * the path (`/api/`) would let `/API/turns/1` carry captured bodies into a cache.
 */
export function consoleSecurityHeaders(_request: Request, response: Response, next: NextFunction): void {
  response.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  response.setHeader('X-Content-Type-Options', 'nosniff');
  response.setHeader('Referrer-Policy', 'no-referrer');
  response.setHeader('X-Frame-Options', 'DENY');
  response.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  response.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  response.setHeader('Cache-Control', 'no-store');
  next();
}
