// The console's one way to the admin API: JSON in and out, the session's CSRF token on every action, and the
// API's error body ({statusCode, error, message, details?, requestId?}) turned into an ApiError the pages show.

export interface ErrorDetail {
  readonly field: string;
  readonly problem: string;
}

export interface ErrorBody {
  readonly statusCode: number;
  readonly error: string;
  readonly message: string;
  readonly details?: readonly ErrorDetail[];
  readonly requestId?: string;
}

export class ApiError extends Error {
  constructor(readonly body: ErrorBody) {
    super(body.message);
    this.name = 'ApiError';
  }

  get status(): number {
    return this.body.statusCode;
  }
}

/** What a page can show of anything thrown at it. */
export function errorBody(error: unknown): ErrorBody {
  if (error instanceof ApiError) return error.body;
  return { statusCode: 0, error: 'CLIENT', message: error instanceof Error ? error.message : String(error) };
}

let csrf: { header: string; token: string } | undefined;

/** The session's token, sent with every request that changes something. */
export function setCsrfToken(header: string, token: string): void {
  csrf = { header, token };
}

const SIGN_IN_MARK = 'console:sign-in-started';
/** Within this long of a sign-in, another 401 means the session did not stick: no second trip (no loop). */
const SIGN_IN_GRACE_MS = 30_000;

/**
 * Sends the browser to the identity provider (the admin listener's /login); false when it was sent there
 * moments ago and came back without a session, so the page should say so instead of going round again.
 */
export function signIn(): boolean {
  const started = Number(sessionStorage.getItem(SIGN_IN_MARK) ?? 0);
  if (Date.now() - started < SIGN_IN_GRACE_MS) return false;
  sessionStorage.setItem(SIGN_IN_MARK, String(Date.now()));
  window.location.assign('/login');
  return true;
}

export function signedIn(): void {
  sessionStorage.removeItem(SIGN_IN_MARK);
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrf) headers[csrf.header] = csrf.token;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError({ statusCode: 0, error: 'NETWORK', message: 'The console API did not answer.' });
  }
  if (response.status === 401 && path !== '/api/session') signIn();
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const error = parsed as Partial<ErrorBody> | undefined;
    throw new ApiError({
      statusCode: response.status,
      error: typeof error?.error === 'string' ? error.error : 'HTTP_ERROR',
      message:
        typeof error?.message === 'string'
          ? error.message
          : `The console API answered ${response.status} ${response.statusText}.`.replace(' .', '.'),
      details: Array.isArray(error?.details) ? error.details : undefined,
      requestId: typeof error?.requestId === 'string' ? error.requestId : undefined,
    });
  }
  return parsed as T;
}

export const api = {
  get: <T>(path: string): Promise<T> => call<T>('GET', path),
  post: <T>(path: string, body: unknown = {}): Promise<T> => call<T>('POST', path, body),
  delete: <T>(path: string): Promise<T> => call<T>('DELETE', path),
};

/** A query string of the non-empty values, with its `?` (or nothing). */
export function query(values: Record<string, string | number | undefined | null>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined && value !== null && value !== '') params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}
