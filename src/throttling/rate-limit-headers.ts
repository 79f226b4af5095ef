/** One budget's state after a call, as the RateLimit header fields carry it. */
export interface RateLimitState {
  /** The policy name: `default` for a caller's one budget, the route for a route's own budget. */
  readonly policy: string;
  /** Quota units (requests) per window. */
  readonly limit: number;
  readonly windowSeconds: number;
  /** Absent when the counter store could not be reached (the call was let through uncounted). */
  readonly remaining?: number;
  /** Seconds until the quota is restored. */
  readonly resetSeconds?: number;
}

/** A Structured Field String (RFC 9651 §3.3.3): quoted, with `"` and `\` escaped. */
function sfString(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * `RateLimit-Policy` and `RateLimit` as draft-ietf-httpapi-ratelimit-headers (-08 onwards) defines them: Lists of
 * Items named by the policy, `q` (quota) and `w` (window, seconds) on the policy, `r` (remaining quota) and `t`
 * (seconds until reset) on the current state, e.g. `"default";q=600;w=60` and `"default";r=42;t=17`.
 */
export function rateLimitHeaders(state: RateLimitState): Record<string, string> {
  const name = sfString(state.policy);
  const headers: Record<string, string> = {
    'RateLimit-Policy': `${name};q=${state.limit};w=${state.windowSeconds}`,
  };
  if (state.remaining !== undefined && state.resetSeconds !== undefined) {
    headers.RateLimit = `${name};r=${state.remaining};t=${state.resetSeconds}`;
  }
  return headers;
}
