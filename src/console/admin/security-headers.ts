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

/** A year: browsers that once reached the console over https never try it over http again. */
export const STRICT_TRANSPORT_SECURITY = 'max-age=31536000';

/**
 * The console's response headers: a strict CSP, no sniffing, no referrer, no framing, and no caching of anything
 * but the page files (their handler sets their own Cache-Control). Routing is case-insensitive, so a rule keyed on
 * the path (`/api/`) would let `/API/turns/1` carry captured bodies into a cache. With an https public URL (TLS ends
 * at the ingress in front), HSTS too: a first visit typed as http:// could be answered by anyone on the path.
 */
export function consoleSecurityHeaders({ https }: { readonly https: boolean }) {
  return (_request: Request, response: Response, next: NextFunction): void => {
    setSecurityHeaders(response, https);
    next();
  };
}

function setSecurityHeaders(response: Response, https: boolean): void {
  if (https) response.setHeader('Strict-Transport-Security', STRICT_TRANSPORT_SECURITY);
  response.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  response.setHeader('X-Content-Type-Options', 'nosniff');
  response.setHeader('Referrer-Policy', 'no-referrer');
  response.setHeader('X-Frame-Options', 'DENY');
  response.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  response.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  response.setHeader('Cache-Control', 'no-store');
}
