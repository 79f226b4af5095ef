import { secureEnough } from '../../common/net/secure-url';

/** The part of `fetch` these clients use; pass a wrapper to add headers, a CA-aware dispatcher, etc. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** Accepts only absolute http(s) URLs; throws a readable Error naming `what` otherwise. */
export function parseHttpUrl(value: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${what} must be an absolute URL, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`${what} must be an http(s) URL, got ${JSON.stringify(value)}`);
  }
  // Keys, discovery documents and introspection answers decide who is authenticated; the requests carry secrets.
  if (!secureEnough(url)) {
    throw new Error(`${what} must be https (http only to a loopback address), got ${JSON.stringify(value)}`);
  }
  return url;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `message: cause message: …`; duck-typed because errors from `fetch` may come from another realm (jest). */
export function describeError(error: unknown, depth = 0): string {
  if (!isRecord(error) || typeof error.message !== 'string') return String(error);
  const cause = depth < 3 && error.cause !== undefined ? `: ${describeError(error.cause, depth + 1)}` : '';
  return `${error.message}${cause}`;
}

/** Whether `error` is an Error named `name`, from any realm. */
export function isErrorNamed(error: unknown, name: string): boolean {
  return isRecord(error) && error.name === name;
}
