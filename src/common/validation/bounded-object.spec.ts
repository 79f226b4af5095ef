import { boundedObjectProblem, MAP_MAX_ENTRIES, MAP_MAX_KEYS, MAP_MAX_LIST_ITEMS } from './bounded-object';
import { FREE_TEXT_MAX_LENGTH, NAME_MAX_LENGTH } from './bounds';

describe('boundedObjectProblem (parameter, slot and attribute maps)', () => {
  const many = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`p${i}`, i]));

  it('accepts what bots send, at every bound itself', () => {
    expect(boundedObjectProblem({ amount: 25, account: 'checking', tags: ['a', 'b'], nested: { x: null } })).toBe(
      undefined,
    );
    expect(boundedObjectProblem({})).toBeUndefined();
    expect(boundedObjectProblem(many(MAP_MAX_KEYS))).toBeUndefined();
    expect(boundedObjectProblem({ ['k'.repeat(NAME_MAX_LENGTH)]: 'v'.repeat(FREE_TEXT_MAX_LENGTH) })).toBeUndefined();
    expect(boundedObjectProblem({ list: Array(MAP_MAX_LIST_ITEMS).fill(1) })).toBeUndefined();
  });

  it.each([
    ['an array', [1], 'must be an object'],
    ['null', null, 'must be an object'],
    ['too many keys', many(MAP_MAX_KEYS + 1), `at most ${MAP_MAX_KEYS} keys`],
    ['a key too long, at any depth', { a: { ['k'.repeat(NAME_MAX_LENGTH + 1)]: 1 } }, 'no key longer'],
    ['text too long, at any depth', { a: [{ b: 'v'.repeat(FREE_TEXT_MAX_LENGTH + 1) }] }, 'no text longer'],
    ['a list too long', { a: Array(MAP_MAX_LIST_ITEMS + 1).fill(0) }, 'no list longer'],
    [
      'too many values in all',
      { a: Array.from({ length: 20 }, (): number[] => Array<number>(MAP_MAX_LIST_ITEMS).fill(0)) },
      `at most ${MAP_MAX_ENTRIES} values`,
    ],
  ])('refuses %s', (_what, value, message) => {
    expect(boundedObjectProblem(value)).toContain(message);
  });
});
