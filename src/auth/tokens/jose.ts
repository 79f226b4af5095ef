/**
 * jose v6 is ESM-only while this project compiles to CommonJS. With `"module": "node20"` tsc keeps a
 * real `import()` here (instead of turning it into `require()`), so Node loads the ES module at run
 * time. Everywhere else, import jose for types only (`import type … from 'jose'`) and get values
 * through `loadJose()`.
 */
type Jose = typeof import('jose');

let pending: Promise<Jose> | undefined;

/** The jose module, imported once per process. A failed import is not memoised. */
export function loadJose(): Promise<Jose> {
  pending ??= import('jose').catch((error: unknown) => {
    pending = undefined;
    throw error;
  });
  return pending;
}
