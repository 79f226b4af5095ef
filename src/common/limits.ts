import { randomUUID } from 'node:crypto';

/**
 * The longest session id of any platform that is accepted (and stored with late and async results): Dialogflow
 * session names with their project path, Lex session ids, Rasa sender ids, the generic `sessionId`.
 */
export const SESSION_ID_MAX_LENGTH = 512;

/** The longest callback URL a caller may have: the column its deliveries and disabled URLs are kept in. */
export const CALLBACK_URL_MAX_LENGTH = 2048;

/** A request id a caller may give (`X-Request-Id`, `x-request-id` metadata): safe to echo and to log. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's request id when it is one value and safe to echo, else a new UUID; the rule of every transport. */
export function acceptedRequestId(offered: unknown): string {
  return typeof offered === 'string' && SAFE_REQUEST_ID.test(offered) ? offered : randomUUID();
}
