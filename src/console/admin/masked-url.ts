import { createHash } from 'node:crypto';

/**
 * A callback URL as the audit trail and viewers see it: its origin, and for the rest (a path or query that may hold
 * the receiver's secret, as Slack-style hooks do) a short digest that still tells two URLs apart.
 */
export function maskedUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'an unreadable URL';
  }
  const rest = `${parsed.pathname}${parsed.search}`;
  if (rest === '/' || rest === '') return parsed.origin;
  return `${parsed.origin}/… (sha256:${createHash('sha256').update(rest).digest('hex').slice(0, 12)})`;
}
