import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * A value the browser keeps but cannot change: `<base64url JSON>.<base64url HMAC-SHA256>`, the MAC over the
 * purpose and the payload (a login's state cookie can never pass for a session), with an expiry inside.
 */
export function seal(purpose: string, value: object, expiresAt: number, secret: Buffer): string {
  const payload = Buffer.from(JSON.stringify({ ...value, exp: expiresAt }), 'utf8').toString('base64url');
  return `${payload}.${mac(purpose, payload, secret)}`;
}

/** The sealed value, or undefined when it was changed, sealed for another purpose or has expired. */
export function unseal<T extends object>(
  purpose: string,
  sealed: string | undefined,
  secret: Buffer,
  now = Date.now(),
): T | undefined {
  if (!sealed || sealed.length > 8192) return undefined;
  const dot = sealed.indexOf('.');
  if (dot <= 0) return undefined;
  const payload = sealed.slice(0, dot);
  const given = Buffer.from(sealed.slice(dot + 1));
  const expected = Buffer.from(mac(purpose, payload, secret));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const value = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as T & { exp?: unknown };
    return typeof value.exp === 'number' && value.exp > now ? value : undefined;
  } catch {
    return undefined;
  }
}

function mac(purpose: string, payload: string, secret: Buffer): string {
  return createHmac('sha256', secret).update(`${purpose}.${payload}`).digest('base64url');
}

/** One cookie's value from a Cookie header (the first, if it is sent more than once). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export interface CookieOptions {
  readonly maxAgeSeconds: number;
  readonly path: string;
  readonly sameSite: 'Strict' | 'Lax';
  readonly secure: boolean;
}

export function setCookie(name: string, value: string, options: CookieOptions): string {
  return [
    `${name}=${value}`,
    `Path=${options.path}`,
    `Max-Age=${options.maxAgeSeconds}`,
    'HttpOnly',
    `SameSite=${options.sameSite}`,
    ...(options.secure ? ['Secure'] : []),
  ].join('; ');
}
