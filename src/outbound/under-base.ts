/**
 * `path` under a service's base URL, keeping the base's own path: `https://gw.bank.example/archive` and
 * `v1/statements` give `https://gw.bank.example/archive/v1/statements` (where `new URL('/v1/statements', base)`
 * would drop `/archive` and reach another service behind the gateway).
 */
export function underBase(base: string, path: string): URL {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
  url.search = '';
  url.hash = '';
  return url;
}
