/** `it's` → `'it'\''s'`: one shell word, whatever the text holds. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * A captured request as a curl command line that sends it again. With `baseUrl` (development: the local
 * instance and its local token) it runs as printed; without, it leaves `$WEBHOOK_URL` and `$TOKEN` for the shell,
 * so that no address or credential of a production service is written into it.
 */
export function curlCommand(path: string, body: unknown, local?: { baseUrl: string; token: string }): string {
  const url = local ? shellQuote(`${local.baseUrl}${path}`) : `"$WEBHOOK_URL"${shellQuote(path)}`;
  const authorization = local ? shellQuote(`Authorization: Bearer ${local.token}`) : `"Authorization: Bearer $TOKEN"`;
  return [
    `curl -sS -X POST ${url}`,
    `  -H ${authorization}`,
    `  -H 'Content-Type: application/json'`,
    `  --data-raw ${shellQuote(JSON.stringify(body))}`,
  ].join(' \\\n');
}
