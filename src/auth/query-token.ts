/** Every value of the query parameter `name` in a request URL (`/path?a=1&token=x` → `['x']`). */
export function queryValues(url: string | undefined, name: string): string[] {
  const question = url?.indexOf('?') ?? -1;
  if (url === undefined || question === -1) return [];
  return new URLSearchParams(url.slice(question + 1)).getAll(name);
}
