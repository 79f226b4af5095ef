import type { Request } from 'express';

/** What this needs of an express 5 router layer (router 2.x): routes know their methods, layers match paths. */
interface RouteLayer {
  route?: { methods: Record<string, boolean | undefined> };
  match(path: string): boolean;
}

interface RouteEntry {
  readonly layer: RouteLayer;
  readonly methods: readonly string[];
}

const tables = new WeakMap<object, readonly RouteEntry[]>();

/** A route's methods as `Allow` lists them: `_all` (app.all) allows every method, GET brings HEAD. */
function methodsOf(methods: Record<string, boolean | undefined>): string[] {
  if (methods._all) return ['*'];
  const names = Object.keys(methods)
    .filter((name) => methods[name])
    .map((name) => name.toUpperCase());
  if (names.includes('GET') && !names.includes('HEAD')) names.push('HEAD');
  return names;
}

/** The routes registered on the app's router, read once (all routes exist before the first request). */
function routesOf(router: { stack?: unknown[] }): readonly RouteEntry[] {
  let table = tables.get(router);
  if (table === undefined) {
    table = (router.stack ?? [])
      .filter((layer): layer is RouteLayer & Required<Pick<RouteLayer, 'route'>> => {
        const candidate = layer as Partial<RouteLayer>;
        return typeof candidate.match === 'function' && typeof candidate.route?.methods === 'object';
      })
      .map((layer) => ({ layer, methods: methodsOf(layer.route.methods) }));
    tables.set(router, table);
  }
  return table;
}

function matches(layer: RouteLayer, path: string): boolean {
  try {
    return layer.match(path);
  } catch {
    return false; // a parameter that does not decode (`%E0%A4%A`) matches no route
  }
}

/**
 * The methods the app's routes accept for the request's path, sorted; empty when no route has that path. For a
 * 405 (path known, method not) with its `Allow` header, from the routes Nest registered rather than a list.
 */
export function allowedMethods(request: Request): string[] {
  const router = (request.app as { router?: { stack?: unknown[] } } | undefined)?.router;
  if (!router) return [];
  const allowed = new Set<string>();
  for (const { layer, methods } of routesOf(router)) {
    if (matches(layer, request.path)) for (const method of methods) allowed.add(method);
  }
  return [...allowed].sort();
}
