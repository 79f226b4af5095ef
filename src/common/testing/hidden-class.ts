import { setFlagsFromString } from 'node:v8';

/**
 * V8's own answer to whether two objects have the same hidden class (`%HaveSameMap`), for tests of code whose
 * objects must share one for V8's inline caches to hold.
 */
export function sameHiddenClass(): (a: object, b: object) => boolean {
  setFlagsFromString('--allow-natives-syntax');
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- natives syntax parses only in code made after the flag
  return new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;
}
