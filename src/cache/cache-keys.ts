/** A key part: what a read is filtered by besides its scope (an account type, a day). */
export type KeyPart = string | number | boolean | null;

/**
 * The data a write can change, named by kind and id (`customer` C-1001, `provider` 3f2…): every entry belongs to
 * exactly one scope, and a committed write invalidates the scopes it touched.
 */
export interface CacheScope {
  readonly kind: string;
  readonly id: string;
}

/**
 * Keys are JSON arrays, so no value a caller sends (a customer number with a separator in it) can make two
 * different reads share a key: the scope is always its own element.
 */
export function entryKey(cache: string, scopeId: string, parts: readonly KeyPart[]): string {
  return JSON.stringify([cache, scopeId, ...parts]);
}

export function scopeKey(scope: CacheScope): string {
  return JSON.stringify([scope.kind, scope.id]);
}
