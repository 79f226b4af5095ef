// Hash routes (#/turns?intent=X, #/turns/42, …): the pages are one index.html, so the server needs no route of
// its own for them, and a page's filters live in its address, ready to bookmark or share.
import { useEffect, useState } from 'preact/hooks';

export type PageName = 'turns' | 'turn' | 'inspector' | 'deliveries' | 'audit' | 'intents' | 'health' | 'not-found';

export interface Route {
  readonly page: PageName;
  /** The turn of `turn`. */
  readonly id?: string;
  readonly params: URLSearchParams;
  /** The path part (`/turns/42`): a new page when it changes, the same page with other filters when only params do. */
  readonly path: string;
}

const PAGES: Readonly<Record<string, PageName>> = {
  '': 'turns',
  turns: 'turns',
  inspector: 'inspector',
  deliveries: 'deliveries',
  audit: 'audit',
  intents: 'intents',
  health: 'health',
};

export function parseHash(hash: string): Route {
  const text = hash.replace(/^#/, '');
  const mark = text.indexOf('?');
  const path = mark >= 0 ? text.slice(0, mark) : text;
  const params = new URLSearchParams(mark >= 0 ? text.slice(mark + 1) : '');
  const given = path.split('/').filter(Boolean);
  const parts = given.map(decoded).filter((part): part is string => part !== undefined);
  // A part that is no percent-encoding (`#/turns/%E0%A4`, from a link cut short): no page, not a blank console.
  if (parts.length !== given.length) return { page: 'not-found', params, path };
  if (parts.length === 2 && parts[0] === 'turns') return { page: 'turn', id: parts[1], params, path };
  const page = parts.length <= 1 ? PAGES[parts[0] ?? ''] : undefined;
  return { page: page ?? 'not-found', params, path: path || '/' };
}

function decoded(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

/** A link to a page, with its non-empty params. */
export function href(path: string, params: Record<string, string | undefined> = {}): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value) search.set(name, value);
  const text = search.toString();
  return `#${path}${text ? `?${text}` : ''}`;
}

export function navigate(to: string): void {
  if (window.location.hash !== to) window.location.hash = to;
}

/** Only `#/…` is a route: any other fragment (the skip link's, say) leaves the page as it is. */
function isRoute(hash: string): boolean {
  return hash === '' || hash === '#' || hash.startsWith('#/');
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(isRoute(window.location.hash) ? window.location.hash : ''));
  useEffect(() => {
    const changed = () => {
      if (isRoute(window.location.hash)) setRoute(parseHash(window.location.hash));
    };
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return route;
}
