import { createHmac, randomBytes } from 'node:crypto';

/** Without ADMIN_SESSION_SECRET (development): one key for the process, so digests still compare within it. */
const PROCESS_KEY = randomBytes(32);

/**
 * A callback URL as the audit trail and viewers see it: its origin, and for the rest (a path or query that may hold
 * the receiver's secret, as Slack-style hooks do) a short digest that still tells two URLs apart. The digest is an
 * HMAC under a server-side key (`ConsoleOptions.urlDigestKey`): a plain hash of a short secret, such as a PIN, is
 * undone by trying every value.
 */
export function maskedUrl(url: string, key: Buffer = PROCESS_KEY): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'an unreadable URL';
  }
  const rest = `${parsed.pathname}${parsed.search}`;
  if (rest === '/' || rest === '') return parsed.origin;
  return `${parsed.origin}/… (hmac:${createHmac('sha256', key).update(rest).digest('hex').slice(0, 12)})`;
}
