/** Headers that carry credentials: Node keeps only the first Authorization and joins the others. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'webhook-id', 'webhook-timestamp', 'webhook-signature']);

/**
 * Returns the name of a credential header sent more than once (an ambiguity attackers use to slip a
 * second credential past one component), or undefined. Signature headers configured per caller are
 * covered by `extra`.
 */
export function rejectDuplicateCredentialHeaders(
  rawHeaders: readonly string[],
  extra: ReadonlySet<string> = new Set(),
): string | undefined {
  const seen = new Set<string>();
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const name = rawHeaders[index].toLowerCase();
    if (!CREDENTIAL_HEADERS.has(name) && !extra.has(name)) continue;
    if (seen.has(name)) return name;
    seen.add(name);
  }
  return undefined;
}
